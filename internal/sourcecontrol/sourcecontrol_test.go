package sourcecontrol_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sourcecontrol"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/users"
	"github.com/integration-hub/hub/internal/web"
)

const (
	frontEnd    = "https://hub.test"
	callbackURL = "https://api.hub.test/source-control/callback"
	apiDomain   = "api.hub.test"
)

// fixture is the area on an embedded table, served the way API Gateway
// serves it (V2 events through the Lambda adapter), with a clock the test
// moves and every response and log line kept so a test can look for a
// secret in them.
type fixture struct {
	t        *testing.T
	table    storage.Table
	keyring  *secrets.Keyring
	provider *localProvider
	now      time.Time
	svc      *sourcecontrol.Service
	router   *web.Router
	logs     bytes.Buffer
	seen     []string
}

func embeddedTable(t *testing.T) storage.Table { return testenv.EmbeddedTable(t) }

// newFixture configures the local provider as GitHub; GitLab, Bitbucket and
// Azure DevOps stay unconfigured.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, table: embeddedTable(t), keyring: keyring, provider: newLocalProvider(t), now: time.Now().UTC()}
	cfg := sourcecontrol.Config{
		Providers:      map[sourcecontrol.ProviderID]sourcecontrol.ProviderConfig{sourcecontrol.GitHub: f.provider.config()},
		RedirectURL:    callbackURL,
		RequestTimeout: 250 * time.Millisecond,
	}
	f.svc = sourcecontrol.New(f.table, keyring, frontEnd+"/", cfg, func() time.Time { return f.now })
	f.router = web.NewRouter(web.NewLogger(&f.logs, "source-control"))
	sourcecontrol.Routes(f.router, f.svc)
	return f
}

// newOrg creates an organization; its administrator is the hub user who
// acts for it.
func (f *fixture) newOrg() principal.Principal {
	f.t.Helper()
	created, err := operator.Create(context.Background(), f.table,
		operator.CreateInput{Name: "Acme", Plan: principal.Standard, AdminEmail: "admin-" + strings.ToLower(ids.New()) + "@acme.test"},
		users.Links{Base: frontEnd}, f.keyring.Box("outbox"), f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	return principal.Principal{Kind: principal.HubUser, Org: created.Org.ID, Subject: created.AdminID, Plan: principal.Standard}
}

// newPartnerUser adds an active partner organization with one active user.
func (f *fixture) newPartnerUser(org principal.Principal) principal.Principal {
	f.t.Helper()
	pt := users.Partner{ID: ids.New(), Org: org.Org, Name: "Partner " + ids.New(), Status: users.PartnerActive, CreatedAt: f.now, CreatedBy: org.Subject}
	u := users.User{ID: ids.New(), Org: org.Org, Email: strings.ToLower(ids.New()) + "@partner.test", Role: users.RolePartnerUser, Partner: pt.ID, Status: users.Active, CreatedAt: f.now}
	ptItem, err := pt.Item(1)
	if err != nil {
		f.t.Fatal(err)
	}
	ops, err := u.PutOps(1, storage.Absent())
	if err != nil {
		f.t.Fatal(err)
	}
	ops = append(ops, storage.Put(ptItem, storage.Absent()), storage.Put(u.GuardItem(), storage.Absent()))
	if err := f.table.Write(context.Background(), ops...); err != nil {
		f.t.Fatal(err)
	}
	return principal.Principal{Kind: principal.PartnerUser, Org: org.Org, Subject: u.ID, Partner: pt.ID, Plan: principal.Standard}
}

type response struct {
	status  int
	headers map[string]string
	body    string
	problem web.Problem
}

// header reads a response header by its name in any case.
func (r response) header(name string) string {
	for k, v := range r.headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// serve sends one request through the router behind the Lambda V2 adapter;
// caller nil is a request without an authorizer context (a public route).
func (f *fixture) serve(method, path, rawQuery, body string, headers map[string]string, caller *principal.Principal) response {
	f.t.Helper()
	if headers == nil {
		headers = map[string]string{}
	}
	if body != "" {
		headers["content-type"] = "application/json"
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: method + " " + path, RawPath: path, RawQueryString: rawQuery, Headers: headers, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-" + ids.New(), DomainName: apiDomain, Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
	if caller != nil {
		b, _ := json.Marshal(caller.Context())
		var lambdaContext map[string]any
		_ = json.Unmarshal(b, &lambdaContext)
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambdaContext}
	}
	out, err := httpadapter.NewV2(f.router).ProxyWithContext(context.Background(), ev)
	if err != nil {
		f.t.Fatal(err)
	}
	r := response{status: out.StatusCode, headers: out.Headers, body: out.Body}
	_ = json.Unmarshal([]byte(out.Body), &r.problem)
	raw, _ := json.Marshal(out)
	f.seen = append(f.seen, string(raw))
	return r
}

func (f *fixture) status(p principal.Principal) (sourcecontrol.StatusView, response) {
	f.t.Helper()
	r := f.serve("GET", "/source-control", "", "", nil, &p)
	if r.status != 200 {
		f.t.Fatalf("GET /source-control: %d %s", r.status, r.body)
	}
	var v sourcecontrol.StatusView
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		f.t.Fatal(err)
	}
	return v, r
}

func (f *fixture) connect(p principal.Principal) string {
	f.t.Helper()
	r := f.serve("POST", "/source-control/connect", "", `{"provider":"github"}`, nil, &p)
	if r.status != 200 {
		f.t.Fatalf("connect: %d %s", r.status, r.body)
	}
	var a sourcecontrol.Authorization
	if err := json.Unmarshal([]byte(r.body), &a); err != nil {
		f.t.Fatal(err)
	}
	return a.AuthorizeURL
}

// callback is the browser's return from the provider; it answers the
// front-end URL the hub redirected to.
func (f *fixture) callback(query url.Values) *url.URL {
	f.t.Helper()
	r := f.serve("GET", "/source-control/callback", query.Encode(), "", nil, nil)
	if r.status != 303 {
		f.t.Fatalf("callback: %d %s, want 303", r.status, r.body)
	}
	loc, err := url.Parse(r.header("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != frontEnd+"/settings/source-control" {
		f.t.Fatalf("callback redirected to %q", r.header("Location"))
	}
	return loc
}

// signIn runs the whole flow for p as the provider account login.
func (f *fixture) signIn(p principal.Principal, login string) (*grant, *url.URL) {
	f.t.Helper()
	code, state, g := f.provider.authorize(f.connect(p), login)
	return g, f.callback(url.Values{"code": {code}, "state": {state}})
}

func (f *fixture) rawConnection(p principal.Principal) (storage.Item, bool) {
	f.t.Helper()
	partner := ""
	if p.Kind == principal.PartnerUser {
		partner = p.Partner
	}
	it, err := f.table.Get(context.Background(), keys.SourceConnection(p.Org, partner))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Item{}, false
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return it, true
}

// assertNeverShown checks that no response, header or log line carried a
// secret.
func (f *fixture) assertNeverShown(secrets ...string) {
	f.t.Helper()
	f.assertNotLogged(secrets...)
	for _, s := range secrets {
		for _, r := range f.seen {
			if strings.Contains(r, s) {
				f.t.Errorf("a response carries the secret %q: %s", s, r)
			}
		}
	}
}

// assertNotLogged checks that no log line carried a secret. The state is
// in the connect answer's authorize URL by design, so it is only checked
// here.
func (f *fixture) assertNotLogged(secrets ...string) {
	f.t.Helper()
	logs := f.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			f.t.Errorf("a log line carries the secret %q", s)
		}
	}
}

func TestConnectingShowsTheAccountAndKeepsTheTokensSealed(t *testing.T) {
	f := newFixture(t)
	admin := f.newOrg()

	before, _ := f.status(admin)
	if before.Connected || before.Connection != nil {
		t.Fatalf("a new organization is connected: %+v", before)
	}
	configured := map[sourcecontrol.ProviderID]bool{}
	for _, p := range before.Providers {
		configured[p.ID] = p.Configured
	}
	want := map[sourcecontrol.ProviderID]bool{sourcecontrol.GitHub: true, sourcecontrol.GitLab: false, sourcecontrol.Bitbucket: false, sourcecontrol.AzureDevOps: false}
	if fmt.Sprint(configured) != fmt.Sprint(want) {
		t.Fatalf("providers = %v, want %v", configured, want)
	}

	authorizeURL := f.connect(admin)
	q, _ := url.Parse(authorizeURL)
	if got := q.Query().Get("redirect_uri"); got != callbackURL {
		t.Fatalf("redirect_uri = %q, want %q", got, callbackURL)
	}
	code, state, g := f.provider.authorize(authorizeURL, "octocat")
	if len(state) != 43 {
		t.Fatalf("state %q is not 32 random bytes in base64url", state)
	}
	landing := f.callback(url.Values{"code": {code}, "state": {state}})
	if landing.Query().Get("connected") != "github" || landing.Query().Get("error") != "" {
		t.Fatalf("landing %s, want ?connected=github", landing)
	}

	after, r := f.status(admin)
	c := after.Connection
	if !after.Connected || c == nil || c.Provider != sourcecontrol.GitHub || c.AccountLogin != "octocat" || c.AccountID != "583231" || c.ConnectedBy != admin.Subject {
		t.Fatalf("status after connecting = %+v %+v", after, c)
	}
	if strings.Join(c.Scopes, " ") != "repo read:user" || !c.ConnectedAt.Equal(f.now) {
		t.Fatalf("scopes %v connected at %v", c.Scopes, c.ConnectedAt)
	}
	if r.header("ETag") != `"v1"` {
		t.Fatalf("ETag %q, want \"v1\"", r.header("ETag"))
	}

	it, ok := f.rawConnection(admin)
	if !ok {
		t.Fatal("no connection item")
	}
	if it.Key != keys.SourceConnection(admin.Org, "") || it.Key.SK != "SOURCE#org" {
		t.Fatalf("connection stored at %s", it.Key)
	}
	for _, secret := range []string{g.accessToken, g.refreshToken} {
		if bytes.Contains(it.Data, []byte(secret)) {
			t.Fatalf("the stored item holds the token %q in the clear: %s", secret, it.Data)
		}
	}
	opened, err := f.svc.Connection(context.Background(), admin.Org, "")
	if err != nil {
		t.Fatal(err)
	}
	if opened.Token.AccessToken != g.accessToken || opened.Token.RefreshToken != g.refreshToken {
		t.Fatalf("the sealed tokens did not open to what the provider issued")
	}
	if _, err := f.table.Get(context.Background(), keys.OAuthState(hashHex(state))); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the state outlived its callback: %v", err)
	}
	f.assertNeverShown(g.accessToken, g.refreshToken, code, f.provider.clientSecret)
	f.assertNotLogged(state)
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSealedTokensOpenOnlyUnderTheirOwnConnectionKey(t *testing.T) {
	f := newFixture(t)
	victim, thief := f.newOrg(), f.newOrg()
	f.signIn(victim, "octocat")
	it, _ := f.rawConnection(victim)
	it.Key = keys.SourceConnection(thief.Org, "")
	if err := f.table.Write(context.Background(), storage.Put(it, storage.Absent())); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Connection(context.Background(), thief.Org, ""); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("a sealed token copied to another organization opened: %v", err)
	}
}

func TestCallbackFailuresRedirectWithAnErrorAndConnectNothing(t *testing.T) {
	cases := []struct {
		name           string
		token          tokenMode
		user           userMode
		query          func(code, state string) url.Values
		wantError      string
		wantTokenCalls int
	}{
		{"token endpoint answers an error document", tokenErrorJSON, userOK, nil, "token_exchange_failed", 1},
		{"token endpoint answers 200 with an error document", tokenErrorWith200, userOK, nil, "token_exchange_failed", 1},
		{"token endpoint answers 500, retried once", tokenServerError, userOK, nil, "provider_unavailable", 2},
		{"token endpoint hangs past the timeout, retried once", tokenHang, userOK, nil, "provider_unavailable", 2},
		{"identity endpoint refuses the token", tokenOK, userUnauthorized, nil, "account_lookup_failed", 1},
		{"identity endpoint answers 500", tokenOK, userServerError, nil, "provider_unavailable", 1},
		{"person declines at the provider", tokenOK, userOK, func(_, state string) url.Values {
			return url.Values{"error": {"access_denied"}, "error_description": {"The user has denied your application access."}, "state": {state}}
		}, "access_denied", 0},
		{"provider reports another error", tokenOK, userOK, func(_, state string) url.Values {
			return url.Values{"error": {"invalid_scope"}, "state": {state}}
		}, "authorization_failed", 0},
		{"callback without a code", tokenOK, userOK, func(_, state string) url.Values {
			return url.Values{"state": {state}}
		}, "missing_code", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			admin := f.newOrg()
			f.provider.set(tc.token, tc.user)
			code, state, g := f.provider.authorize(f.connect(admin), "octocat")
			query := url.Values{"code": {code}, "state": {state}}
			if tc.query != nil {
				query = tc.query(code, state)
			}
			started := time.Now()
			landing := f.callback(query)
			if got := landing.Query().Get("error"); got != tc.wantError || landing.Query().Has("connected") {
				t.Fatalf("landing %s, want ?error=%s", landing, tc.wantError)
			}
			if elapsed := time.Since(started); elapsed > 2*time.Second {
				t.Fatalf("the callback took %v; the client's timeout did not hold", elapsed)
			}
			if got := f.provider.calls(); got != tc.wantTokenCalls {
				t.Fatalf("token endpoint called %d times, want %d", got, tc.wantTokenCalls)
			}
			if _, ok := f.rawConnection(admin); ok {
				t.Fatal("a failed callback wrote a connection")
			}
			f.provider.set(tokenOK, userOK)
			if again := f.callback(query); again.Query().Get("error") != "invalid_state" {
				t.Fatalf("the state survived a failed callback: %s", again)
			}
			f.assertNeverShown(g.accessToken, g.refreshToken, code, f.provider.clientSecret)
			f.assertNotLogged(state)
		})
	}
}

func TestATransientTokenFailureIsRetriedOnce(t *testing.T) {
	f := newFixture(t)
	admin := f.newOrg()
	f.provider.set(tokenFailOnce, userOK)
	if _, landing := f.signIn(admin, "octocat"); landing.Query().Get("connected") != "github" {
		t.Fatalf("landing %s after one 500, want connected", landing)
	}
	if got := f.provider.calls(); got != 2 {
		t.Fatalf("token endpoint called %d times, want 2", got)
	}
}

func TestAStateWorksOnceBeforeItExpiresAndOnlyForItsPrincipal(t *testing.T) {
	f := newFixture(t)
	acme, globex := f.newOrg(), f.newOrg()

	t.Run("replay", func(t *testing.T) {
		code, state, _ := f.provider.authorize(f.connect(acme), "acme-bot")
		if l := f.callback(url.Values{"code": {code}, "state": {state}}); l.Query().Get("connected") != "github" {
			t.Fatalf("first callback: %s", l)
		}
		first, _ := f.rawConnection(acme)
		calls := f.provider.calls()
		if l := f.callback(url.Values{"code": {code}, "state": {state}}); l.Query().Get("error") != "invalid_state" {
			t.Fatalf("replayed callback: %s", l)
		}
		if f.provider.calls() != calls {
			t.Fatal("a replayed state reached the token endpoint")
		}
		again, _ := f.rawConnection(acme)
		if again.Version != first.Version || !bytes.Equal(again.Data, first.Data) {
			t.Fatal("a replayed state changed the connection")
		}
	})

	t.Run("expired", func(t *testing.T) {
		code, state, _ := f.provider.authorize(f.connect(globex), "globex-bot")
		f.now = f.now.Add(sourcecontrol.StateTTL + time.Second)
		defer func() { f.now = f.now.Add(-sourcecontrol.StateTTL - time.Second) }()
		if l := f.callback(url.Values{"code": {code}, "state": {state}}); l.Query().Get("error") != "invalid_state" {
			t.Fatalf("expired state: %s", l)
		}
		if _, ok := f.rawConnection(globex); ok {
			t.Fatal("an expired state connected")
		}
	})

	t.Run("malformed or unknown", func(t *testing.T) {
		for _, state := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("A", 44)} {
			if l := f.callback(url.Values{"code": {"c"}, "state": {state}}); l.Query().Get("error") != "invalid_state" {
				t.Fatalf("state %q: %s", state, l)
			}
		}
	})

	t.Run("another principal's code", func(t *testing.T) {
		_, globexState, _ := f.provider.authorize(f.connect(globex), "globex-bot")
		acmeCode, _, _ := f.provider.authorize(f.connect(acme), "mallory")
		// Globex's state with the code Acme's sign-in produced: the PKCE
		// verifier stored with Globex's state does not match Acme's
		// challenge, so the provider refuses and nothing moves.
		if l := f.callback(url.Values{"code": {acmeCode}, "state": {globexState}}); l.Query().Get("error") != "token_exchange_failed" {
			t.Fatalf("crossed callback: %s", l)
		}
		if _, ok := f.rawConnection(globex); ok {
			t.Fatal("a code from another organization's sign-in connected Globex")
		}
		v, _ := f.status(acme)
		if v.Connection == nil || v.Connection.AccountLogin != "acme-bot" {
			t.Fatalf("Acme's connection changed: %+v", v.Connection)
		}
	})

	t.Run("lands in the organization that started it", func(t *testing.T) {
		f.signIn(globex, "globex-bot")
		g, _ := f.status(globex)
		a, _ := f.status(acme)
		if g.Connection.AccountLogin != "globex-bot" || a.Connection.AccountLogin != "acme-bot" {
			t.Fatalf("globex %+v, acme %+v", g.Connection, a.Connection)
		}
	})
}

func TestConcurrentCallbacksWithOneStateConnectOnce(t *testing.T) {
	f := newFixture(t)
	admin := f.newOrg()
	code, state, _ := f.provider.authorize(f.connect(admin), "octocat")
	results := make([]error, 12)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, results[i] = f.svc.Callback(context.Background(), sourcecontrol.CallbackInput{Code: code, State: state})
		}(i)
	}
	wg.Wait()
	connected := 0
	for _, err := range results {
		var ce *sourcecontrol.CallbackError
		switch {
		case err == nil:
			connected++
		case errors.As(err, &ce) && ce.Code == sourcecontrol.CodeInvalidState:
		default:
			t.Errorf("unexpected outcome: %v", err)
		}
	}
	if connected != 1 || f.provider.calls() != 1 {
		t.Fatalf("%d callbacks connected and the code was exchanged %d times, want 1 and 1", connected, f.provider.calls())
	}
	if it, ok := f.rawConnection(admin); !ok || it.Version != 1 {
		t.Fatalf("connection %+v after racing callbacks", it)
	}
}

func TestPartnerUsersConnectOnlyTheirOwnPartner(t *testing.T) {
	f := newFixture(t)
	admin := f.newOrg()
	one, two := f.newPartnerUser(admin), f.newPartnerUser(admin)

	f.signIn(admin, "acme-org")
	if _, l := f.signIn(one, "partner-one"); l.Query().Get("connected") != "github" {
		t.Fatalf("partner sign-in: %s", l)
	}
	it, _ := f.rawConnection(one)
	if it.Key.SK != "SOURCE#P#"+one.Partner {
		t.Fatalf("partner connection stored at %s", it.Key)
	}
	for _, tc := range []struct {
		who       principal.Principal
		wantLogin string
	}{{admin, "acme-org"}, {one, "partner-one"}, {two, ""}} {
		v, _ := f.status(tc.who)
		got := ""
		if v.Connection != nil {
			got = v.Connection.AccountLogin
		}
		if got != tc.wantLogin {
			t.Errorf("%s %s sees %q, want %q", tc.who.Kind, tc.who.Partner, got, tc.wantLogin)
		}
	}
	if r := f.serve("DELETE", "/source-control", "", "", map[string]string{"if-match": `"v1"`}, &two); r.status != 404 || r.problem.Code != "not_connected" {
		t.Fatalf("partner two disconnected something: %d %s", r.status, r.body)
	}
	if r := f.serve("DELETE", "/source-control", "", "", map[string]string{"if-match": `"v1"`}, &one); r.status != 204 {
		t.Fatalf("partner one disconnect: %d %s", r.status, r.body)
	}
	if v, _ := f.status(admin); v.Connection == nil || v.Connection.AccountLogin != "acme-org" {
		t.Fatalf("a partner's disconnect touched the organization's connection: %+v", v)
	}
}

func TestReconnectReplacesTheConnectionAndDisconnectNeedsTheCurrentVersion(t *testing.T) {
	f := newFixture(t)
	admin := f.newOrg()
	first, _ := f.signIn(admin, "old-account")
	second, _ := f.signIn(admin, "new-account")
	v, r := f.status(admin)
	if v.Connection.AccountLogin != "new-account" || r.header("ETag") != `"v2"` {
		t.Fatalf("after reconnecting: %+v ETag %s", v.Connection, r.header("ETag"))
	}
	opened, err := f.svc.Connection(context.Background(), admin.Org, "")
	if err != nil || opened.Token.AccessToken != second.accessToken {
		t.Fatalf("the reconnect kept the old tokens: %v", err)
	}
	for _, tc := range []struct {
		name, ifMatch string
		status        int
		code          string
	}{
		{"without If-Match", "", 428, "if_match_required"},
		{"with the version before the reconnect", `"v1"`, 412, "stale_version"},
		{"with the current version", `"v2"`, 204, ""},
		{"once disconnected", `"v2"`, 404, "not_connected"},
	} {
		headers := map[string]string{}
		if tc.ifMatch != "" {
			headers["if-match"] = tc.ifMatch
		}
		if r := f.serve("DELETE", "/source-control", "", "", headers, &admin); r.status != tc.status || r.problem.Code != tc.code {
			t.Fatalf("%s: %d %q, want %d %q", tc.name, r.status, r.problem.Code, tc.status, tc.code)
		}
	}
	if v, _ := f.status(admin); v.Connected {
		t.Fatal("still connected after disconnecting")
	}
	f.assertNeverShown(first.accessToken, first.refreshToken, second.accessToken, second.refreshToken)
}

func TestAConnectionNeedsTheUserWhoStartedIt(t *testing.T) {
	f := newFixture(t)
	admin := f.newOrg()
	partnerUser := f.newPartnerUser(admin)
	code, state, _ := f.provider.authorize(f.connect(partnerUser), "leaver")
	if err := f.table.Write(context.Background(), storage.Delete(keys.User(partnerUser.Org, partnerUser.Subject), storage.Present())); err != nil {
		t.Fatal(err)
	}
	if l := f.callback(url.Values{"code": {code}, "state": {state}}); l.Query().Get("error") != "user_removed" {
		t.Fatalf("landing %s, want ?error=user_removed", l)
	}
	if _, ok := f.rawConnection(partnerUser); ok {
		t.Fatal("a removed user's sign-in connected")
	}
}

func TestRoutesAnswerAProblemForEveryBadRequest(t *testing.T) {
	f := newFixture(t)
	admin := f.newOrg()
	pending := f.newPartnerUser(admin)
	pending.PartnerPending = true
	apiKey := principal.Principal{Kind: principal.APIKey, Org: admin.Org, Subject: "k1", Plan: principal.Standard}
	cases := []struct {
		name         string
		method, path string
		body         string
		headers      map[string]string
		caller       *principal.Principal
		status       int
		code, field  string
	}{
		{"connect without a provider", "POST", "/source-control/connect", `{}`, nil, &admin, 400, "provider_required", "provider"},
		{"connect to an unknown provider", "POST", "/source-control/connect", `{"provider":"svn"}`, nil, &admin, 400, "unknown_provider", "provider"},
		{"connect to an unconfigured provider", "POST", "/source-control/connect", `{"provider":"gitlab"}`, nil, &admin, 400, "provider_not_configured", "provider"},
		{"connect with an unknown field", "POST", "/source-control/connect", `{"provider":"github","org":"other"}`, nil, &admin, 400, "unknown_field", "org"},
		{"connect with a provider of the wrong type", "POST", "/source-control/connect", `{"provider":1}`, nil, &admin, 400, "wrong_type", "provider"},
		{"connect without a body", "POST", "/source-control/connect", ``, nil, &admin, 400, "empty_body", ""},
		{"disconnect with a malformed If-Match", "DELETE", "/source-control", ``, map[string]string{"if-match": "*"}, &admin, 412, "stale_version", ""},
		{"status without a principal", "GET", "/source-control", ``, nil, nil, 401, "unauthenticated", ""},
		{"status for an API key", "GET", "/source-control", ``, nil, &apiKey, 403, "forbidden_principal", ""},
		{"connect for a pending partner user", "POST", "/source-control/connect", `{"provider":"github"}`, nil, &pending, 403, "partner_form_pending", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.serve(tc.method, tc.path, "", tc.body, tc.headers, tc.caller)
			if r.status != tc.status || r.problem.Code != tc.code || r.problem.Field != tc.field {
				t.Fatalf("got %d %q field %q (%s), want %d %q field %q", r.status, r.problem.Code, r.problem.Field, r.body, tc.status, tc.code, tc.field)
			}
			if r.header("Content-Type") != "application/problem+json" {
				t.Fatalf("Content-Type %q", r.header("Content-Type"))
			}
		})
	}
}

func TestWithoutAConfiguredCallbackURLTheAPIDomainIsUsed(t *testing.T) {
	f := newFixture(t)
	admin := f.newOrg()
	svc := sourcecontrol.New(f.table, f.keyring, frontEnd, sourcecontrol.Config{
		Providers: map[sourcecontrol.ProviderID]sourcecontrol.ProviderConfig{sourcecontrol.GitHub: f.provider.config()},
	}, time.Now)
	a, err := svc.Connect(context.Background(), admin, sourcecontrol.ConnectInput{Provider: "github"}, "abc123.execute-api.eu-west-1.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(a.AuthorizeURL)
	if got := u.Query().Get("redirect_uri"); got != "https://abc123.execute-api.eu-west-1.amazonaws.com/source-control/callback" {
		t.Fatalf("redirect_uri %q", got)
	}
	if _, err := svc.Connect(context.Background(), admin, sourcecontrol.ConnectInput{Provider: "github"}, ""); err == nil || web.ProblemFor(err).Status != 500 {
		t.Fatalf("no callback URL at all: %v", err)
	}
}
