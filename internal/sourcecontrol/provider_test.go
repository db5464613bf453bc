package sourcecontrol_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/integration-hub/hub/internal/sourcecontrol"
)

// tokenMode is how the local provider's token endpoint behaves.
type tokenMode int

const (
	tokenOK           tokenMode = iota
	tokenErrorJSON              // 400 with an RFC 6749 error document
	tokenErrorWith200           // 200 with an error document, as GitHub answers a bad code
	tokenServerError            // 500 every time
	tokenHang                   // answers only after the client gave up
	tokenFailOnce               // 500 once without spending the code, then OK
)

// userMode is how its identity endpoint behaves.
type userMode int

const (
	userOK userMode = iota
	userUnauthorized
	userServerError
)

// grant is an authorization code the local provider issued.
type grant struct {
	clientID, redirectURI, challenge, login string
	accessToken, refreshToken               string
	used                                    bool
}

// localProvider is an OAuth 2.0 authorization server with PKCE, on
// httptest. Its authorize step is a method: the test reads the hub's
// authorize URL and "signs in" by calling authorize with it.
type localProvider struct {
	t                      *testing.T
	srv                    *httptest.Server
	clientID, clientSecret string

	mu         sync.Mutex
	tokenMode  tokenMode
	userMode   userMode
	grants     map[string]*grant
	tokenCalls int
	released   chan struct{}
}

func newLocalProvider(t *testing.T) *localProvider {
	lp := &localProvider{
		t: t, clientID: "hub-client-" + random(t, 6), clientSecret: "hub-secret-" + random(t, 12),
		grants: map[string]*grant{}, released: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", lp.token)
	mux.HandleFunc("GET /user", lp.user)
	lp.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(lp.released)
		lp.srv.Close()
	})
	return lp
}

func random(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// config is the hub's configuration for this provider as GitHub.
func (lp *localProvider) config() sourcecontrol.ProviderConfig {
	return sourcecontrol.ProviderConfig{
		ClientID: lp.clientID, ClientSecret: lp.clientSecret,
		AuthURL: lp.srv.URL + "/authorize", TokenURL: lp.srv.URL + "/token", UserURL: lp.srv.URL + "/user",
		Scopes: []string{"repo", "read:user"},
	}
}

func (lp *localProvider) set(tm tokenMode, um userMode) {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	lp.tokenMode, lp.userMode = tm, um
}

func (lp *localProvider) calls() int {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.tokenCalls
}

// authorize checks the hub's authorize URL the way the provider would and
// issues a code for an account named login. It returns the code, the state
// to send back and the tokens the code will be exchanged for.
func (lp *localProvider) authorize(authorizeURL, login string) (code, state string, g *grant) {
	lp.t.Helper()
	u, err := url.Parse(authorizeURL)
	if err != nil {
		lp.t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme+"://"+u.Host+u.Path != lp.srv.URL+"/authorize" {
		lp.t.Fatalf("authorize URL %s is not the provider's", authorizeURL)
	}
	for param, want := range map[string]string{"response_type": "code", "client_id": lp.clientID, "code_challenge_method": "S256", "scope": "repo read:user"} {
		if got := q.Get(param); got != want {
			lp.t.Fatalf("authorize URL has %s=%q, want %q", param, got, want)
		}
	}
	if q.Get("code_challenge") == "" || q.Get("redirect_uri") == "" || q.Get("state") == "" {
		lp.t.Fatalf("authorize URL lacks a PKCE challenge, a redirect URI or a state: %s", authorizeURL)
	}
	code = "code-" + random(lp.t, 16)
	g = &grant{
		clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), login: login,
		accessToken: "gho_access_" + random(lp.t, 18), refreshToken: "ghr_refresh_" + random(lp.t, 18),
	}
	lp.mu.Lock()
	lp.grants[code] = g
	lp.mu.Unlock()
	return code, q.Get("state"), g
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "local provider refused: " + code})
}

// redeem checks a token request's grant type and spends the grant of its
// code, held in grants under mu: a code works once, with the redirect URI
// it was issued for. It answers a refusal itself and then returns false.
func redeem(w http.ResponseWriter, r *http.Request, mu *sync.Mutex, grants map[string]*grant) (*grant, bool) {
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return nil, false
	}
	mu.Lock()
	g, ok := grants[r.PostForm.Get("code")]
	spent := ok && g.used
	if ok {
		g.used = true
	}
	mu.Unlock()
	if !ok || spent || g.redirectURI != r.PostForm.Get("redirect_uri") {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return nil, false
	}
	return g, true
}

// pkceMatches reports whether verifier is the S256 code verifier of
// challenge (RFC 7636).
func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return verifier != "" && base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}

func (lp *localProvider) token(w http.ResponseWriter, r *http.Request) {
	lp.mu.Lock()
	lp.tokenCalls++
	mode, calls := lp.tokenMode, lp.tokenCalls
	lp.mu.Unlock()
	switch {
	case mode == tokenHang:
		select {
		case <-r.Context().Done():
		case <-lp.released:
		}
		return
	case mode == tokenServerError, mode == tokenFailOnce && calls == 1:
		http.Error(w, "upstream unavailable", http.StatusInternalServerError)
		return
	case mode == tokenErrorJSON:
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	case mode == tokenErrorWith200:
		oauthError(w, http.StatusOK, "bad_verification_code")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != lp.clientID || secret != lp.clientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	g, ok := redeem(w, r, &lp.mu, lp.grants)
	if !ok {
		return
	}
	switch {
	case g.clientID != id, !pkceMatches(r.PostForm.Get("code_verifier"), g.challenge):
		oauthError(w, http.StatusBadRequest, "invalid_grant")
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": g.accessToken, "refresh_token": g.refreshToken, "token_type": "bearer",
			"expires_in": 28800, "scope": "repo,read:user",
		})
	}
}

func (lp *localProvider) user(w http.ResponseWriter, r *http.Request) {
	lp.mu.Lock()
	mode := lp.userMode
	var found *grant
	for _, g := range lp.grants {
		if "Bearer "+g.accessToken == r.Header.Get("Authorization") && g.used {
			found = g
		}
	}
	lp.mu.Unlock()
	switch {
	case mode == userServerError:
		http.Error(w, "unavailable", http.StatusInternalServerError)
	case mode == userUnauthorized || found == nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"login": found.login, "id": 583231, "name": "The Octocat"})
	}
}
