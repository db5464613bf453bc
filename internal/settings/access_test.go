package settings_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/integration-hub/hub/internal/areas"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings/settingstest"
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

const svgLogo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#0a0"/></svg>`

// TestWhoReachesWhichRoute runs every route of the Company, Notifications,
// Integration Form, Partner Form and Source Control areas for a hub user, a partner user, a
// pending partner user and a hub user of a lite organization, through the
// real routers behind the Lambda V2 adapter, and checks the status (and the
// problem code) of each cell. Rows run in order, so the write rows find what
// the rows above them wrote.
func TestWhoReachesWhichRoute(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	std := h.NewOrg(principal.Standard)
	lite := h.NewOrg(principal.Lite)
	callers := []caller{
		{"hub user", std.Admin, std, h.HubUser(std, "second@std.test").Subject},
		{"partner user", h.Partner(std, "Created Partner", "created@partner.test", false), std, ""},
		{"pending partner user", h.Partner(std, "Invited Partner", "invited@partner.test", true), std, ""},
		{"lite hub user", lite.Admin, lite, h.HubUser(lite, "second@lite.test").Subject},
	}
	pendingPartner := callers[2].p.Partner

	const (
		notPrincipal = "403 forbidden_principal"
		formPending  = "403 partner_form_pending"
		noArea       = "404 area_not_found"
	)
	rows := []struct {
		function, method, path string
		// document is the settings item whose version If-Match carries;
		// nil for a route without If-Match.
		document func(org string) storage.Key
		body     func(c caller) string
		want     [4]string // hub user, partner user, pending partner user, lite hub user
	}{
		{"company", "GET", "/company", nil, nil,
			[4]string{"200", "200", formPending, "200"}},
		{"company", "PATCH", "/company", keys.Org,
			func(caller) string { return `{"marketplace_url":"https://app.acme.test/integrations"}` },
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"company", "PUT", "/company/primary-administrator", keys.Org,
			func(c caller) string { return `{"user_id":"` + c.nextAdmin + `"}` },
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"company", "PUT", "/company/logos/light", keys.Org,
			func(caller) string {
				return `{"content_type":"image/svg+xml","data":"` + base64.StdEncoding.EncodeToString([]byte(svgLogo)) + `"}`
			},
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"company", "GET", "/company/logos/light", nil, nil,
			[4]string{"200", "200", formPending, "200"}},
		{"company", "DELETE", "/company/logos/light", keys.Org, nil,
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"notifications", "GET", "/notifications", nil, nil,
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"notifications", "PUT", "/notifications", keys.NotificationSettings,
			func(caller) string {
				return `{"events":[{"name":"run.failed","enabled":true,"addresses":["ops@acme.test"]}]}`
			},
			[4]string{"200", notPrincipal, notPrincipal, "200"}},
		{"integration-form", "GET", "/integration-form", nil, nil,
			[4]string{"200", notPrincipal, notPrincipal, noArea}},
		{"integration-form", "PUT", "/integration-form", keys.IntegrationForm,
			func(caller) string {
				return `{"questions":[{"type":"url","label":"Documentation","required":true}]}`
			},
			[4]string{"200", notPrincipal, notPrincipal, noArea}},
		{"partner-form", "GET", "/partner-form", nil, nil,
			[4]string{"200", "403 area_forbidden", "200", noArea}},
		{"partner-form", "PUT", "/partner-form", keys.PartnerForm,
			func(caller) string {
				return `{"questions":[{"type":"text","label":"Company website"}],"terms_url":"https://acme.test/partner-terms"}`
			},
			[4]string{"200", notPrincipal, notPrincipal, noArea}},
		{"partner-form", "POST", "/partner-form/answers", nil,
			func(caller) string { return `{"answers":{},"accept_terms":true}` },
			[4]string{"403 partner_users_only", "409 partner_form_not_due", "201", noArea}},
		{"partner-form", "GET", "/partner-form/answers", nil, nil,
			[4]string{"200", notPrincipal, notPrincipal, noArea}},
		{"partner-form", "GET", "/partner-form/answers/" + pendingPartner, nil, nil,
			[4]string{"200", notPrincipal, notPrincipal, noArea}},
		{"source-control", "GET", "/source-control", nil, nil,
			[4]string{"200", "200", formPending, "200"}},
		{"source-control", "POST", "/source-control/connect", nil,
			func(caller) string { return `{"provider":"github"}` },
			[4]string{"200", "200", formPending, "200"}},
		{"source-control", "DELETE", "/source-control", nil, nil,
			[4]string{"428 if_match_required", "428 if_match_required", formPending, "428 if_match_required"}},
		{"source-control", "GET", "/source-control/callback?state=unknown&code=x", nil, nil,
			[4]string{"303", "303", "303", "303"}},
	}
	for _, row := range rows {
		for i, c := range callers {
			req := settingstest.Request{Method: row.method, Path: row.path, Caller: c.p}
			if row.body != nil {
				req.Body = row.body(c)
			}
			if row.document != nil {
				req.IfMatch = web.ETag(version(t, h.Table, row.document(c.org.ID)))
			}
			resp := h.Serve(row.function, req)
			got := strconv.Itoa(resp.Status)
			if resp.Status >= 400 {
				got += " " + resp.Problem.Code
			}
			if got != row.want[i] {
				t.Errorf("%s %s as %s: %s, want %s (%s)", row.method, row.path, c.name, got, row.want[i], resp.Body)
			}
		}
	}

	// The areas the API lists for a principal are the ones whose read route
	// lets them in.
	reads := map[string]string{
		areas.Company: "/company", areas.Notifications: "/notifications",
		areas.IntegrationForm: "/integration-form", areas.PartnerForm: "/partner-form",
		areas.SourceControl: "/source-control",
	}
	for _, c := range callers {
		for area, path := range reads {
			resp := h.Serve(area, settingstest.Request{Method: "GET", Path: path, Caller: c.p})
			if listed := areas.Visible(c.p, area); listed != (resp.Status == http.StatusOK) {
				t.Errorf("%s: area %s listed %v, but GET %s answers %d", c.name, area, listed, path, resp.Status)
			}
		}
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
