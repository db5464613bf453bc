package isolation_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
)

func snapshotOf(h *prooftest.Hub) func(t *testing.T) prooftest.Snapshot {
	return func(t *testing.T) prooftest.Snapshot {
		t.Helper()
		s, err := prooftest.Take(h.DB)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// TestNoCallerOfOneOrganizationReachesAnotherOnAnyRoute runs the matrix on
// the whole hub: organization A's hub user, partner user, pending partner
// user and API key against organization B's users, partners, API keys,
// integrations, tenants and runs, on every route of every function.
func TestNoCallerOfOneOrganizationReachesAnotherOnAnyRoute(t *testing.T) {
	h := prooftest.Open(t)
	w := &world{
		do:       h.Do,
		routes:   h.Routes(),
		attacker: h.NewOrg(principal.Standard),
		victim:   h.NewOrg(principal.Standard),
		snapshot: snapshotOf(h),
		newOwner: func() *prooftest.Org { return h.NewOrg(principal.Standard) },
	}
	rows := w.run(t)
	t.Logf("isolation matrix (%d routes):\n%s", len(rows), table(rows))
	for _, f := range findings(rows) {
		t.Error(f)
	}

	// The matrix is not empty where it matters: every function with a
	// route that takes an id has cells, one per caller kind.
	byID := map[string]int{}
	for _, r := range rows {
		if len(r.cells) > 0 && r.kind != "list" {
			byID[r.route.Function] += len(r.cells)
		}
	}
	for _, route := range h.Routes() {
		if len(route.Params()) > 0 && !route.Public && byID[route.Function] == 0 {
			t.Errorf("function %s has routes with ids but no matrix cell", route.Function)
		}
	}
}
