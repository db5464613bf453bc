package prooftest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fixture's OAuth client at the local provider.
const (
	oauthClientID     = "proof-client"
	oauthClientSecret = "proof-secret"
	// OAuthLogin is the provider account of every sign-in to the local
	// provider.
	OAuthLogin = "proof-octocat"
)

// localProvider is an OAuth 2.0 provider with PKCE on loopback, standing in
// for GitHub so that Source Control can really connect an organization (the
// callback and disconnecting need one). Its sign-in page signs OAuthLogin
// in at once, as a browser already signed in to an app it already
// authorized, and sends the browser back to the redirect URI with a code;
// its token and user endpoints answer as GitHub's do.
type localProvider struct {
	mu sync.Mutex
	// grants are the issued codes, each spent by its first exchange.
	grants map[string]*oauthGrant
	// tokens are the access tokens issued.
	tokens map[string]bool
}

type oauthGrant struct {
	redirectURI, challenge string
	spent                  bool
}

// githubEnv starts a local provider for the test and configures Source
// Control's GitHub provider on it (closed with t.Cleanup).
func githubEnv(t testing.TB) map[string]string {
	t.Helper()
	p := &localProvider{grants: map[string]*oauthGrant{}, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", p.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", p.token)
	mux.HandleFunc("GET /user", p.user)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return map[string]string{
		"HUB_OAUTH_GITHUB_CLIENT_ID":     oauthClientID,
		"HUB_OAUTH_GITHUB_CLIENT_SECRET": oauthClientSecret,
		"HUB_OAUTH_GITHUB_AUTH_URL":      srv.URL + "/login/oauth/authorize",
		"HUB_OAUTH_GITHUB_TOKEN_URL":     srv.URL + "/login/oauth/access_token",
		"HUB_OAUTH_GITHUB_USER_URL":      srv.URL + "/user",
		"HUB_OAUTH_REDIRECT_URL":         "https://api.hub.test/source-control/callback",
	}
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func (p *localProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || back.Host == "" || q.Get("response_type") != "code" || q.Get("client_id") != oauthClientID ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	p.mu.Lock()
	p.grants[code] = &oauthGrant{redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
	p.mu.Unlock()
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges a code once, for the client it was issued to, with the
// redirect URI and the PKCE verifier of its sign-in.
func (p *localProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	f := r.PostForm
	if f.Get("client_id") != oauthClientID || f.Get("client_secret") != oauthClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	p.mu.Lock()
	g, ok := p.grants[f.Get("code")]
	valid := ok && !g.spent && f.Get("grant_type") == "authorization_code" && g.redirectURI == f.Get("redirect_uri") &&
		g.challenge == base64.RawURLEncoding.EncodeToString(sum[:])
	if ok {
		g.spent = true
	}
	access := rand.Text()
	if valid {
		p.tokens[access] = true
	}
	p.mu.Unlock()
	if !valid {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": access, "token_type": "bearer", "scope": "repo,read:user"})
}

func (p *localProvider) user(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	ok := p.tokens[tok]
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"login": OAuthLogin, "id": 583231})
}

// signIn is the browser's visit to the provider's sign-in page at
// authorizeURL: it answers where the provider sends the browser back (the
// hub's callback, with a code and the state).
func signIn(authorizeURL string) (*url.URL, error) {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return nil, fmt.Errorf("sign-in URL: %w", err)
	}
	// Only the local provider is ever visited: a sign-in URL elsewhere
	// means the hub is not configured with it, and no suite reaches out to
	// a real provider.
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("sign-in URL %s is not the local provider's", u.Redacted())
	}
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(authorizeURL)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("sign in: %d", resp.StatusCode)
	}
	return url.Parse(resp.Header.Get("Location"))
}
