package main

import (
	"strings"
	"testing"
)

// Compare calls a figure a regression when its goal is no longer met, when
// a count grew at all, or when a ratio or memory grew beyond Noise; the
// reverse is an improvement, and a figure of one run only is added or
// removed.
func TestCompareFindsRegressionsBeyondTheNoise(t *testing.T) {
	old := &Report{
		Authorizer: []Pair{
			pair("hub session", 105, 100, goalAuthorizer, nil), // 1.05
			pair("API key", 300, 100, goalAuthorizer, nil),     // 3.00
			pair("ES256", 110, 100, goalAuthorizer, nil),       // 1.10, met
			pair("HS256", 110, 100, goalAuthorizer, nil),
		},
		Scale: []Pair{{Name: "catalog", Extra: map[string]float64{"ddb_queries": 2}, Met: true}},
		Calls: []CallsRow{
			{Function: "users", Route: "GET /users", Measured: true, Calls: []string{"Query", "GetItem"}, AuthorizerCalls: 1},
			{Function: "users", Route: "GET /users/{id}", Measured: true, Calls: []string{"BatchGetItem"}, AuthorizerCalls: 1},
		},
		Binaries: []BinaryRow{{Function: "auth", PeakRSSBytes: 50 << 20, SizeBytes: 9000 << 10}},
	}
	cur := &Report{
		Authorizer: []Pair{
			pair("hub session", 110, 100, goalAuthorizer, nil), // 1.10: within the noise
			pair("API key", 340, 100, goalAuthorizer, nil),     // 3.40: worse by 13%
			pair("ES256", 125, 100, goalAuthorizer, nil),       // 1.25: goal lost
			pair("EdDSA", 100, 100, goalAuthorizer, nil),
		},
		Scale: []Pair{{Name: "catalog", Extra: map[string]float64{"ddb_queries": 3}}},
		Calls: []CallsRow{
			{Function: "users", Route: "GET /users", Measured: true, Calls: []string{"Query"}, AuthorizerCalls: 1},
			{Function: "users", Route: "GET /users/{id}", Measured: true, Calls: []string{"BatchGetItem", "GetItem"}, AuthorizerCalls: 1},
		},
		Binaries: []BinaryRow{{Function: "auth", PeakRSSBytes: 40 << 20, SizeBytes: 9100 << 10}},
	}
	want := map[string]string{
		"authorizer/hub session":               "same",
		"authorizer/API key":                   "regression",
		"authorizer/ES256":                     "regression",
		"authorizer/HS256":                     "removed",
		"authorizer/EdDSA":                     "added",
		"scale/catalog":                        "regression",
		"DynamoDB calls/users GET /users":      "improvement",
		"DynamoDB calls/users GET /users/{id}": "regression",
		"memory/auth":                          "improvement",
		"binary size/auth":                     "same",
	}
	changes := Compare(old, cur)
	got := map[string]string{}
	for _, c := range changes {
		got[c.Section+"/"+c.Name] = c.Status
	}
	for k, status := range want {
		if got[k] != status {
			t.Errorf("%s: %q, want %q", k, got[k], status)
		}
	}
	if len(got) != len(want) {
		t.Errorf("compared %v, want exactly %v", got, want)
	}
	if n := Regressions(changes); n != 4 || changes[0].Status != "regression" {
		t.Errorf("%d regressions, first %+v; want 4, listed first", n, changes[0])
	}
	md := ChangesMarkdown(changes, "before.json", "after.json")
	if !strings.Contains(md, "| regression | authorizer | ES256 | ratio | 1.10 | 1.25 | yes → no |") || strings.Contains(md, "hub session") {
		t.Errorf("the table lists the changes, not the figures that stayed the same:\n%s", md)
	}
}
