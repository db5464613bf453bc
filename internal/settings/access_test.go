package settings_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/areas"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/settings/settingstest"
	"github.com/integration-hub/hub/internal/sourcecontrol"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// caller is one column of the access table.
type caller struct {
	name string
	p    principal.Principal
	org  settingstest.Org
	// nextAdmin is another active hub user of the caller's organization.
	nextAdmin string
}

// partner is the partner organization whose documents the caller works
// on: "" for a hub user.
func (c caller) partner() string {
	if c.p.Kind == principal.PartnerUser {
		return c.p.Partner
	}
	return ""
}

const svgLogo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#0a0"/></svg>`

// newCallers are the four columns of the access table: a hub user of a
// standard organization, a user of a partner organization the hub user
// created (active), a user of a partner organization the hub user invited
// (its Partner Form due) and a hub user of a lite organization.
func newCallers(h *settingstest.Hub) []caller {
	std := h.NewOrg(principal.Standard)
	lite := h.NewOrg(principal.Lite)
	return []caller{
		{"hub user", std.Admin, std, h.HubUser(std, "second@std.test").Subject},
		{"partner user", h.Partner(std, "Created Partner", "created@partner.test", false), std, ""},
		{"pending partner user", h.Partner(std, "Invited Partner", "invited@partner.test", true), std, ""},
		{"lite hub user", lite.Admin, lite, h.HubUser(lite, "second@lite.test").Subject},
	}
}

// functions serves the five settings areas settingstest wires and, over
// the same table, the functions whose routes the matrix also covers: API
// Access, the marketplace (its settings routes), auth (GET /auth/me) and
// users, each built as app wires it for its Lambda.
type functions struct {
	t     *testing.T
	h     *settingstest.Hub
	other map[string]*web.Router
}

func newFunctions(t *testing.T, h *settingstest.Hub) *functions {
	t.Helper()
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	d := &app.Deps{
		Table: h.Table, Keys: keyring, Links: h.Users.Links, LogOutput: io.Discard, Now: time.Now,
		Hashing: passwords.Params{MemoryKiB: 64, Time: 1, Threads: 1},
	}
	f := &functions{t: t, h: h, other: map[string]*web.Router{}}
	for _, name := range []string{"api-access", "marketplace", "auth", "users"} {
		rt, err := d.Router(name)
		if err != nil {
			t.Fatal(err)
		}
		f.other[name] = rt
	}
	return f
}

// serve runs req through the function's router behind the Lambda V2
// adapter, the principal in the authorizer context, as settingstest.Hub.Serve
// does for the five settings areas.
func (f *functions) serve(function string, req settingstest.Request) settingstest.Response {
	f.t.Helper()
	rt, ok := f.other[function]
	if !ok {
		return f.h.Serve(function, req)
	}
	return settingstest.ServeRouter(f.t, rt, req)
}

// get serves a GET that must answer 200 and decodes its body into v.
func (f *functions) get(function, path string, as principal.Principal, v any) {
	f.t.Helper()
	resp := f.serve(function, settingstest.Request{Method: "GET", Path: path, Caller: as})
	if resp.Status != http.StatusOK {
		f.t.Fatalf("GET %s: %d %s", path, resp.Status, resp.Body)
	}
	resp.Decode(f.t, v)
}

// connectSourceControl connects each caller's code-repository account
// (their organization's, or their partner organization's) through the real
// sign-in flow against a local OAuth provider, so that disconnecting has
// something to remove. The pending partner's connection is made by the
// service directly: through the API, their routes are closed until the
// Partner Form is submitted, which is what the matrix checks.
func connectSourceControl(t *testing.T, table storage.Table, callers []caller) {
	t.Helper()
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/token":
			_, _ = io.WriteString(w, `{"access_token":"matrix-access","token_type":"bearer","scope":"repo"}`)
		case "/user":
			_, _ = io.WriteString(w, `{"login":"matrix","id":42}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(provider.Close)
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	svc := sourcecontrol.New(table, keyring, "https://hub.test", sourcecontrol.Config{
		Providers: map[sourcecontrol.ProviderID]sourcecontrol.ProviderConfig{sourcecontrol.GitHub: {
			ClientID: "matrix-client", ClientSecret: "matrix-secret",
			AuthURL: provider.URL + "/authorize", TokenURL: provider.URL + "/token", UserURL: provider.URL + "/user", Scopes: []string{"repo"},
		}},
		RedirectURL: "https://api.hub.test/source-control/callback",
	}, time.Now)
	ctx := context.Background()
	for _, c := range callers {
		a, err := svc.Connect(ctx, c.p, sourcecontrol.ConnectInput{Provider: "github"}, "")
		if err != nil {
			t.Fatalf("connect as %s: %v", c.name, err)
		}
		u, err := url.Parse(a.AuthorizeURL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Callback(ctx, sourcecontrol.CallbackInput{State: u.Query().Get("state"), Code: "matrix-code"}); err != nil {
			t.Fatalf("callback as %s: %v", c.name, err)
		}
		if _, err := table.Get(ctx, keys.SourceConnection(c.org.ID, c.partner())); err != nil {
			t.Fatalf("%s has no connection after signing in: %v", c.name, err)
		}
	}
}

// publicKeyPEM is a fresh ES256 public key as a PEM "PUBLIC KEY".
func publicKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// ofOrg is the organization's document k, whoever the caller is.
func ofOrg(k func(org string) storage.Key) func(caller) storage.Key {
	return func(c caller) storage.Key { return k(c.org.ID) }
}

// TestWhoReachesWhichRoute runs every route of the Company, Notifications,
// Integration Form, Partner Form and Source Control areas, of API Access
// and of the marketplace settings for a hub user, a partner user, a
// pending partner user and a hub user of a lite organization, through the
// real routers behind the Lambda V2 adapter, and checks the status (and the
// problem code) of each cell. Rows run in order, so the write rows find what
// the rows above them wrote; each row's path is fixed before its first cell
// runs, so a refused cell addresses the same resource the admitted ones
// change. Every versioned write sends the document's current version in
// If-Match, so a cell shows whether the caller is let through, not a 428.
func TestWhoReachesWhichRoute(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	fns := newFunctions(t, h)
	callers := newCallers(h)
	pendingPartner := callers[2].p.Partner
	connectSourceControl(t, h.Table, callers)
	publicKey := publicKeyPEM(t)

	// The newest API key and the current marketplace secret of the
	// caller's organization, read as its administrator.
	newestAPIKey := func(c caller) string {
		var page struct {
			Keys []struct{ ID string } `json:"api_keys"`
		}
		fns.get("api-access", "/api-keys", c.org.Admin, &page)
		if len(page.Keys) == 0 {
			t.Fatalf("organization of %s has no API key", c.name)
		}
		return "/api-keys/" + page.Keys[0].ID
	}
	marketplaceSecret := func(c caller) string {
		var doc struct {
			Secrets []struct{ Kid string } `json:"secrets"`
		}
		fns.get("marketplace", "/marketplace/settings", c.org.Admin, &doc)
		if len(doc.Secrets) == 0 {
			t.Fatalf("organization of %s has no marketplace secret", c.name)
		}
		return "/marketplace/settings/secrets/" + doc.Secrets[0].Kid
	}
	// A kid is unique across the deployment: one per organization.
	kidOf := func(c caller) string { return "matrix-" + strings.ToLower(c.org.ID) }

	const (
		notPrincipal = "403 forbidden_principal"
		formPending  = "403 partner_form_pending"
		noArea       = "404 area_not_found"
	)
	rows := []struct {
		function, method, path string
		// at replaces path when the resource is the caller's own.
		at func(c caller) string
		// document is the settings item whose version If-Match carries;
		// nil for a route without If-Match.
		document func(c caller) storage.Key
		body     func(c caller) string
		want     [4]string // hub user, partner user, pending partner user, lite hub user
	}{
		{"company", "GET", "/company", nil, nil, nil,
			[4]string{"200", "200", formPending, "200"}},
		{"company", "PATCH", "/company", nil, ofOrg(keys.Org),
			func(caller) string { return `{"marketplace_url":"https://app.acme.test/integrations"}` },
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"company", "PUT", "/company/primary-administrator", nil, ofOrg(keys.Org),
			func(c caller) string { return `{"user_id":"` + c.nextAdmin + `"}` },
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"company", "PUT", "/company/logos/light", nil, ofOrg(keys.Org),
			func(caller) string {
				return `{"content_type":"image/svg+xml","data":"` + base64.StdEncoding.EncodeToString([]byte(svgLogo)) + `"}`
			},
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"company", "GET", "/company/logos/light", nil, nil, nil,
			[4]string{"200", "200", formPending, "200"}},
		{"company", "DELETE", "/company/logos/light", nil, ofOrg(keys.Org), nil,
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"notifications", "GET", "/notifications", nil, nil, nil,
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"notifications", "PUT", "/notifications", nil, ofOrg(keys.NotificationSettings),
			func(caller) string {
				return `{"events":[{"name":"run.failed","enabled":true,"addresses":["ops@acme.test"]}]}`
			},
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"integration-form", "GET", "/integration-form", nil, nil, nil,
			[4]string{"200", notPrincipal, notPrincipal, noArea}},
		{"integration-form", "PUT", "/integration-form", nil, ofOrg(keys.IntegrationForm),
			func(caller) string {
				return `{"questions":[{"type":"url","label":"Documentation","required":true}]}`
			},
			[4]string{"200", notPrincipal, notPrincipal, noArea}},
		{"partner-form", "GET", "/partner-form", nil, nil, nil,
			[4]string{"200", "403 area_forbidden", "200", noArea}},
		{"partner-form", "PUT", "/partner-form", nil, ofOrg(keys.PartnerForm),
			func(caller) string {
				return `{"questions":[{"type":"text","label":"Company website"}],"terms_url":"https://acme.test/partner-terms"}`
			},
			[4]string{"200", notPrincipal, notPrincipal, noArea}},
		{"partner-form", "POST", "/partner-form/answers", nil, nil,
			func(caller) string { return `{"answers":{},"accept_terms":true}` },
			[4]string{"403 partner_users_only", "409 partner_form_not_due", "201", noArea}},
		{"partner-form", "GET", "/partner-form/answers", nil, nil, nil,
			[4]string{"200", notPrincipal, notPrincipal, noArea}},
		{"partner-form", "GET", "/partner-form/answers/" + pendingPartner, nil, nil, nil,
			[4]string{"200", notPrincipal, notPrincipal, noArea}},
		{"source-control", "GET", "/source-control", nil, nil, nil,
			[4]string{"200", "200", formPending, "200"}},
		{"source-control", "POST", "/source-control/connect", nil, nil,
			func(caller) string { return `{"provider":"github"}` },
			[4]string{"200", "200", formPending, "200"}},
		{"source-control", "DELETE", "/source-control", nil,
			func(c caller) storage.Key { return keys.SourceConnection(c.org.ID, c.partner()) }, nil,
			[4]string{"204", "204", formPending, "204"}},
		{"source-control", "GET", "/source-control/callback?state=unknown&code=x", nil, nil, nil,
			[4]string{"303", "303", "303", "303"}},

		// API Access is the hub users' (a lite organization's too): no
		// partner user reaches it, pending or not.
		{"api-access", "GET", "/api-keys", nil, nil, nil,
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"api-access", "POST", "/api-keys", nil, nil,
			func(caller) string { return `{"name":"Matrix","scopes":["runs:start"]}` },
			[4]string{"201", notPrincipal, notPrincipal, "201"}},
		{"api-access", "DELETE", "/api-keys/{id}", newestAPIKey, nil, nil,
			[4]string{"204", notPrincipal, notPrincipal, "204"}},

		// The marketplace settings are the hub users' too, whatever the
		// plan: a lite organization has a marketplace, only no partner
		// areas.
		{"marketplace", "GET", "/marketplace/settings", nil, nil, nil,
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"marketplace", "PUT", "/marketplace/settings", nil, ofOrg(keys.MarketplaceSettings),
			func(caller) string { return `{"max_lifetime_seconds":1800,"leeway_seconds":60}` },
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"marketplace", "POST", "/marketplace/settings/secrets", nil, ofOrg(keys.MarketplaceSettings),
			func(caller) string { return `{"grace_period_seconds":0}` },
			[4]string{"201", notPrincipal, notPrincipal, "201"}},
		{"marketplace", "DELETE", "/marketplace/settings/secrets/{kid}", marketplaceSecret, ofOrg(keys.MarketplaceSettings), nil,
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"marketplace", "POST", "/marketplace/settings/keys", nil, ofOrg(keys.MarketplaceSettings),
			func(c caller) string {
				b, _ := json.Marshal(map[string]string{"kid": kidOf(c), "algorithm": "ES256", "key": publicKey})
				return string(b)
			},
			[4]string{"201", notPrincipal, notPrincipal, "201"}},
		{"marketplace", "DELETE", "/marketplace/settings/keys/{kid}",
			func(c caller) string { return "/marketplace/settings/keys/" + kidOf(c) }, ofOrg(keys.MarketplaceSettings), nil,
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
	}
	for _, row := range rows {
		var paths [4]string
		for i, c := range callers {
			paths[i] = row.path
			if row.at != nil {
				paths[i] = row.at(c)
			}
		}
		for i, c := range callers {
			req := settingstest.Request{Method: row.method, Path: paths[i], Caller: c.p}
			if row.body != nil {
				req.Body = row.body(c)
			}
			if row.document != nil {
				req.IfMatch = web.ETag(version(t, h.Table, row.document(c)))
			}
			resp := fns.serve(row.function, req)
			got := strconv.Itoa(resp.Status)
			if resp.Status >= 400 {
				got += " " + resp.Problem.Code
			}
			if got != row.want[i] {
				t.Errorf("%s %s as %s: %s, want %s (%s)", row.method, paths[i], c.name, got, row.want[i], resp.Body)
			}
		}
	}

	// The areas the API lists for a principal are the ones whose read route
	// lets them in.
	reads := map[string]string{
		areas.Company: "/company", areas.Users: "/users", areas.Notifications: "/notifications",
		areas.IntegrationForm: "/integration-form", areas.PartnerForm: "/partner-form",
		areas.SourceControl: "/source-control", areas.APIAccess: "/api-keys",
	}
	for _, c := range callers {
		for area, path := range reads {
			resp := fns.serve(area, settingstest.Request{Method: "GET", Path: path, Caller: c.p})
			if listed := areas.Visible(c.p, area); listed != (resp.Status == http.StatusOK) {
				t.Errorf("%s: area %s listed %v, but GET %s answers %d", c.name, area, listed, path, resp.Status)
			}
		}
	}
}

// TestAuthMeListsTheAreasEachCallerMaySee reads GET /auth/me as each
// column of the access table: a hub user of a standard organization sees
// every area, a partner user Company, Users and Source Control, a partner
// user whose Partner Form is due only the Partner Form, and a hub user of
// a lite organization every area but the partner ones (Integration Form,
// Partner Form). The lists are written out here, in menu order, rather
// than taken from package areas, so a change of the rule shows.
func TestAuthMeListsTheAreasEachCallerMaySee(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	fns := newFunctions(t, h)
	callers := newCallers(h)
	want := map[string][]string{
		"hub user":             {"company", "users", "notifications", "integration-form", "partner-form", "source-control", "api-access"},
		"partner user":         {"company", "users", "source-control"},
		"pending partner user": {"partner-form"},
		"lite hub user":        {"company", "users", "notifications", "source-control", "api-access"},
	}
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			var me struct {
				User struct {
					ID string `json:"id"`
				} `json:"user"`
				Kind           principal.Kind `json:"kind"`
				PartnerPending bool           `json:"partner_pending"`
				Areas          []string       `json:"areas"`
			}
			fns.get("auth", "/auth/me", c.p, &me)
			if me.User.ID != c.p.Subject || me.Kind != c.p.Kind || me.PartnerPending != c.p.PartnerPending {
				t.Errorf("GET /auth/me answered user %s, kind %s, pending %v; want %s, %s, %v", me.User.ID, me.Kind, me.PartnerPending, c.p.Subject, c.p.Kind, c.p.PartnerPending)
			}
			if !slices.Equal(me.Areas, want[c.name]) {
				t.Errorf("areas = %v, want %v", me.Areas, want[c.name])
			}
		})
	}
}

func version(t *testing.T, table storage.Table, k storage.Key) int64 {
	t.Helper()
	it, err := table.Get(context.Background(), k)
	if errors.Is(err, storage.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return it.Version
}

// TestConcurrentUpdatesOfOneVersionExactlyOneWins sends two updates with
// the same If-Match at the same time to each settings document, from its
// first write (version 0, conditional on absence) on: exactly one wins, the
// other is 412 stale_version, and the document holds the winner's change.
func TestConcurrentUpdatesOfOneVersionExactlyOneWins(t *testing.T) {
	backends := []struct {
		name  string
		table func(*testing.T) storage.Table
	}{
		{"embedded", settingstest.Embedded},
		{"dynamodb-local", settingstest.DynamoDB},
	}
	documents := []struct {
		function, method, path string
		body                   func(writer string) string
	}{
		{"company", "PATCH", "/company", func(w string) string { return `{"name":"Acme ` + w + `"}` }},
		{"notifications", "PUT", "/notifications", func(w string) string {
			return `{"events":[{"name":"tenant.created","enabled":true,"addresses":["` + w + `@acme.test"]}]}`
		}},
		{"integration-form", "PUT", "/integration-form", func(w string) string {
			return `{"questions":[{"type":"text","label":"Asked by ` + w + `"}]}`
		}},
		{"partner-form", "PUT", "/partner-form", func(w string) string {
			return `{"questions":[{"type":"text","label":"Asked by ` + w + `"}],"terms_url":""}`
		}},
	}
	for _, backend := range backends {
		t.Run(backend.name, func(t *testing.T) {
			h := settingstest.New(t, backend.table(t))
			org := h.NewOrg(principal.Standard)
			for _, doc := range documents {
				for round := 0; round < 3; round++ {
					etag := h.ETag(doc.function, doc.path, org.Admin)
					writers := []string{fmt.Sprintf("first%d", round), fmt.Sprintf("second%d", round)}
					results := make([]settingstest.Response, len(writers))
					start := make(chan struct{})
					var wg sync.WaitGroup
					for i, w := range writers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							results[i] = h.Serve(doc.function, settingstest.Request{
								Method: doc.method, Path: doc.path, Caller: org.Admin, IfMatch: etag, Body: doc.body(w),
							})
						}()
					}
					close(start)
					wg.Wait()
					winner := ""
					for i, r := range results {
						switch {
						case r.Status == http.StatusOK && winner == "":
							winner = writers[i]
						case r.Status == http.StatusPreconditionFailed && r.Problem.Code == "stale_version":
						default:
							t.Fatalf("%s from %s: %d %s", doc.path, etag, r.Status, r.Body)
						}
					}
					if winner == "" {
						t.Fatalf("%s from %s: no update won", doc.path, etag)
					}
					after := h.Serve(doc.function, settingstest.Request{Method: "GET", Path: doc.path, Caller: org.Admin})
					if after.Header.Get("ETag") == etag || !strings.Contains(after.Body, winner) {
						t.Fatalf("%s after the race: ETag %s (was %s), body %s, winner %s", doc.path, after.Header.Get("ETag"), etag, after.Body, winner)
					}
				}
			}
		})
	}
}
