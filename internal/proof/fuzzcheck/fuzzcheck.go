// Package fuzzcheck holds the properties the hub's fuzz targets check on
// request decoding, so that every input type is held to the same ones.
// Each package that owns an input type has a FuzzXxx target next to it
// (a *_fuzz_test.go file) that calls Decode for its types; its seed corpus
// is committed under the package's testdata/fuzz/FuzzXxx/.
package fuzzcheck

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"

	"github.com/integration-hub/hub/internal/web"
)

// T is the part of *testing.T the checks use.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Decode runs web.Decode on body for a value of type In, as a route does,
// and checks what it promises: it never panics; a refusal is a 4xx problem
// with a code (never a 5xx); and an accepted value, encoded again, is
// accepted again as the same value. It returns the value and whether it
// was accepted.
func Decode[In any](t T, body []byte) (In, bool) {
	t.Helper()
	var v In
	err := web.Decode(request(body), &v, 0)
	if err != nil {
		p := web.ProblemFor(err)
		if p.Status < 400 || p.Status >= 500 || p.Code == "" {
			t.Fatalf("decoding %q into %T: %d %q (%v), want a 4xx problem with a code", body, v, p.Status, p.Code, err)
		}
		return v, false
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("a decoded %T does not encode: %v (body %q)", v, err, body)
	}
	if len(again) > web.MaxBody {
		// Encoding escapes <, > and &: the copy may outgrow the limit.
		return v, true
	}
	var w In
	if err := web.Decode(request(again), &w, 0); err != nil {
		t.Fatalf("%T decoded from %q encodes as %s, which is refused: %v", v, body, again, err)
	}
	if third, _ := json.Marshal(w); !bytes.Equal(third, again) {
		t.Fatalf("%T is not stable through encoding: %s then %s (body %q)", v, again, third, body)
	}
	return v, true
}

func request(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
