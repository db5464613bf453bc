package sourcecontrol_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sourcecontrol"
	"github.com/integration-hub/hub/internal/web"
)

// azureDevOpsResource is the Azure DevOps application in Microsoft Entra ID,
// the resource provider.go's Azure DevOps scopes name.
const azureDevOpsResource = "499b84ac-1321-427f-aa17-267ca6975798"

// providerShape is how one provider answers the hub, as provider.go expects
// it: how its token endpoint takes the client's credentials, whether the
// flow carries PKCE, what the authorize URL asks for, the token answer and
// the identity answer, and what the hub must make of them.
type providerShape struct {
	name     string
	id       sourcecontrol.ProviderID
	display  string // the provider's name in the status
	envName  string // <P> in HUB_OAUTH_<P>_*
	basic    bool   // client credentials as HTTP Basic; otherwise client_id and client_secret form parameters
	pkce     bool   // S256 challenge at authorize, verifier at the token endpoint; both absent otherwise
	scope    string // the authorize URL's scope parameter; "" means no scope parameter at all
	refresh  bool   // the token answer carries a refresh token
	answer   func(w http.ResponseWriter, g *grant)
	identity map[string]any
	// what the status must show
	wantScopes        []string
	wantLogin, wantID string
}

// jsonAnswer writes a token endpoint's JSON answer.
func jsonAnswer(w http.ResponseWriter, fields map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(fields)
}

var providerShapes = []providerShape{
	{
		// An OAuth app: credentials as form parameters; the token answer is
		// form-encoded (no Accept: application/json is sent) with the
		// scopes comma-separated and no refresh token; the account is
		// "login" and its id a number.
		name: "github", id: sourcecontrol.GitHub, display: "GitHub", envName: "GITHUB",
		pkce: true, scope: "repo read:user",
		answer: func(w http.ResponseWriter, g *grant) {
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			_, _ = io.WriteString(w, url.Values{"access_token": {g.accessToken}, "scope": {"repo,read:user"}, "token_type": {"bearer"}}.Encode())
		},
		identity:   map[string]any{"login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "name": "monalisa octocat", "email": nil},
		wantScopes: []string{"repo", "read:user"}, wantLogin: "octocat", wantID: "1",
	},
	{
		// Credentials as form parameters; the answer's "scope" is
		// space-separated; the account is "username", not "name".
		name: "gitlab", id: sourcecontrol.GitLab, display: "GitLab", envName: "GITLAB",
		pkce: true, scope: "read_user read_repository write_repository", refresh: true,
		answer: func(w http.ResponseWriter, g *grant) {
			jsonAnswer(w, map[string]any{
				"access_token": g.accessToken, "token_type": "Bearer", "expires_in": 7200, "refresh_token": g.refreshToken,
				"scope": "read_user read_repository write_repository", "created_at": 1735689600,
			})
		},
		identity:   map[string]any{"id": 1, "username": "john_smith", "name": "John Smith", "state": "active", "locked": false},
		wantScopes: []string{"read_user", "read_repository", "write_repository"}, wantLogin: "john_smith", wantID: "1",
	},
	{
		// Credentials as HTTP Basic; no scope is asked for (the consumer's
		// scopes are granted) and the answer names them in "scopes"; the
		// account is "username" and its id the braced "uuid", not
		// "account_id".
		name: "bitbucket", id: sourcecontrol.Bitbucket, display: "Bitbucket", envName: "BITBUCKET",
		basic: true, pkce: true, refresh: true,
		answer: func(w http.ResponseWriter, g *grant) {
			jsonAnswer(w, map[string]any{
				"access_token": g.accessToken, "scopes": "account repository", "expires_in": 7200,
				"refresh_token": g.refreshToken, "token_type": "bearer", "state": "authorization_code",
			})
		},
		identity: map[string]any{
			"type": "user", "uuid": "{d301aafa-d676-4ee0-88be-962be7417567}", "account_id": "557058:c0b72ad0-1cb5-4018-9cdc-0cde8492c443",
			"username": "acme_dev", "nickname": "acme", "display_name": "Acme Developer", "account_status": "active",
		},
		wantScopes: []string{"account", "repository"}, wantLogin: "acme_dev", wantID: "{d301aafa-d676-4ee0-88be-962be7417567}",
	},
	{
		// A user object without "username" (Bitbucket's privacy changes
		// removed it from user objects): the account is the "nickname".
		name: "bitbucket without username", id: sourcecontrol.Bitbucket, display: "Bitbucket", envName: "BITBUCKET",
		basic: true, pkce: true, refresh: true,
		answer: func(w http.ResponseWriter, g *grant) {
			jsonAnswer(w, map[string]any{
				"access_token": g.accessToken, "scopes": "repository", "expires_in": 7200,
				"refresh_token": g.refreshToken, "token_type": "bearer", "state": "authorization_code",
			})
		},
		identity: map[string]any{
			"type": "user", "uuid": "{d301aafa-d676-4ee0-88be-962be7417567}", "account_id": "557058:c0b72ad0-1cb5-4018-9cdc-0cde8492c443",
			"nickname": "acme", "display_name": "Acme Developer",
		},
		wantScopes: []string{"repository"}, wantLogin: "acme", wantID: "{d301aafa-d676-4ee0-88be-962be7417567}",
	},
	{
		// Through Microsoft Entra ID: credentials as form parameters,
		// scopes naming the Azure DevOps resource plus offline_access;
		// the identity is Azure DevOps' profile, whose account is
		// "emailAddress" (before "displayName") and its id "id". The
		// profile URL carries api-version, which the fake requires.
		name: "azure devops", id: sourcecontrol.AzureDevOps, display: "Azure DevOps", envName: "AZURE_DEVOPS",
		pkce: true, scope: azureDevOpsResource + "/vso.code_write " + azureDevOpsResource + "/vso.profile offline_access", refresh: true,
		answer: func(w http.ResponseWriter, g *grant) {
			jsonAnswer(w, map[string]any{
				"token_type": "Bearer", "scope": azureDevOpsResource + "/vso.code_write " + azureDevOpsResource + "/vso.profile",
				"expires_in": 3599, "ext_expires_in": 3599, "access_token": g.accessToken, "refresh_token": g.refreshToken,
			})
		},
		identity: map[string]any{
			"displayName": "Ada Lovelace", "publicAlias": "8c8c7d32-6b1b-47f4-b2e9-30b477b5ab3d", "emailAddress": "ada@contoso.test",
			"coreRevision": 478326891, "timeStamp": "2025-03-14T09:26:53.59+00:00", "id": "8c8c7d32-6b1b-47f4-b2e9-30b477b5ab3d", "revision": 478326891,
		},
		wantScopes: []string{azureDevOpsResource + "/vso.code_write", azureDevOpsResource + "/vso.profile"},
		wantLogin:  "ada@contoso.test", wantID: "8c8c7d32-6b1b-47f4-b2e9-30b477b5ab3d",
	},
}

// shapedProvider is a local authorization server answering in one
// provider's shape at that provider's own paths (taken from the hub's
// default endpoints). It refuses the client authentication style the
// provider does not use, and checks PKCE both ways.
type shapedProvider struct {
	t                      *testing.T
	shape                  providerShape
	srv                    *httptest.Server
	clientID, clientSecret string
	authPath               string
	userQuery              url.Values

	mu                    sync.Mutex
	grants                map[string]*grant
	tokenCalls, userCalls int
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newShapedProvider starts the fake and answers the hub's configuration
// for it, read the way the function reads it (FromEnv): its client, its
// endpoints on the fake, and provider.go's default scopes.
func newShapedProvider(t *testing.T, shape providerShape) (*shapedProvider, sourcecontrol.Config) {
	t.Helper()
	sp := &shapedProvider{
		t: t, shape: shape, clientID: "client-" + random(t, 6), clientSecret: "secret-" + random(t, 12),
		grants: map[string]*grant{},
	}
	prefix := "HUB_OAUTH_" + shape.envName
	env := map[string]string{prefix + "_CLIENT_ID": sp.clientID, prefix + "_CLIENT_SECRET": sp.clientSecret}
	getenv := func(name string) string { return env[name] }
	defaults, err := sourcecontrol.FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	def := defaults.Providers[shape.id]
	auth, tok, user := mustParse(t, def.AuthURL), mustParse(t, def.TokenURL), mustParse(t, def.UserURL)
	sp.authPath, sp.userQuery = auth.Path, user.Query()

	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tok.Path, sp.token)
	mux.HandleFunc("GET "+user.Path, sp.user)
	sp.srv = httptest.NewServer(mux)
	t.Cleanup(sp.srv.Close)

	env[prefix+"_AUTH_URL"] = sp.srv.URL + auth.Path
	env[prefix+"_TOKEN_URL"] = sp.srv.URL + tok.Path
	env[prefix+"_USER_URL"] = sp.srv.URL + user.RequestURI()
	env[sourcecontrol.RedirectURLVariable] = callbackURL
	cfg, err := sourcecontrol.FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RequestTimeout = 2 * time.Second
	return sp, cfg
}

func (sp *shapedProvider) counts() (token, user int) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.tokenCalls, sp.userCalls
}

// authorize checks the hub's authorize URL as this provider would read it
// and issues a code.
func (sp *shapedProvider) authorize(authorizeURL string) (code, state string, g *grant) {
	t := sp.t
	t.Helper()
	u := mustParse(t, authorizeURL)
	if u.Scheme+"://"+u.Host+u.Path != sp.srv.URL+sp.authPath {
		t.Fatalf("authorize URL %s is not the provider's %s", authorizeURL, sp.authPath)
	}
	q := u.Query()
	for param, want := range map[string]string{"response_type": "code", "client_id": sp.clientID, "redirect_uri": callbackURL} {
		if got := q.Get(param); got != want {
			t.Fatalf("authorize URL has %s=%q, want %q", param, got, want)
		}
	}
	if q.Get("state") == "" {
		t.Fatal("authorize URL without a state")
	}
	switch {
	case sp.shape.scope == "" && q.Has("scope"):
		t.Fatalf("authorize URL asks for scope %q; this provider grants its consumer's scopes", q.Get("scope"))
	case sp.shape.scope != "" && q.Get("scope") != sp.shape.scope:
		t.Fatalf("authorize URL asks for scope %q, want %q", q.Get("scope"), sp.shape.scope)
	}
	if sp.shape.pkce {
		if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
			t.Fatalf("authorize URL lacks an S256 PKCE challenge: %s", authorizeURL)
		}
	} else if q.Has("code_challenge") || q.Has("code_challenge_method") {
		t.Fatalf("authorize URL carries PKCE to a provider without it: %s", authorizeURL)
	}
	code = "code-" + random(t, 16)
	g = &grant{clientID: sp.clientID, redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), accessToken: "at_" + random(t, 24)}
	if sp.shape.refresh {
		g.refreshToken = "rt_" + random(t, 24)
	}
	sp.mu.Lock()
	sp.grants[code] = g
	sp.mu.Unlock()
	return code, q.Get("state"), g
}

func (sp *shapedProvider) token(w http.ResponseWriter, r *http.Request) {
	sp.mu.Lock()
	sp.tokenCalls++
	sp.mu.Unlock()
	if err := r.ParseForm(); err != nil || len(r.URL.Query()) != 0 {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	_, inForm := r.PostForm["client_secret"]
	_, idInForm := r.PostForm["client_id"]
	basicID, basicSecret, basic := r.BasicAuth()
	var id, secret string
	if sp.shape.basic {
		// Basic only: a secret in the body, or no Basic header, is refused.
		if !basic || inForm || idInForm {
			oauthError(w, http.StatusUnauthorized, "invalid_client")
			return
		}
		id, _ = url.QueryUnescape(basicID)
		secret, _ = url.QueryUnescape(basicSecret)
	} else {
		// Form parameters only: any Authorization header is refused.
		if r.Header.Get("Authorization") != "" {
			oauthError(w, http.StatusUnauthorized, "invalid_client")
			return
		}
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != sp.clientID || secret != sp.clientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	g, ok := redeem(w, r, &sp.mu, sp.grants)
	if !ok {
		return
	}
	if sp.shape.pkce {
		if !pkceMatches(r.PostForm.Get("code_verifier"), g.challenge) {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
	} else if r.PostForm.Has("code_verifier") {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	sp.shape.answer(w, g)
}

func (sp *shapedProvider) user(w http.ResponseWriter, r *http.Request) {
	sp.mu.Lock()
	sp.userCalls++
	var found bool
	for _, g := range sp.grants {
		if g.used && r.Header.Get("Authorization") == "Bearer "+g.accessToken {
			found = true
		}
	}
	sp.mu.Unlock()
	for k := range sp.userQuery {
		if r.URL.Query().Get(k) != sp.userQuery.Get(k) {
			http.Error(w, `{"message":"missing `+k+`"}`, http.StatusBadRequest)
			return
		}
	}
	if !found {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"message":"unauthorized"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sp.shape.identity)
}

// newShapedFixture is newFixture's area configured with cfg instead of the
// GitHub-shaped local provider.
func newShapedFixture(t *testing.T, cfg sourcecontrol.Config) *fixture {
	t.Helper()
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, table: embeddedTable(t), keyring: keyring, now: time.Now().UTC()}
	f.svc = sourcecontrol.New(f.table, keyring, frontEnd+"/", cfg, func() time.Time { return f.now })
	f.router = web.NewRouter(web.NewLogger(&f.logs, "source-control"))
	sourcecontrol.Routes(f.router, f.svc)
	return f
}

func TestEveryProviderConnectsInItsOwnShape(t *testing.T) {
	for _, shape := range providerShapes {
		t.Run(shape.name, func(t *testing.T) {
			sp, cfg := newShapedProvider(t, shape)
			if len(cfg.Providers) != 1 {
				t.Fatalf("configured %d providers, want %s only", len(cfg.Providers), shape.id)
			}
			f := newShapedFixture(t, cfg)
			admin := f.newOrg()

			before, _ := f.status(admin)
			for _, p := range before.Providers {
				if p.Configured != (p.ID == shape.id) {
					t.Fatalf("providers %+v, want %s alone configured", before.Providers, shape.id)
				}
			}

			// connect
			r := f.serve("POST", "/source-control/connect", "", `{"provider":"`+string(shape.id)+`"}`, nil, &admin)
			if r.status != 200 {
				t.Fatalf("connect: %d %s", r.status, r.body)
			}
			var a sourcecontrol.Authorization
			if err := json.Unmarshal([]byte(r.body), &a); err != nil || a.Provider != shape.id {
				t.Fatalf("connect answered %s (%v)", r.body, err)
			}
			code, state, g := sp.authorize(a.AuthorizeURL)

			// the browser's callback
			landing := f.callback(url.Values{"code": {code}, "state": {state}})
			if landing.Query().Get("connected") != string(shape.id) || landing.Query().Has("error") {
				t.Fatalf("landing %s, want ?connected=%s; logs:\n%s", landing, shape.id, f.logs.String())
			}
			if tokenCalls, userCalls := sp.counts(); tokenCalls != 1 || userCalls != 1 {
				t.Fatalf("token endpoint called %d times, identity endpoint %d, want 1 and 1", tokenCalls, userCalls)
			}

			// status
			after, sr := f.status(admin)
			c := after.Connection
			if !after.Connected || c == nil {
				t.Fatalf("not connected: %s", sr.body)
			}
			if c.Provider != shape.id || c.ProviderName != shape.display || c.AccountLogin != shape.wantLogin || c.AccountID != shape.wantID || c.ConnectedBy != admin.Subject {
				t.Fatalf("connection %+v, want %s (%s) account %q id %q", c, shape.id, shape.display, shape.wantLogin, shape.wantID)
			}
			if !slices.Equal(c.Scopes, shape.wantScopes) || !c.ConnectedAt.Equal(f.now) {
				t.Fatalf("scopes %q connected at %v, want %q at %v", c.Scopes, c.ConnectedAt, shape.wantScopes, f.now)
			}
			var doc struct {
				Connection map[string]json.RawMessage `json:"connection"`
			}
			if err := json.Unmarshal([]byte(sr.body), &doc); err != nil {
				t.Fatal(err)
			}
			for _, field := range []string{"provider", "account_login", "scopes", "connected_at"} {
				if _, ok := doc.Connection[field]; !ok {
					t.Errorf("the status has no %q: %s", field, sr.body)
				}
			}

			// the tokens: sealed, opened to what the provider issued, never shown
			it, ok := f.rawConnection(admin)
			if !ok {
				t.Fatal("no connection item")
			}
			opened, err := f.svc.Connection(context.Background(), admin.Org, "")
			if err != nil {
				t.Fatal(err)
			}
			if opened.Token.AccessToken != g.accessToken || opened.Token.RefreshToken != g.refreshToken {
				t.Fatal("the sealed tokens did not open to what the provider issued")
			}
			issued := []string{g.accessToken, code, sp.clientSecret}
			if g.refreshToken != "" {
				issued = append(issued, g.refreshToken)
			}
			for _, s := range issued {
				if strings.Contains(string(it.Data), s) {
					t.Fatalf("the stored item holds %q in the clear", s)
				}
			}
			f.assertNeverShown(issued...)
			f.assertNotLogged(state)

			// The fake does refuse the other authentication style, so the
			// exchange above passed only in this provider's own style.
			form := url.Values{"grant_type": {"authorization_code"}, "code": {"unused"}, "redirect_uri": {callbackURL}}
			if !shape.basic {
				req, _ := http.NewRequest("POST", cfg.Providers[shape.id].TokenURL, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(sp.clientID, sp.clientSecret)
				assertInvalidClient(t, req)
			} else {
				form.Set("client_id", sp.clientID)
				form.Set("client_secret", sp.clientSecret)
				req, _ := http.NewRequest("POST", cfg.Providers[shape.id].TokenURL, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				assertInvalidClient(t, req)
			}
		})
	}
}

func assertInvalidClient(t *testing.T, req *http.Request) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusUnauthorized || e.Error != "invalid_client" {
		t.Fatalf("the fake took the wrong client authentication style: %d %q", resp.StatusCode, e.Error)
	}
}
