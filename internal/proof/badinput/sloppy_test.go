package badinput_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
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

// sloppyRouter decodes leniently (unknown fields and any media type pass),
// writes before it validates, and answers a bad address with a plain 500.
func sloppyRouter(h *prooftest.Hub) *web.Router {
	rt := web.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	rt.Handle("POST", "/sloppy", web.Allow(principal.HubUser), func(w http.ResponseWriter, r *http.Request) error {
		body, _ := io.ReadAll(r.Body)
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, "bad json", http.StatusInternalServerError)
			return nil
		}
		caller := web.Caller(r)
		item := storage.Item{Key: keys.User(caller.Org, "SLOPPY"), Type: "sloppy", Version: 1, Data: body}
		if err := h.DB.Write(r.Context(), storage.Put(item, storage.Condition{})); err != nil {
			return err
		}
		email, _ := in["email"].(string)
		if _, err := mail.ParseAddress(email); err != nil || len(email) > 254 {
			return apperr.New(apperr.Invalid, "", "")
		}
		w.WriteHeader(http.StatusCreated)
		return nil
	})
	return rt
}

// TestTheSuiteCatchesASloppyHandler runs the variants against a handler
// that breaks every rule, behind the real authorizer: each variant must
// find something wrong, or the suite could pass a route like it.
func TestTheSuiteCatchesASloppyHandler(t *testing.T) {
	h := prooftest.Open(t)
	rt := sloppyRouter(h)
	g, err := gateway.New(gateway.Config{
		Functions:       map[string]gateway.Handler{"sloppy": httpadapter.NewV2(rt).ProxyWithContext},
		Authorizer:      h.Deps.Authorizer().Handle,
		IdentityHeaders: []string{"Authorization"},
		Routes:          []gateway.Route{{Method: "POST", Path: "/sloppy", Function: "sloppy"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	org := h.NewOrg(principal.Standard)
	route := prooftest.Route{Function: "sloppy", Route: rt.Routes()[0]}
	base := map[string]any{"email": "someone@" + org.Domain(), "name": "Someone"}
	at := target{do: func(req prooftest.Request) prooftest.Response { return prooftest.Serve(g, req) }, db: h.DB}
	for _, v := range append(generic(base), perField(base)...) {
		t.Run(v.name, func(t *testing.T) {
			problems := check(t, at, org, route, org.Admin, "/sloppy", v)
			if len(problems) == 0 {
				t.Errorf("the sloppy handler passed %q", v.name)
			}
			t.Log(strings.Join(problems, "; "))
		})
	}
}
