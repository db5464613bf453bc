package marketplace_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/marketplace"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/testenv"
)

// shop is an organization with a catalog for two groups and a tier, and a
// way to sign its end-users' tokens.
type shop struct {
	h      *hub
	org    org
	secret string
	ids    map[string]string // integration name → id
}

func newShop(t *testing.T) *shop { return newShopOn(t, newHub(t)) }

func newShopOn(t *testing.T, h *hub) *shop {
	o := h.newOrg("https://app.acme.example/settings/integrations")
	h.rules(o, marketplace.RulesInput{Issuer: "acme"})
	s := &shop{h: h, org: o, secret: h.newSecret(o, 0).Secret, ids: map[string]string{}}
	for name, audience := range map[string]integrations.Audience{
		"Gold CRM":      {Groups: []string{"gold"}},
		"Silver Sheets": {Groups: []string{"silver"}},
		"Pro Analytics": {Tiers: []string{"pro"}},
		"Everyone Mail": {},
		"Secret Beta":   {},
	} {
		s.ids[name] = h.integration(o, name, audience)
	}
	draft := "Draft Tool"
	d, _, err := (&integrations.Service{Table: h.table, Now: h.clock.Now}).CreateIntegration(context.Background(), o.Hub, integrations.IntegrationInput{Name: &draft})
	if err != nil {
		t.Fatal(err)
	}
	s.ids[draft] = d.ID
	return s
}

// endUser is the principal the authorizer resolves from a signed token.
func (s *shop) endUser(sub string, xti map[string]any) principal.Principal {
	claims := jwt.MapClaims{"iss": "acme", "sub": sub}
	if xti != nil {
		claims["xti"] = xti
	}
	return s.h.mustAuthorize(s.h.token(jwt.SigningMethodHS256, []byte(s.secret), "", claims))
}

func (s *shop) catalog(t *testing.T, p principal.Principal) marketplace.Catalog {
	t.Helper()
	r := s.h.serve(p, "GET", "/marketplace/integrations", nil, nil)
	if r.Status != 200 {
		t.Fatalf("catalog: %d %s", r.Status, r.Body)
	}
	var c marketplace.Catalog
	r.decode(t, &c)
	return c
}

func names(c marketplace.Catalog, status string) []string {
	var out []string
	for _, l := range c.Integrations {
		if status == "" || l.Status == status {
			out = append(out, l.Name)
		}
	}
	sort.Strings(out)
	return out
}

func (s *shop) install(p principal.Principal, integration string) response {
	return s.h.serve(p, "POST", "/marketplace/tenants", nil, marketplace.InstallInput{IntegrationID: s.ids[integration]})
}

func TestTwoGroupsSeeDifferentCatalogsAndTheServerEnforcesXTI(t *testing.T) {
	s := newShop(t)
	gold := s.endUser("gold-user", map[string]any{"user_group": "gold", "hidden_integrations": []string{s.ids["Secret Beta"]}})
	silver := s.endUser("silver-user", map[string]any{"user_group": []string{"silver"}, "user_tier": "pro"})
	if got := strings.Join(names(s.catalog(t, gold), ""), ", "); got != "Everyone Mail, Gold CRM" {
		t.Fatalf("gold sees %s", got)
	}
	if got := strings.Join(names(s.catalog(t, silver), ""), ", "); got != "Everyone Mail, Pro Analytics, Secret Beta, Silver Sheets" {
		t.Fatalf("silver sees %s", got)
	}
	// The page never filters for security: what a token may not see cannot
	// be installed either, and looks like it does not exist.
	for _, tc := range []struct {
		who         principal.Principal
		integration string
	}{
		{gold, "Silver Sheets"}, {gold, "Pro Analytics"}, {gold, "Secret Beta"}, {gold, "Draft Tool"}, {silver, "Gold CRM"},
	} {
		if r := s.install(tc.who, tc.integration); r.Status != 404 || r.Problem.Code != "integration_not_found" {
			t.Fatalf("%s installs %s: %d %s", tc.who.Subject, tc.integration, r.Status, r.Body)
		}
	}
	if r := s.h.serve(gold, "POST", "/marketplace/tenants", nil, map[string]string{"integration_id": "../../etc"}); r.Status != 404 {
		t.Fatalf("a malformed id: %d", r.Status)
	}
	if n := len(s.h.endUserTenants(s.org, "gold-user")) + len(s.h.endUserTenants(s.org, "silver-user")); n != 0 {
		t.Fatalf("refused installs left %d tenants", n)
	}
}

func TestAnInstallBeyondAllowedInstallsIsRefused(t *testing.T) {
	s := newShop(t)
	p := s.endUser("limited", map[string]any{"user_group": "gold", "allowed_installs": 1})
	r := s.install(p, "Everyone Mail")
	if r.Status != 201 {
		t.Fatalf("first install: %d %s", r.Status, r.Body)
	}
	var installed marketplace.Listing
	r.decode(t, &installed)
	if installed.Status != marketplace.Installed || installed.Tenant == nil {
		t.Fatalf("install answered %s", r.Body)
	}
	if r := s.install(p, "Gold CRM"); r.Status != 403 || r.Problem.Code != "install_limit_reached" {
		t.Fatalf("second install: %d %s", r.Status, r.Body)
	}
	if r := s.install(p, "Everyone Mail"); r.Status != 409 || r.Problem.Code != "already_installed" {
		t.Fatalf("installing twice: %d %s", r.Status, r.Body)
	}
	c := s.catalog(t, p)
	if c.AllowedInstalls == nil || *c.AllowedInstalls != 1 || c.InstalledCount != 1 || strings.Join(names(c, marketplace.Installed), ",") != "Everyone Mail" {
		t.Fatalf("catalog %+v", c)
	}
	if r := s.h.serve(p, "DELETE", "/marketplace/tenants/"+installed.Tenant.ID, nil, nil); r.Status != 204 {
		t.Fatalf("uninstall: %d %s", r.Status, r.Body)
	}
	if r := s.install(p, "Gold CRM"); r.Status != 201 {
		t.Fatalf("install after uninstalling: %d %s", r.Status, r.Body)
	}
	zero := s.endUser("none-allowed", map[string]any{"allowed_installs": 0})
	if r := s.install(zero, "Everyone Mail"); r.Status != 403 {
		t.Fatalf("allowed_installs 0: %d %s", r.Status, r.Body)
	}
}

// Two installs at once by one end-user with room for one: the end-user's
// record, written with each install at the version read before counting,
// lets exactly one through.
func TestConcurrentInstallsCannotPassAllowedInstalls(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { concurrentInstalls(t, newShop(t)) })
	t.Run("DynamoDB Local", func(t *testing.T) { concurrentInstalls(t, newShopOn(t, newHubOn(t, testenv.DynamoDBTable(t)))) })
}

func concurrentInstalls(t *testing.T, s *shop) {
	for round := 0; round < 5; round++ {
		sub := "racer-" + string(rune('a'+round))
		p := s.endUser(sub, map[string]any{"allowed_installs": 1})
		s.catalog(t, p) // first sight, so both installs read the same record
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for i, name := range []string{"Everyone Mail", "Secret Beta"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = s.install(p, name).Status
			}()
		}
		wg.Wait()
		sort.Ints(statuses)
		if statuses[0] != 201 || (statuses[1] != 403 && statuses[1] != 409) {
			t.Fatalf("round %d: statuses %v, want one 201 and one refusal", round, statuses)
		}
		if n := len(s.h.endUserTenants(s.org, sub)); n != 1 {
			t.Fatalf("round %d: %d tenants for an end-user allowed one", round, n)
		}
	}
}

func TestInstallConfigureUninstallRaiseEventsAndStayWithTheirEndUser(t *testing.T) {
	s := newShop(t)
	me := s.endUser("me", nil)
	r := s.install(me, "Everyone Mail")
	var installed marketplace.Listing
	r.decode(t, &installed)
	tenant := installed.Tenant.ID
	other := s.endUser("someone-else", nil)
	otherOrg := s.h.newOrg("")
	stranger := principal.Principal{Kind: principal.EndUser, Org: otherOrg.ID, Subject: "me", AllowedInstalls: -1}
	for _, who := range []principal.Principal{other, stranger} {
		if r := s.h.serve(who, "DELETE", "/marketplace/tenants/"+tenant, nil, nil); r.Status != 404 || r.Problem.Code != "tenant_not_found" {
			t.Fatalf("%s/%s uninstalls my tenant: %d %s", who.Org, who.Subject, r.Status, r.Body)
		}
		if r := s.h.serve(who, "PATCH", "/marketplace/tenants/"+tenant, nil, map[string]any{"config": map[string]any{"x": 1}}); r.Status != 404 {
			t.Fatalf("%s/%s configures my tenant: %d %s", who.Org, who.Subject, r.Status, r.Body)
		}
	}
	if got := names(s.catalog(t, other), marketplace.Installed); len(got) != 0 {
		t.Fatalf("another end-user sees my installation: %v", got)
	}
	r = s.h.serve(me, "PATCH", "/marketplace/tenants/"+tenant, nil, map[string]any{"config": map[string]any{"folder": "Inbox"}})
	if r.Status != 200 || r.Header.Get("ETag") != `"v2"` || !strings.Contains(r.Body, `"folder":"Inbox"`) {
		t.Fatalf("configure: %d %s %s", r.Status, r.Header.Get("ETag"), r.Body)
	}
	if r := s.h.serve(me, "PATCH", "/marketplace/tenants/"+tenant, map[string]string{"If-Match": `"v1"`}, map[string]any{"config": map[string]any{}}); r.Status != 412 {
		t.Fatalf("stale configure: %d %s", r.Status, r.Body)
	}
	for _, bad := range []map[string]any{{"config": []int{1}}, {}, {"config": map[string]any{}, "status": "paused"}} {
		if r := s.h.serve(me, "PATCH", "/marketplace/tenants/"+tenant, nil, bad); r.Status != 400 || r.Problem.Field == "" {
			t.Fatalf("bad configure %v: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := s.h.serve(me, "DELETE", "/marketplace/tenants/"+tenant, nil, nil); r.Status != 204 {
		t.Fatalf("uninstall: %d %s", r.Status, r.Body)
	}
	if r := s.h.serve(me, "DELETE", "/marketplace/tenants/"+tenant, nil, nil); r.Status != 404 {
		t.Fatalf("uninstall twice: %d %s", r.Status, r.Body)
	}
	var kinds []string
	for _, it := range s.h.items(keys.OrgPK(s.org.ID)) {
		if it.Type == outbox.EntityType {
			ev, err := outbox.FromItem(it)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == outbox.TenantCreated || ev.Kind == outbox.TenantArchived {
				if ev.Data["tenant_id"] != tenant || ev.Data["end_user_id"] != "me" {
					t.Fatalf("event %+v", ev)
				}
				kinds = append(kinds, string(ev.Kind))
			}
		}
	}
	sort.Strings(kinds)
	if strings.Join(kinds, ",") != "tenant.archived,tenant.created" {
		t.Fatalf("events %v", kinds)
	}
}

func TestTheEndUserIsRecordedOnFirstSightAndLastSeenAtMostHourly(t *testing.T) {
	s := newShop(t)
	p := s.endUser("customer#7", nil)
	read := func() marketplace.EndUser {
		it, err := s.h.table.Get(context.Background(), keys.EndUser(s.org.ID, "customer#7"))
		if err != nil {
			t.Fatalf("end-user record: %v", err)
		}
		var u marketplace.EndUser
		if err := json.Unmarshal(it.Data, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	if _, err := s.h.table.Get(context.Background(), keys.EndUser(s.org.ID, "customer#7")); err == nil {
		t.Fatal("the authorizer wrote the end-user")
	}
	first := s.h.clock.Now()
	s.catalog(t, p)
	if u := read(); !u.FirstSeen.Equal(first) || !u.LastSeen.Equal(first) || u.ID != "customer#7" {
		t.Fatalf("first sight: %+v", u)
	}
	writes := s.h.table.Writes()
	s.h.clock.Advance(59 * time.Minute)
	s.catalog(t, p)
	if u := read(); !u.LastSeen.Equal(first) || s.h.table.Writes() != writes {
		t.Fatalf("last seen moved within the hour: %+v", u)
	}
	s.h.clock.Advance(2 * time.Minute)
	s.catalog(t, p)
	if u := read(); !u.LastSeen.Equal(first.Add(61*time.Minute)) || !u.FirstSeen.Equal(first) {
		t.Fatalf("last seen after the hour: %+v", u)
	}
}

// The end-user's partition holds the copy of their record next to their
// tenants: a catalog for an end-user seen within the hour is the two
// queries and nothing else, and the copy is the record after each write.
func TestTheCatalogOfAnEndUserSeenWithinTheHourIsTwoQueries(t *testing.T) {
	s := newShop(t)
	p := s.endUser("customer#8", nil)
	ctx := context.Background()
	sameAsRecord := func(when string) {
		t.Helper()
		record, err := s.h.table.Get(ctx, keys.EndUser(s.org.ID, "customer#8"))
		if err != nil {
			t.Fatalf("%s: record: %v", when, err)
		}
		copied, err := s.h.table.Get(ctx, keys.EndUserCopy(s.org.ID, "customer#8"))
		if err != nil {
			t.Fatalf("%s: copy: %v", when, err)
		}
		if copied.Version != record.Version || string(copied.Data) != string(record.Data) || copied.Type != marketplace.EndUserCopyType {
			t.Fatalf("%s: copy %s at %d, record %s at %d", when, copied.Data, copied.Version, record.Data, record.Version)
		}
	}
	s.catalog(t, p) // first sight: the record and its copy
	sameAsRecord("first sight")
	if r := s.install(p, "Everyone Mail"); r.Status != 201 {
		t.Fatalf("install: %d %s", r.Status, r.Body)
	}
	sameAsRecord("after an install")

	reads, queries, writes := s.h.table.Reads(), s.h.table.Queries(), s.h.table.Writes()
	c := s.catalog(t, p)
	if got := names(c, "installed"); len(got) != 1 || c.InstalledCount != 1 {
		t.Fatalf("installed %v (count %d), want Everyone Mail", got, c.InstalledCount)
	}
	if r, q, w := s.h.table.Reads()-reads, s.h.table.Queries()-queries, s.h.table.Writes()-writes; r != 0 || q != 2 || w != 0 {
		t.Fatalf("a catalog within the hour made %d reads, %d queries and %d writes; want 0, 2 and 0", r, q, w)
	}
	s.h.clock.Advance(61 * time.Minute)
	s.catalog(t, p)
	sameAsRecord("after an hour")
}

// An end-user recorded before copies existed has a record and no copy:
// their next catalog reads the record and writes its copy, and the one
// after is two queries again.
func TestARecordWithoutItsCopyGetsOneOnTheNextCatalog(t *testing.T) {
	s := newShop(t)
	p := s.endUser("legacy", nil)
	ctx := context.Background()
	seen := s.h.clock.Now().Add(-10 * time.Minute)
	data, _ := json.Marshal(marketplace.EndUser{ID: "legacy", Org: s.org.ID, FirstSeen: seen, LastSeen: seen})
	legacy := storage.Item{Key: keys.EndUser(s.org.ID, "legacy"), Type: marketplace.EndUserType, Version: 4, Data: data}
	if err := s.h.table.Write(ctx, storage.Put(legacy, storage.Absent())); err != nil {
		t.Fatal(err)
	}
	s.catalog(t, p)
	copied, err := s.h.table.Get(ctx, keys.EndUserCopy(s.org.ID, "legacy"))
	if err != nil || copied.Version != 4 || string(copied.Data) != string(data) {
		t.Fatalf("copy after the catalog: %+v, %v; want the record at version 4", copied, err)
	}
	reads, queries := s.h.table.Reads(), s.h.table.Queries()
	s.catalog(t, p)
	if r, q := s.h.table.Reads()-reads, s.h.table.Queries()-queries; r != 0 || q != 2 {
		t.Fatalf("the catalog after made %d reads and %d queries; want 0 and 2", r, q)
	}
}

var inline = regexp.MustCompile(`(?s)<(script|style)>(.*?)</(?:script|style)>`)

func TestThePageMayBeFramedOnlyByTheMarketplaceOrigin(t *testing.T) {
	s := newShop(t)
	p := s.endUser("framed", nil)
	r := s.h.serve(p, "GET", "/marketplace?tenant=x", nil, nil)
	if r.Status != 200 {
		t.Fatalf("page: %d %s", r.Status, r.Body)
	}
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors https://app.acme.example", "default-src 'none'", "connect-src 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Fatalf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Fatalf("CSP allows unsafe sources: %s", csp)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Referrer-Policy") != "no-referrer" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("headers %v", r.Header)
	}
	// Each inline script and style is allowed by its own hash, and nothing
	// else runs.
	found := 0
	for _, m := range inline.FindAllStringSubmatch(r.Body, -1) {
		sum := sha256.Sum256([]byte(m[2]))
		if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
			t.Fatalf("inline %s is not allowed by its hash", m[1])
		}
		found++
	}
	if found != 2 || !strings.Contains(r.Body, `"parentOrigin":"https://app.acme.example"`) {
		t.Fatalf("page body: %d inline blocks\n%s", found, r.Body)
	}
	bare := s.h.newOrg("")
	if r := s.h.serve(principal.Principal{Kind: principal.EndUser, Org: bare.ID, Subject: "u", AllowedInstalls: -1}, "GET", "/marketplace", nil, nil); r.Status != 409 || r.Problem.Code != "marketplace_url_not_set" {
		t.Fatalf("an organization without a marketplace URL: %d %s", r.Status, r.Body)
	}
	if r := s.h.serve(s.org.Hub, "GET", "/marketplace", nil, nil); r.Status != 403 {
		t.Fatalf("a hub user opens the end-user page: %d", r.Status)
	}
	if r := s.h.serve(s.org.Hub, "GET", "/marketplace/integrations", nil, nil); r.Status != 403 {
		t.Fatalf("a hub user reads an end-user catalog: %d", r.Status)
	}
}

func TestACatalogOfMoreIntegrationsThanAPageListsThemAll(t *testing.T) {
	s := newShop(t)
	extra := storage.MaxPageSize + 1
	for i := range extra {
		s.h.integration(s.org, fmt.Sprintf("Bulk %04d", i), integrations.Audience{})
	}
	bulk := 0
	for _, name := range names(s.catalog(t, s.endUser("anyone", nil)), "") {
		if strings.HasPrefix(name, "Bulk ") {
			bulk++
		}
	}
	if bulk != extra {
		t.Fatalf("the catalog lists %d of the %d integrations everyone may see", bulk, extra)
	}
}
