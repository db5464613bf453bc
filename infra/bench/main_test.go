package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/integration-hub/hub/internal/proof/bench
BenchmarkAuthorizer/credential=hub_session/authorizer-2         	   24681	     48000 ns/op	    8072 B/op	     148 allocs/op
BenchmarkAuthorizer/credential=hub_session/bare-2               	   57960	     40000 ns/op	    3920 B/op	      65 allocs/op
BenchmarkAuthorizer/credential=API_key/authorizer-2             	  500000	      2000 ns/op	     800 B/op	       7 allocs/op
BenchmarkAuthorizer/credential=API_key/bare-2                   	 3000000	       400 ns/op	     100 B/op	       4 allocs/op
BenchmarkAuthorizer/credential=API_key/turns-2                  	   10000	    150000 ns/op	      1100 authorizer-ns/op	      1000 bare-ns/op
BenchmarkRoute/route=GET_/users/{id}/handler-2                   	      50	   1599833 ns/op	         2.000 ddb-calls	   1500000 p50-ns
BenchmarkRoute/route=GET_/users/{id}/bare-2                      	      50	   1595927 ns/op	         2.000 ddb-calls	   1000000 p50-ns
BenchmarkRoute/route=GET_/users/handler-2                        	      50	   2599833 ns/op	         2.000 ddb-calls	   1100000 p50-ns	   1000000 bare-p50-ns
BenchmarkColdStart/function=users-2              	       5	   8497032 ns/op	         0 init-ddb-requests	   7710073 ready-p50-ns
BenchmarkColdStart/function=minimal-2            	       5	   2067845 ns/op	         0 init-ddb-requests	   1564111 ready-p50-ns
BenchmarkColdStart/function=auth-2               	       5	   8497032 ns/op	         0 init-ddb-requests	   3000000 ready-p50-ns	   2000000 minimal-ready-p50-ns
BenchmarkColdStart/function=company-2            	       5	   8497032 ns/op	         0 init-ddb-requests	   3300000 ready-p50-ns	   2000000 minimal-ready-p50-ns	   3000000 client-ready-p50-ns
BenchmarkListPage/sort=email/items=100-2         	      20	   9375752 ns/op	         2.000 ddb-calls	   4000000 p50-ns
BenchmarkListPage/sort=email/items=100000-2      	      20	   4216560 ns/op	         2.000 ddb-calls	   4400000 p50-ns
BenchmarkListPage/catalog/integrations=1000/tenants=100-2         	      20	  23740294 ns/op	         3.000 ddb-calls	         3.000 ddb-queries	  22862241 p50-ns
PASS
`

// The report pairs each figure with its baseline from the same output and
// judges it against its goal.
func TestTheReportPairsFiguresWithTheirBaselines(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "calls.json"), []byte(`[{"function":"users","route":"GET /users","measured":true,"status":200,"calls":["GetItem","Query"],"authorizer_calls":1}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := Build(Parse(strings.NewReader(sample)), dir)
	tests := []struct {
		name  string
		got   Pair
		ratio float64
		met   bool
	}{
		{"authorizer", r.Authorizer[0], 1.2, true},
		{"authorizer timed in turns with its bare verification", r.Authorizer[1], 1.1, true},
		{"route", r.Routes[0], 1.5, false},
		{"route measured in turns with its bare calls", r.Routes[1], 1.1, true},
		{"cold start", r.ColdStart[0], 7710073.0 / 1564111.0, false},
		{"cold start in turns with the minimal Lambda", r.ColdStart[1], 1.5, true},
		{"cold start in turns with both baselines: the goal is against the minimal Lambda", r.ColdStart[2], 1.65, false},
		{"scale", r.Scale[0], 1.1, true},
	}
	for _, tt := range tests {
		if diff := tt.got.Ratio - tt.ratio; diff > 1e-9 || diff < -1e-9 || tt.got.Met != tt.met {
			t.Errorf("%s: ratio %v met %v, want %v %v", tt.name, tt.got.Ratio, tt.got.Met, tt.ratio, tt.met)
		}
	}
	// The catalog's goal counts its queries, not its calls.
	if len(r.Scale) != 2 || r.Scale[1].Met || r.Scale[1].Extra["ddb_calls"] != 3 || r.Scale[1].Extra["ddb_queries"] != 3 {
		t.Errorf("catalog: %+v, want 3 calls of which 3 queries, goal not met", r.Scale)
	}
	md := r.Markdown()
	for _, want := range []string{"| hub session | 48.0 |", "| GET /users/{id} | 1.50 | 1.00 | 1.50 | 2 | **no** |", "| users | GET /users | 2 | GetItem + Query | 1 | **no** |",
		"| company | 3.30 | 2.00 | 1.65 | 3.00 | 1.50 | 1.10 | 0 | **no** |", "| auth | 3.00 | 2.00 | 1.50 | – | – | – | 0 | yes |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
}
