package apikeys_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/authorizer"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/storagetest"
	"github.com/integration-hub/hub/internal/testenv"
)

func ExampleParse() {
	key := apikeys.Format("01JG2Y6V9C3F4X5W6T7S8R9Q0P", strings.Repeat("x", 43))
	id, secret, ok := apikeys.Parse(key)
	fmt.Println(key[:len(apikeys.Prefix)], id, len(secret), ok)
	_, _, ok = apikeys.Parse("ihk_not-a-key")
	fmt.Println(ok)
	// Output:
	// ihk_ 01JG2Y6V9C3F4X5W6T7S8R9Q0P 43 true
	// false
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	table    storage.Table
	clock    *clock
	svc      *apikeys.Service
	resolver *apikeys.Resolver
	admin    principal.Principal
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := testenv.EmbeddedTable(t)
	c := &clock{now: time.Now().UTC().Truncate(time.Second)}
	return &fixture{
		table: db, clock: c,
		svc:      &apikeys.Service{Table: db, Now: c.Now},
		resolver: &apikeys.Resolver{Table: db, Now: c.Now},
		admin:    principal.Principal{Kind: principal.HubUser, Org: "acme", Subject: "01JADMIN000000000000000000", Plan: principal.Standard},
	}
}

func (f *fixture) create(t *testing.T, p principal.Principal, in apikeys.CreateInput) apikeys.Created {
	t.Helper()
	c, err := f.svc.Create(context.Background(), p, in)
	if err != nil {
		t.Fatalf("create %q: %v", in.Name, err)
	}
	return c
}

func (f *fixture) resolve(key string) (principal.Principal, error) {
	return f.resolver.Resolve(context.Background(), key, events.APIGatewayV2CustomAuthorizerV2Request{})
}

func TestCreateShowsTheKeyOnceAndStoresOnlyTheHashOfItsSecret(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	created := f.create(t, f.admin, apikeys.CreateInput{Name: " CI pipeline ", Scopes: []string{apikeys.ScopeRunsStart, apikeys.ScopeTenantsRead}})
	id, secret, ok := apikeys.Parse(created.Key)
	if !ok || id != created.ID || created.Name != "CI pipeline" || created.Prefix != apikeys.Prefix+id {
		t.Fatalf("created %+v: key %q does not parse to its id", created.View, created.Key)
	}
	if created.LastFour != created.Key[len(created.Key)-4:] || created.LastUsedAt != nil || created.ExpiresAt != nil {
		t.Fatalf("created view %+v", created.View)
	}
	for _, k := range []storage.Key{keys.APIKey("acme", id), keys.APIKeyLookup(id)} {
		it, err := f.table.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(it.Data), secret) {
			t.Fatalf("item %s holds the secret in clear", k)
		}
	}
	lookup, _ := f.table.Get(ctx, keys.APIKeyLookup(id))
	if !strings.Contains(string(lookup.Data), apikeys.HashSecret(secret)) {
		t.Fatal("the lookup item lacks the secret's hash")
	}
	record, _ := f.table.Get(ctx, keys.APIKey("acme", id))
	if strings.Contains(string(record.Data), apikeys.HashSecret(secret)) {
		t.Fatal("the listed record carries the secret's hash; only the lookup item needs it")
	}

	page, err := f.svc.List(ctx, f.admin, 0, "")
	if err != nil || len(page.Keys) != 1 {
		t.Fatalf("list = %+v, %v", page, err)
	}
	listed := page.Keys[0]
	if listed.ID != id || listed.LastFour != created.LastFour || listed.CreatedBy != f.admin.Subject || len(listed.Scopes) != 2 {
		t.Fatalf("listed %+v", listed)
	}

	events, err := f.table.Query(ctx, storage.Query{PK: keys.OrgPK("acme"), Sort: storage.SortPrefix, From: "EVENT#"})
	if err != nil || len(events.Items) != 1 {
		t.Fatalf("events = %d, %v; want the api_key.created event", len(events.Items), err)
	}
	ev, _ := outbox.FromItem(events.Items[0])
	if ev.Kind != outbox.APIKeyCreated || ev.Data["api_key_id"] != id || strings.Contains(fmt.Sprint(ev), secret) {
		t.Fatalf("event %+v", ev)
	}
}

// Scopes are optional: a key created without them holds every scope, and
// the list says so.
func TestAKeyCreatedWithoutScopesHoldsEveryScope(t *testing.T) {
	f := newFixture(t)
	created := f.create(t, f.admin, apikeys.CreateInput{Name: "everything"})
	if !slices.Equal(created.Scopes, apikeys.Scopes) {
		t.Fatalf("created with scopes %v, want every scope %v", created.Scopes, apikeys.Scopes)
	}
	p, err := f.resolve(created.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range apikeys.Scopes {
		if !p.HasScope(sc) {
			t.Errorf("the principal lacks %s: %v", sc, p.Scopes)
		}
	}
	page, _ := f.svc.List(context.Background(), f.admin, 0, "")
	if len(page.Keys) != 1 || !slices.Equal(page.Keys[0].Scopes, apikeys.Scopes) {
		t.Fatalf("listed: %+v", page.Keys)
	}
}

func TestCreateRefusesBadInputNamingTheField(t *testing.T) {
	f := newFixture(t)
	past := f.clock.Now().Add(-time.Minute)
	cases := []struct {
		name  string
		in    apikeys.CreateInput
		field string
		code  string
	}{
		{"no name", apikeys.CreateInput{Name: "  ", Scopes: []string{apikeys.ScopeRunsStart}}, "name", "invalid_name"},
		{"control character", apikeys.CreateInput{Name: "a\x00b", Scopes: []string{apikeys.ScopeRunsStart}}, "name", "invalid_name"},
		{"an empty list of scopes", apikeys.CreateInput{Name: "ci", Scopes: []string{}}, "scopes", "scopes_required"},
		{"expiry in the past, scopes left out", apikeys.CreateInput{Name: "ci", ExpiresAt: &past}, "expires_at", "expiry_in_the_past"},
		{"unknown scope", apikeys.CreateInput{Name: "ci", Scopes: []string{apikeys.ScopeRunsStart, "admin"}}, "scopes[1]", "unknown_scope"},
		{"repeated scope", apikeys.CreateInput{Name: "ci", Scopes: []string{apikeys.ScopeRunsStart, apikeys.ScopeRunsStart}}, "scopes[1]", "duplicate_scope"},
		{"expiry in the past", apikeys.CreateInput{Name: "ci", Scopes: []string{apikeys.ScopeRunsStart}, ExpiresAt: &past}, "expires_at", "expiry_in_the_past"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Create(context.Background(), f.admin, tc.in)
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.Invalid || e.Field != tc.field || e.Code != tc.code {
				t.Fatalf("err = %v, want %s on %s", err, tc.code, tc.field)
			}
		})
	}
	page, _ := f.svc.List(context.Background(), f.admin, 0, "")
	if len(page.Keys) != 0 {
		t.Fatalf("a refused key was stored: %+v", page.Keys)
	}
}

func TestResolverAdmitsOnlyLiveKeysWithTheirSecret(t *testing.T) {
	f := newFixture(t)
	expires := f.clock.Now().Add(time.Hour)
	live := f.create(t, f.admin, apikeys.CreateInput{Name: "live", Scopes: []string{apikeys.ScopeRunsStart}})
	expiring := f.create(t, f.admin, apikeys.CreateInput{Name: "expiring", Scopes: []string{apikeys.ScopeRunsRead}, ExpiresAt: &expires})
	revoked := f.create(t, f.admin, apikeys.CreateInput{Name: "revoked", Scopes: []string{apikeys.ScopeRunsRead}})
	if err := f.svc.Revoke(context.Background(), f.admin, revoked.ID); err != nil {
		t.Fatal(err)
	}
	id, secret, _ := apikeys.Parse(live.Key)
	otherSecret := strings.Repeat("A", len(secret))

	p, err := f.resolve(live.Key)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != principal.APIKey || p.Org != "acme" || p.Subject != live.ID || p.Plan != principal.Standard || !p.HasScope(apikeys.ScopeRunsStart) || p.HasScope(apikeys.ScopeRunsRead) {
		t.Fatalf("principal %+v", p)
	}
	if _, err := f.resolve(expiring.Key); err != nil {
		t.Fatalf("a key before its expiry: %v", err)
	}
	f.clock.Advance(time.Hour)
	cases := map[string]string{
		"wrong secret":       apikeys.Format(id, otherSecret),
		"revoked":            revoked.Key,
		"expired":            expiring.Key,
		"malformed":          "ihk_" + id,
		"not a key":          "eyJhbGciOiJIUzI1NiJ9.e30.sig",
		"secret too short":   apikeys.Format(id, secret[:40]),
		"lower-case id":      apikeys.Format(strings.ToLower(id), secret),
		"trailing garbage":   live.Key + "x",
		"unknown id":         apikeys.Format("01JG2Y6V9C3F4X5W6T7S8R9Q0P", secret),
		"id of another form": apikeys.Format("../../x", secret),
	}
	for name, key := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.resolve(key)
			if !errors.Is(err, authorizer.ErrDenied) {
				t.Fatalf("err = %v, want a denial", err)
			}
			// Only the genuine key past its expiry is told so; the caller
			// of any other learns nothing more.
			if errors.Is(err, authorizer.ErrExpired) != (name == "expired") {
				t.Fatalf("err = %v: told expired %v", err, errors.Is(err, authorizer.ErrExpired))
			}
		})
	}
	// The table's TTL removes the lookup ExpiredLookupKept after the
	// expiry; from then on the key is unknown.
	lookup, err := f.table.Get(context.Background(), keys.APIKeyLookup(expiring.ID))
	if err != nil {
		t.Fatal(err)
	}
	if want := expiring.ExpiresAt.Add(apikeys.ExpiredLookupKept); !lookup.ExpiresAt.Equal(want) {
		t.Fatalf("the lookup expires at %v, want %v", lookup.ExpiresAt, want)
	}
}

func TestRevokeIsScopedToTheCallersOrganization(t *testing.T) {
	f := newFixture(t)
	created := f.create(t, f.admin, apikeys.CreateInput{Name: "ci", Scopes: []string{apikeys.ScopeRunsStart}})
	other := principal.Principal{Kind: principal.HubUser, Org: "other", Subject: "01JOTHER000000000000000000"}
	cases := []struct {
		name string
		p    principal.Principal
		id   string
		code string
	}{
		{"another organization's key", other, created.ID, "api_key_not_found"},
		{"not an id", f.admin, "x#y", "api_key_not_found"},
		{"own key", f.admin, created.ID, ""},
		{"twice", f.admin, created.ID, "api_key_not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := f.svc.Revoke(context.Background(), tc.p, tc.id)
			if got := codeOf(err); got != tc.code {
				t.Fatalf("revoke: %v, want %q", err, tc.code)
			}
		})
	}
	if _, err := f.resolve(created.Key); !errors.Is(err, authorizer.ErrDenied) {
		t.Fatalf("a revoked key resolved: %v", err)
	}
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return "uncoded: " + err.Error()
}

func TestLastUsedIsWrittenAtMostOnceAMinute(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	created := f.create(t, f.admin, apikeys.CreateInput{Name: "ci", Scopes: []string{apikeys.ScopeRunsStart}})
	counted := storagetest.NewCounting(f.table)
	usage := &apikeys.Service{Table: counted, Now: f.clock.Now}
	lastUsed := func() *time.Time {
		page, err := f.svc.List(ctx, f.admin, 0, "")
		if err != nil || len(page.Keys) != 1 {
			t.Fatalf("list: %+v, %v", page, err)
		}
		return page.Keys[0].LastUsedAt
	}
	use := func(times int) {
		var wg sync.WaitGroup
		for i := 0; i < times; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := usage.RecordUse(ctx, "acme", created.ID); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	first := f.clock.Now()
	use(20)
	if got := lastUsed(); got == nil || !got.Equal(first) || counted.Committed() != 1 {
		t.Fatalf("after 20 uses at once: last used %v, %d writes; want %v and 1 write", got, counted.Committed(), first)
	}
	f.clock.Advance(59 * time.Second)
	use(5)
	if got := lastUsed(); !got.Equal(first) || counted.Committed() != 1 {
		t.Fatalf("59 s later: last used %v, %d writes; want unchanged", got, counted.Committed())
	}
	f.clock.Advance(time.Second)
	use(5)
	if got := lastUsed(); !got.Equal(f.clock.Now()) || counted.Committed() != 2 {
		t.Fatalf("a minute later: last used %v, %d writes; want now and one more write", got, counted.Committed())
	}
	if _, err := f.resolve(created.Key); err != nil {
		t.Fatalf("recording a use broke the key: %v", err)
	}
	if err := usage.RecordUse(ctx, "other", created.ID); err != nil || counted.Committed() != 2 {
		t.Fatalf("another organization's use was recorded: %v, %d writes", err, counted.Committed())
	}
	if err := f.svc.Revoke(ctx, f.admin, created.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if err := usage.RecordUse(ctx, "acme", created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.table.Get(ctx, keys.APIKey("acme", created.ID)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("recording a use brought a revoked key back: %v", err)
	}
}

// TestResolverDecidesOnTheLookupItemAsItIsNow resolves keys one after the
// other, changing their lookup items in between: the resolver keeps decoded
// lookup items, and must still decide on the item as it is now.
func TestResolverDecidesOnTheLookupItemAsItIsNow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := principal.Principal{Kind: principal.HubUser, Org: "other", Subject: "01JOTHER000000000000000000", Plan: principal.Standard}
	expires := f.clock.Now().Add(time.Hour)
	acme := f.create(t, f.admin, apikeys.CreateInput{Name: "acme", Scopes: []string{apikeys.ScopeRunsStart}, ExpiresAt: &expires})
	theirs := f.create(t, other, apikeys.CreateInput{Name: "theirs", Scopes: []string{apikeys.ScopeRunsRead}})
	id, _, _ := apikeys.Parse(acme.Key)
	replacement := apikeys.Format(id, strings.Repeat("B", 43))
	// rehash stores the hash of replacement's secret in acme's lookup item,
	// at the same item version: a writer that did not raise the version.
	rehash := func(t *testing.T) {
		it, err := f.table.Get(ctx, keys.APIKeyLookup(id))
		if err != nil {
			t.Fatal(err)
		}
		var k apikeys.Key
		if err := json.Unmarshal(it.Data, &k); err != nil {
			t.Fatal(err)
		}
		_, secret, _ := apikeys.Parse(replacement)
		k.SecretSHA256 = apikeys.HashSecret(secret)
		if it.Data, err = json.Marshal(k); err != nil {
			t.Fatal(err)
		}
		if err := f.table.Write(ctx, storage.Put(it, storage.Condition{})); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		change  func(*testing.T) // before resolving; nil changes nothing
		key     string
		wantOrg string // "" = denied
	}{
		{"acme's key", nil, acme.Key, "acme"},
		{"acme's key again", nil, acme.Key, "acme"},
		{"the other organization's key", nil, theirs.Key, "other"},
		{"acme's key after the other's", nil, acme.Key, "acme"},
		{"its use recorded (a new item version)", func(t *testing.T) {
			if err := f.svc.RecordUse(ctx, "acme", acme.ID); err != nil {
				t.Fatal(err)
			}
		}, acme.Key, "acme"},
		{"the old secret once the stored hash changed", rehash, acme.Key, ""},
		{"the secret of the stored hash", nil, replacement, "acme"},
		{"past its expiry", func(*testing.T) { f.clock.Advance(time.Hour) }, replacement, ""},
		{"the other organization's key, revoked", func(t *testing.T) {
			if err := f.svc.Revoke(ctx, other, theirs.ID); err != nil {
				t.Fatal(err)
			}
		}, theirs.Key, ""},
	}
	for _, s := range steps {
		if s.change != nil {
			s.change(t)
		}
		p, err := f.resolve(s.key)
		if s.wantOrg == "" {
			if !errors.Is(err, authorizer.ErrDenied) {
				t.Fatalf("%s: %+v, %v; want a denial", s.name, p, err)
			}
			continue
		}
		if err != nil || p.Org != s.wantOrg {
			t.Fatalf("%s: %+v, %v; want a principal of %s", s.name, p, err, s.wantOrg)
		}
	}
}

// The resolver tells the function whether a use is due, from the "last
// used at" of the item it read: a never-used key, and one last recorded a
// minute ago or more, are due; one recorded within the minute is not.
func TestTheResolverSaysWhenAKeysUseIsDue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	created := f.create(t, f.admin, apikeys.CreateInput{Name: "ci", Scopes: []string{apikeys.ScopeRunsStart}})
	due := func() bool {
		t.Helper()
		p, err := f.resolve(created.Key)
		if err != nil {
			t.Fatal(err)
		}
		return p.UseDue
	}
	steps := []struct {
		name    string
		advance time.Duration
		record  bool // the function records the use before the next step
		want    bool
	}{
		{"never used", 0, true, true},
		{"just recorded", 0, false, false},
		{"59 s later", 59 * time.Second, false, false},
		{"a minute later", time.Second, true, true},
		{"recorded again", 0, false, false},
	}
	for _, s := range steps {
		f.clock.Advance(s.advance)
		if got := due(); got != s.want {
			t.Fatalf("%s: use due %v, want %v", s.name, got, s.want)
		}
		if s.record {
			if err := f.svc.RecordUse(ctx, "acme", created.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}
