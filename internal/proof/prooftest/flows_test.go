package prooftest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/sourcecontrol"
)

// TestFindAcceptedConnectsSourceControlFirst checks the flows: the Source
// Control callback and disconnecting are accepted only on a real
// connection, which FindAccepted makes through the local provider, and
// each accepted answer leaves the connection as the route says.
func TestFindAcceptedConnectsSourceControlFirst(t *testing.T) {
	h := prooftest.Open(t)
	for _, tc := range []struct {
		route     string
		status    int
		connected bool
	}{
		{route: "GET " + sourcecontrol.CallbackPath, status: http.StatusSeeOther, connected: true},
		{route: "DELETE /source-control", status: http.StatusNoContent, connected: false},
	} {
		t.Run(tc.route, func(t *testing.T) {
			var route prooftest.Route
			for _, r := range h.Routes() {
				if r.Key() == tc.route {
					route = r
				}
			}
			if route.Path == "" {
				t.Fatalf("no route %s", tc.route)
			}
			org := h.NewOrg(principal.Standard)
			acc, tried, ok := prooftest.FindAccepted(h.Do, route, org)
			if !ok || acc.Response.Status != tc.status {
				t.Fatalf("accepted %v with %d, want %d (tried %v)", ok, acc.Response.Status, tc.status, tried)
			}
			resp := h.MustDo(prooftest.Request{Method: http.MethodGet, Path: "/source-control", Caller: org.Callers()[acc.Caller]}, http.StatusOK)
			var v sourcecontrol.StatusView
			if err := json.Unmarshal(resp.Body, &v); err != nil {
				t.Fatal(err)
			}
			if v.Connected != tc.connected || (tc.connected && v.Connection.AccountLogin != prooftest.OAuthLogin) {
				t.Fatalf("after the accepted request: %s, want connected %v as %s", resp.Body, tc.connected, prooftest.OAuthLogin)
			}
		})
	}
}
