package marketplace_test

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/marketplace"
	"github.com/integration-hub/hub/internal/marketplace/tokens"
	"github.com/integration-hub/hub/internal/principal"
)

// Every attack of the issue, each refused by the authorizer and answered
// 401 by the function it reaches, writing nothing: each token also asks to
// install an integration, as API Gateway would deliver it. The valid
// tokens around them pass, so the refusals are not a setup that refuses
// everything.
func TestTokenAttacksAreRefusedAndWriteNothing(t *testing.T) {
	h := newHub(t)
	a, b, c, d := h.newOrg(""), h.newOrg(""), h.newOrg(""), h.newOrg("")
	keyA, keyB, keyC := rsaKey(t), rsaKey(t), rsaKey(t)

	h.rules(a, marketplace.RulesInput{Issuer: "acme", Audience: "marketplace", MaxLifetimeSeconds: ptr[int64](3600)})
	secretA := h.newSecret(a, 3600)
	h.addKey(a, marketplace.KeyInput{Kid: "a-rsa", Algorithm: "RS256", Key: publicPEM(t, &keyA.PublicKey)})
	h.rules(b, marketplace.RulesInput{Issuer: "globex", Audience: "marketplace"})
	secretB := h.newSecret(b, 3600)
	h.addKey(b, marketplace.KeyInput{Kid: "b-rsa", Algorithm: "RS256", Key: publicPEM(t, &keyB.PublicKey)})
	// C sets no issuer: its tokens are found by kid.
	secretC := h.newSecret(c, 3600)
	h.addKey(c, marketplace.KeyInput{Kid: "c-rsa", Algorithm: "RS256", Key: publicPEM(t, &keyC.PublicKey)})
	// D rotated its secret with a 10-minute grace period, 11 minutes ago.
	h.rules(d, marketplace.RulesInput{Issuer: "initech"})
	rotatedOut := h.newSecret(d, 600)
	h.newSecret(d, 600)
	h.clock.Advance(11 * time.Minute)

	now := h.clock.Now()
	hs := jwt.SigningMethodHS256
	claimsA := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "acme", "aud": "marketplace", "sub": "end-user-1"}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	validA := h.token(hs, []byte(secretA.Secret), "", claimsA(nil))
	parts := strings.Split(validA, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "end-user-1", "end-user-2", 1))) + "." + parts[2]
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claimsA(jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})).SignedString(jwt.UnsafeAllowNoneSignatureType)
	rsaPEMofA := []byte(publicPEM(t, &keyA.PublicKey))

	cases := []struct {
		name  string
		token string
		allow bool
	}{
		{"valid HS256 of A", validA, true},
		{"valid RS256 of A", h.token(jwt.SigningMethodRS256, keyA, "a-rsa", claimsA(nil)), true},
		{"valid HS256 of A naming the secret's kid", h.token(hs, []byte(secretA.Secret), secretA.Kid, claimsA(nil)), true},
		{"valid token of C found by its kid", h.token(hs, []byte(secretC.Secret), secretC.Kid, jwt.MapClaims{"sub": "c-user"}), true},
		{"alg none", none, false},
		{"HS256 signed with A's RSA public key", h.token(hs, rsaPEMofA, "a-rsa", claimsA(nil)), false},
		{"HS256 signed with A's RSA public key, no kid", h.token(hs, rsaPEMofA, "", claimsA(nil)), false},
		{"expired", h.token(hs, []byte(secretA.Secret), "", claimsA(jwt.MapClaims{"iat": now.Add(-30 * time.Minute).Unix(), "exp": now.Add(-5 * time.Minute).Unix()})), false},
		{"nbf in the future", h.token(hs, []byte(secretA.Secret), "", claimsA(jwt.MapClaims{"nbf": now.Add(5 * time.Minute).Unix()})), false},
		{"lifetime over the maximum", h.token(hs, []byte(secretA.Secret), "", claimsA(jwt.MapClaims{"exp": now.Add(2 * time.Hour).Unix()})), false},
		{"wrong issuer", h.token(hs, []byte(secretA.Secret), "", claimsA(jwt.MapClaims{"iss": "umbrella"})), false},
		{"wrong audience", h.token(hs, []byte(secretA.Secret), "", claimsA(jwt.MapClaims{"aud": "elsewhere"})), false},
		{"no audience", h.token(hs, []byte(secretA.Secret), "", claimsA(jwt.MapClaims{"aud": nil})), false},
		{"unknown kid", h.token(jwt.SigningMethodRS256, keyA, "nope", claimsA(nil)), false},
		{"a kid of another organization", h.token(jwt.SigningMethodRS256, keyB, "b-rsa", claimsA(nil)), false},
		{"a kid of another organization, no issuer", h.token(jwt.SigningMethodRS256, keyB, "b-rsa", jwt.MapClaims{"aud": "marketplace", "sub": "x"}), false},
		{"tampered payload", tampered, false},
		{"a valid token of A presented with B's issuer", h.token(hs, []byte(secretA.Secret), "", claimsA(jwt.MapClaims{"iss": "globex"})), false},
		{"B's secret under A's issuer", h.token(hs, []byte(secretB.Secret), "", claimsA(nil)), false},
		{"over 8 KiB", h.token(hs, []byte(secretA.Secret), "", claimsA(jwt.MapClaims{"pad": strings.Repeat("p", tokens.MaxSize)})), false},
		{"a rotated-out secret after its grace period", h.token(hs, []byte(rotatedOut.Secret), "", jwt.MapClaims{"iss": "initech", "sub": "d-user"}), false},
		{"the hub's own issuer", h.token(hs, []byte(secretA.Secret), "", claimsA(jwt.MapClaims{"iss": "integration-hub"})), false},
		{"neither issuer nor kid", h.token(hs, []byte(secretC.Secret), "", jwt.MapClaims{"sub": "c-user"}), false},
		{"not a JWT", "hello.world", false},
	}
	install := map[string]any{"integration_id": h.integration(a, "Everyone Mail", integrations.Audience{})}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			writes := h.table.Writes()
			p, ok := h.authorize(tc.token)
			if ok != tc.allow {
				t.Fatalf("authorized = %v, want %v (%+v)", ok, tc.allow, p)
			}
			if ok && p.Kind != principal.EndUser {
				t.Fatalf("principal %+v", p)
			}
			if tc.allow {
				return
			}
			r := h.deployed(tc.token, "POST", "/marketplace/tenants", install)
			if r.Status != http.StatusUnauthorized || r.Problem.Code != "invalid_credential" || r.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("the install answered %d %s, want 401 invalid_credential with WWW-Authenticate", r.Status, r.Body)
			}
			if w := h.table.Writes() - writes; w != 0 {
				t.Fatalf("the refused install wrote %d times", w)
			}
		})
	}
}

func TestTheAuthorizerResolvesTheEndUserAndTheirXTI(t *testing.T) {
	h := newHub(t)
	o := h.newOrg("")
	h.rules(o, marketplace.RulesInput{Issuer: "acme", Claims: &marketplace.ClaimsInput{EndUserID: "uid", Groups: "xti.user_group"}})
	s := h.newSecret(o, 0)
	p := h.mustAuthorize(h.token(jwt.SigningMethodHS256, []byte(s.Secret), "", jwt.MapClaims{
		"iss": "acme", "uid": "customer#42",
		"xti": map[string]any{"user_group": []string{"gold", "beta"}, "user_tier": "pro", "hidden_integrations": []string{"01JDHIDDEN0000000000000000"}, "allowed_installs": 2},
	}))
	if p.Org != o.ID || p.Subject != "customer#42" || strings.Join(p.Groups, ",") != "gold,beta" || p.Tier != "pro" ||
		len(p.Hidden) != 1 || p.AllowedInstalls != 2 {
		t.Fatalf("principal = %+v", p)
	}
	unlimited := h.mustAuthorize(h.token(jwt.SigningMethodHS256, []byte(s.Secret), "", jwt.MapClaims{"iss": "acme", "uid": "c2"}))
	if unlimited.AllowedInstalls != tokens.Unlimited || unlimited.Groups != nil {
		t.Fatalf("a token without xti: %+v", unlimited)
	}
}

// The rotation of the issue: the old secret works during the grace period
// and stops after it; the new one works throughout.
func TestRotationKeepsTheOldSecretForItsGracePeriodOnly(t *testing.T) {
	h := newHub(t)
	o := h.newOrg("")
	h.rules(o, marketplace.RulesInput{Issuer: "acme"})
	old := h.newSecret(o, 0)
	signed := func(s marketplace.NewSecret, withKid bool) string {
		kid := ""
		if withKid {
			kid = s.Kid
		}
		return h.token(jwt.SigningMethodHS256, []byte(s.Secret), kid, jwt.MapClaims{"iss": "acme", "sub": "eu"})
	}
	if _, ok := h.authorize(signed(old, false)); !ok {
		t.Fatal("the only secret does not verify")
	}
	h.clock.Advance(24 * time.Hour)
	next := h.newSecret(o, 1800)
	steps := []struct {
		after          time.Duration
		oldOK, retired bool
	}{
		{0, true, false},
		{29 * time.Minute, true, false},
		{29*time.Minute + 59*time.Second, true, false},
		{30 * time.Minute, false, true},
		{31 * time.Minute, false, true},
		{7 * 24 * time.Hour, false, true},
	}
	start := h.clock.Now()
	for _, s := range steps {
		h.clock.Advance(start.Add(s.after).Sub(h.clock.Now()))
		for _, withKid := range []bool{false, true} {
			if _, ok := h.authorize(signed(old, withKid)); ok != s.oldOK {
				t.Fatalf("+%s (kid %v): old secret authorized = %v, want %v", s.after, withKid, ok, s.oldOK)
			}
			if _, ok := h.authorize(signed(next, withKid)); !ok {
				t.Fatalf("+%s (kid %v): the new secret was refused", s.after, withKid)
			}
		}
		var doc marketplace.Settings
		h.serve(o.Hub, "GET", "/marketplace/settings", nil, nil).decode(t, &doc)
		if got := len(doc.Secrets); (s.retired && got != 1) || (!s.retired && (got != 2 || doc.Secrets[0].Status != "retiring")) {
			t.Fatalf("+%s: settings list %+v", s.after, doc.Secrets)
		}
	}
}

func TestRotatingTooOftenIsRefusedUntilAGracePeriodEnds(t *testing.T) {
	h := newHub(t)
	o := h.newOrg("")
	for i := 0; i < 3; i++ {
		h.newSecret(o, 3600)
	}
	r := h.serve(o.Hub, "POST", "/marketplace/settings/secrets", map[string]string{"If-Match": h.etag(o)}, nil)
	if r.Status != 409 || r.Problem.Code != "too_many_secrets" {
		t.Fatalf("a fourth secret: %d %s", r.Status, r.Body)
	}
	h.clock.Advance(time.Hour)
	if r := h.serve(o.Hub, "POST", "/marketplace/settings/secrets", map[string]string{"If-Match": h.etag(o)}, nil); r.Status != 201 {
		t.Fatalf("after the grace periods: %d %s", r.Status, r.Body)
	}
}

func jwks(t *testing.T, kid string, pub *rsa.PublicKey) []byte {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	return b
}

func TestAJWKSURLVerifiesItsKeysAndIsFetchedSparingly(t *testing.T) {
	h := newHub(t)
	o := h.newOrg("")
	k1, k2 := rsaKey(t), rsaKey(t)
	var fetches atomic.Int32
	var published atomic.Value
	published.Store(jwks(t, "k1", &k1.PublicKey))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_, _ = w.Write(published.Load().([]byte))
	}))
	defer srv.Close()
	h.resolver.JWKS = tokens.NewJWKS(srv.Client())
	h.rules(o, marketplace.RulesInput{Issuer: "acme", JWKSURL: srv.URL + "/.well-known/jwks.json"})
	tok := func(key *rsa.PrivateKey, kid string) string {
		return h.token(jwt.SigningMethodRS256, key, kid, jwt.MapClaims{"iss": "acme", "sub": "eu"})
	}
	if _, ok := h.authorize(tok(k1, "k1")); !ok || fetches.Load() != 1 {
		t.Fatalf("first token: fetches %d", fetches.Load())
	}
	if _, ok := h.authorize(tok(k1, "k1")); !ok || fetches.Load() != 1 {
		t.Fatalf("cached: fetches %d", fetches.Load())
	}
	if _, ok := h.authorize(tok(k2, "k2")); ok || fetches.Load() != 1 {
		t.Fatalf("unknown kid right after a fetch: fetches %d", fetches.Load())
	}
	h.clock.Advance(tokens.JWKSMinRefresh)
	if _, ok := h.authorize(tok(k2, "k2")); ok || fetches.Load() != 2 {
		t.Fatalf("unknown kid: fetches %d", fetches.Load())
	}
	for i := 0; i < 5; i++ {
		if _, ok := h.authorize(tok(k2, "random-"+string(rune('a'+i)))); ok {
			t.Fatal("a random kid passed")
		}
	}
	if fetches.Load() != 2 {
		t.Fatalf("random kids made %d fetches; refreshes are rate-limited", fetches.Load())
	}
	published.Store(jwks(t, "k2", &k2.PublicKey))
	h.clock.Advance(tokens.JWKSMinRefresh)
	if _, ok := h.authorize(tok(k2, "k2")); !ok || fetches.Load() != 3 {
		t.Fatalf("a newly published key: fetches %d", fetches.Load())
	}
	if _, ok := h.authorize(h.token(jwt.SigningMethodHS256, []byte("guess"), "k2", jwt.MapClaims{"iss": "acme", "sub": "eu"})); ok {
		t.Fatal("HS256 under a JWKS key's kid passed")
	}
}

// TestAWarmResolverSeesEveryChangeToTheVerifiers decides tokens one after
// the other with one resolver, which keeps decoded verifier copies, and
// changes the organizations' settings in between: each decision must be
// the one the settings make now, and never use another organization's
// verifier.
func TestAWarmResolverSeesEveryChangeToTheVerifiers(t *testing.T) {
	h := newHub(t)
	a, b := h.newOrg(""), h.newOrg("")
	h.rules(a, marketplace.RulesInput{Issuer: "acme"})
	h.rules(b, marketplace.RulesInput{Issuer: "globex"})
	secretA, secretB := h.newSecret(a, 0), h.newSecret(b, 0)
	// c and d name no issuer: their tokens find them by kid.
	c, d := h.newOrg(""), h.newOrg("")
	keyC, keyD := rsaKey(t), rsaKey(t)
	hs := func(iss string, s marketplace.NewSecret) string {
		return h.token(jwt.SigningMethodHS256, []byte(s.Secret), "", jwt.MapClaims{"iss": iss, "sub": "eu"})
	}
	rs := func(k *rsa.PrivateKey) string {
		return h.token(jwt.SigningMethodRS256, k, "shared", jwt.MapClaims{"sub": "eu"})
	}
	var rotatedA marketplace.NewSecret
	steps := []struct {
		name    string
		change  func()
		token   func() string
		wantOrg string // "" = denied
	}{
		{"a's token", nil, func() string { return hs("acme", secretA) }, a.ID},
		{"a's token again", nil, func() string { return hs("acme", secretA) }, a.ID},
		{"b's token", nil, func() string { return hs("globex", secretB) }, b.ID},
		{"a's issuer signed with b's secret", nil, func() string { return hs("acme", secretB) }, ""},
		{"a's old secret after a rotation without grace", func() { rotatedA = h.newSecret(a, 0) }, func() string { return hs("acme", secretA) }, ""},
		{"a's new secret", nil, func() string { return hs("acme", rotatedA) }, a.ID},
		{"c's key", func() {
			if r := h.addKey(c, marketplace.KeyInput{Kid: "shared", Algorithm: "RS256", Key: publicPEM(t, &keyC.PublicKey)}); r.Status != 201 {
				t.Fatalf("add key: %d %s", r.Status, r.Body)
			}
		}, func() string { return rs(keyC) }, c.ID},
		{"c's key, removed", func() {
			if r := h.serve(c.Hub, "DELETE", "/marketplace/settings/keys/shared", map[string]string{"If-Match": h.etag(c)}, nil); r.Status != 200 {
				t.Fatalf("delete key: %d %s", r.Status, r.Body)
			}
		}, func() string { return rs(keyC) }, ""},
		{"c's key, once d registered its own under the same kid", func() {
			if r := h.addKey(d, marketplace.KeyInput{Kid: "shared", Algorithm: "RS256", Key: publicPEM(t, &keyD.PublicKey)}); r.Status != 201 {
				t.Fatalf("add key: %d %s", r.Status, r.Body)
			}
		}, func() string { return rs(keyC) }, ""},
		{"d's key under that kid", nil, func() string { return rs(keyD) }, d.ID},
	}
	for _, s := range steps {
		if s.change != nil {
			s.change()
		}
		p, ok := h.authorize(s.token())
		if ok != (s.wantOrg != "") || p.Org != s.wantOrg {
			t.Fatalf("%s: authorized %v as %q, want %q", s.name, ok, p.Org, s.wantOrg)
		}
	}
}
