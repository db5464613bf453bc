package isolation_test

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/gateway"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/web"
)

// leakyRouter is a function with the mistakes the matrix exists to catch:
// handlers that find a user by its id alone, without building the key from
// the caller's organization.
func leakyRouter(t *testing.T, h *prooftest.Hub) *web.Router {
	people := web.Allow(principal.HubUser, principal.PartnerUser, principal.APIKey, principal.EndUser)
	anyOrg := func(ctx context.Context, id string) (storage.Item, bool) {
		items, err := h.DB.Dump(ctx)
		if err != nil {
			t.Error(err)
		}
		for _, it := range items {
			if it.Type == "user" && strings.HasSuffix(it.SK, keys.UsersPrefix+id) {
				return it, true
			}
		}
		return storage.Item{}, false
	}
	rt := web.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Reads another organization's user.
	rt.Handle("GET", "/leaky/users/{id}", people, func(w http.ResponseWriter, r *http.Request) error {
		it, ok := anyOrg(r.Context(), r.PathValue("id"))
		if !ok {
			return apperr.New(apperr.NotFound, "user_not_found", "no such user")
		}
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write(it.Data)
		return err
	})
	// Deletes another organization's user, then says it found nothing.
	rt.Handle("DELETE", "/careless/users/{id}", people, func(w http.ResponseWriter, r *http.Request) error {
		if it, ok := anyOrg(r.Context(), r.PathValue("id")); ok && it.PK != keys.OrgPK(web.Caller(r).Org) {
			if err := h.DB.Write(r.Context(), storage.Delete(it.Key, storage.Condition{})); err != nil {
				return err
			}
		}
		return apperr.New(apperr.NotFound, "user_not_found", "no such user")
	})
	// Refuses another organization's user with 403 but an unknown id with
	// 404: the answer tells that the id exists.
	rt.Handle("GET", "/oracle/users/{id}", people, func(w http.ResponseWriter, r *http.Request) error {
		if it, ok := anyOrg(r.Context(), r.PathValue("id")); ok && it.PK != keys.OrgPK(web.Caller(r).Org) {
			return apperr.New(apperr.Forbidden, "not_yours", "this user belongs to another organization")
		}
		return apperr.New(apperr.NotFound, "user_not_found", "no such user")
	})
	// Lists every organization's users.
	rt.Handle("GET", "/everyone", people, func(w http.ResponseWriter, r *http.Request) error {
		items, err := h.DB.Dump(r.Context())
		if err != nil {
			return err
		}
		var b strings.Builder
		for _, it := range items {
			if it.Type == "user" {
				b.Write(it.Data)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, err = io.WriteString(w, b.String())
		return err
	})
	return rt
}

// TestTheMatrixCatchesLeakyHandlers runs the matrix on a function whose
// handlers ignore the caller's organization, behind the real authorizer,
// and checks that every kind of leak fails a cell: a matrix that passes
// everything would pass these too.
func TestTheMatrixCatchesLeakyHandlers(t *testing.T) {
	h := prooftest.Open(t)
	rt := leakyRouter(t, h)
	g, err := gateway.New(gateway.Config{
		Functions:       map[string]gateway.Handler{"leaky": httpadapter.NewV2(rt).ProxyWithContext},
		Authorizer:      h.Deps.Authorizer().Handle,
		IdentityHeaders: []string{"Authorization"},
		Routes: func() []gateway.Route {
			var out []gateway.Route
			for _, r := range rt.Routes() {
				out = append(out, gateway.Route{Method: r.Method, Path: r.Path, Function: "leaky"})
			}
			return out
		}(),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The careless delete runs last: it removes the victim's users.
	var routes []prooftest.Route
	for _, r := range rt.Routes() {
		routes = append(routes, prooftest.Route{Function: "leaky", Route: r})
	}
	slices.SortStableFunc(routes, func(a, b prooftest.Route) int {
		last := func(r prooftest.Route) int {
			if r.Method == http.MethodDelete {
				return 1
			}
			return 0
		}
		return cmp.Compare(last(a), last(b))
	})
	w := &world{
		do:       func(req prooftest.Request) prooftest.Response { return prooftest.Serve(g, req) },
		routes:   routes,
		attacker: h.NewOrg(principal.Standard),
		victim:   h.NewOrg(principal.Standard),
		snapshot: snapshotOf(h),
	}
	rows := w.run(t)
	t.Logf("matrix of the leaky function:\n%s", table(rows))
	found := strings.Join(findings(rows), "\n")

	tests := []struct {
		route string
		// want is in a finding of the route's hub user cell.
		want string
	}{
		{"GET /leaky/users/{id}", "answered 200"},
		{"GET /leaky/users/{id}", "the answer holds the other organization's"},
		{"DELETE /careless/users/{id}", "wrote: removed ORG#"},
		{"GET /oracle/users/{id}", "the answer tells that they exist"},
		{"GET /everyone", "the answer holds the other organization's"},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			for _, line := range strings.Split(found, "\n") {
				if strings.Contains(line, tt.route+" as "+w.attacker.Admin.Name) && strings.Contains(line, tt.want) {
					return
				}
			}
			t.Errorf("no finding %q for %s; the findings were:\n%s", tt.want, tt.route, found)
		})
	}
}
