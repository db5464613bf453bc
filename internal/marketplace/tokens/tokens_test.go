package tokens_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/marketplace/tokens"
)

var now = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func mustRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemOf(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"iss": "acme", "aud": "hub", "sub": "eu-1", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func TestVerifyChecksEveryRuleAndOffersEachKeyOnlyItsAlgorithm(t *testing.T) {
	secret := []byte("a-shared-secret-of-forty-three-characters-x")
	rsaKey := mustRSA(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rsaPub, _ := tokens.PublicKey("rsa-1", tokens.RS256, &rsaKey.PublicKey)
	ecPub, _ := tokens.PublicKey("ec-1", tokens.ES256, &ecKey.PublicKey)
	edKey, _ := tokens.PublicKey("ed-1", tokens.EdDSA, edPub)
	all := []tokens.Key{tokens.HMACKey("hs-1", secret), rsaPub, ecPub, edKey}
	finder := func(_ context.Context, alg tokens.Algorithm, kid string) ([]tokens.Key, error) {
		var out []tokens.Key
		for _, k := range all {
			if k.Algorithm == alg && (kid == "" || kid == k.ID) {
				out = append(out, k)
			}
		}
		return out, nil
	}
	rules := tokens.Rules{
		Algorithms: []tokens.Algorithm{tokens.HS256, tokens.RS256, tokens.ES256, tokens.EdDSA},
		Issuer:     "acme", Audience: "hub", MaxLifetime: time.Hour, Leeway: 30 * time.Second, Claims: tokens.DefaultClaimNames,
	}
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(nil))
	valid := sign(t, jwt.SigningMethodHS256, secret, "", claims(nil))
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"acme","aud":"hub","sub":"admin","iat":`+jsonNum(now.Unix())+`,"exp":`+jsonNum(now.Add(time.Minute).Unix())+`}`)) + "." + parts[2]

	cases := []struct {
		name  string
		token string
		rules func(tokens.Rules) tokens.Rules
		ok    bool
	}{
		{"HS256", valid, nil, true},
		{"RS256 by kid", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(nil)), nil, true},
		{"ES256 without kid", sign(t, jwt.SigningMethodES256, ecKey, "", claims(nil)), nil, true},
		{"EdDSA", sign(t, jwt.SigningMethodEdDSA, edPriv, "ed-1", claims(nil)), nil, true},
		{"alg none", none, nil, false},
		{"HS256 keyed with the RSA public key", sign(t, jwt.SigningMethodHS256, []byte(pemOf(t, &rsaKey.PublicKey)), "rsa-1", claims(nil)), nil, false},
		{"HS256 keyed with the RSA public key, no kid", sign(t, jwt.SigningMethodHS256, []byte(pemOf(t, &rsaKey.PublicKey)), "", claims(nil)), nil, false},
		{"RS256 naming the EC key's kid", sign(t, jwt.SigningMethodRS256, rsaKey, "ec-1", claims(nil)), nil, false},
		{"algorithm outside the allow-list", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(nil)), func(r tokens.Rules) tokens.Rules { r.Algorithms = []tokens.Algorithm{tokens.HS256}; return r }, false},
		{"no allow-list at all", valid, func(r tokens.Rules) tokens.Rules { r.Algorithms = nil; return r }, false},
		{"RS384 is not accepted", sign(t, jwt.SigningMethodRS384, rsaKey, "rsa-1", claims(nil)), nil, false},
		{"expired", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"iat": now.Add(-20 * time.Minute).Unix(), "exp": now.Add(-time.Minute).Unix()})), nil, false},
		{"expired within the leeway", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"iat": now.Add(-20 * time.Minute).Unix(), "exp": now.Add(-10 * time.Second).Unix()})), nil, true},
		{"no exp", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"exp": nil})), nil, false},
		{"EXP in capitals is not exp", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"exp": nil, "EXP": now.Add(10 * time.Minute).Unix()})), nil, false},
		{"ISS in capitals is not iss", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"iss": nil, "ISS": "acme"})), nil, false},
		{"a capitalised exp beside exp changes nothing", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"Exp": now.Add(-time.Hour).Unix()})), nil, true},
		{"exp as a string holding a number, as golang-jwt reads it", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"exp": jsonNum(now.Add(10 * time.Minute).Unix())})), nil, true},
		{"exp not a number", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"exp": "soon"})), nil, false},
		{"exp out of range", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"exp": json.Number("1e400")})), nil, false},
		{"exp with a fraction", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"exp": float64(now.Add(10*time.Minute).Unix()) + 0.5})), nil, true},
		{"nbf in the future", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()})), nil, false},
		{"iat in the future", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"iat": now.Add(5 * time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix()})), nil, false},
		{"lifetime over the maximum", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"exp": now.Add(2 * time.Hour).Unix()})), nil, false},
		{"lifetime over the maximum without iat", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"iat": nil, "exp": now.Add(2 * time.Hour).Unix()})), nil, false},
		{"wrong issuer", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"iss": "globex"})), nil, false},
		{"no issuer", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"iss": nil})), nil, false},
		{"wrong audience", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"aud": "other"})), nil, false},
		{"audience among several", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"aud": []string{"other", "hub"}})), nil, true},
		{"tampered payload", tampered, nil, false},
		{"other secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-forty-three-characters-xx"), "", claims(nil)), nil, false},
		{"over 8 KiB", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"pad": strings.Repeat("x", tokens.MaxSize)})), nil, false},
		{"no end-user id", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"sub": nil})), nil, false},
		{"end-user id with control characters", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"sub": "a\nb"})), nil, false},
		{"allowed_installs negative", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"xti": map[string]any{"allowed_installs": -1}})), nil, false},
		{"allowed_installs not a number", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"xti": map[string]any{"allowed_installs": "3"}})), nil, false},
		{"xti not an object", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"xti": "gold"})), nil, false},
		{"groups not strings", sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"xti": map[string]any{"user_group": []int{1}}})), nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rules
			if tc.rules != nil {
				r = tc.rules(r)
			}
			_, err := tokens.Verify(context.Background(), tc.token, r, finder, now)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, tokens.ErrRefused) {
				t.Fatalf("err = %v, want a refusal", err)
			}
		})
	}
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestVerifyReadsTheClaimsTheOrganizationNames(t *testing.T) {
	secret := []byte("a-shared-secret-of-forty-three-characters-x")
	finder := func(context.Context, tokens.Algorithm, string) ([]tokens.Key, error) {
		return []tokens.Key{tokens.HMACKey("hs", secret)}, nil
	}
	rules := tokens.Rules{Algorithms: []tokens.Algorithm{tokens.HS256}, MaxLifetime: time.Hour,
		Claims: tokens.ClaimNames{EndUserID: "uid", Groups: "roles", Tier: "account.plan"}}
	tok := sign(t, jwt.SigningMethodHS256, secret, "", jwt.MapClaims{
		"exp": now.Add(time.Minute).Unix(), "uid": "u#1", "roles": "admin", "account": map[string]any{"plan": "enterprise"},
		"xti": map[string]any{"hidden_integrations": "01JDHIDDEN0000000000000000", "allowed_installs": 0},
	})
	id, err := tokens.Verify(context.Background(), tok, rules, finder, now)
	if err != nil {
		t.Fatal(err)
	}
	if id.EndUser != "u#1" || len(id.Groups) != 1 || id.Groups[0] != "admin" || id.Tier != "enterprise" || len(id.Hidden) != 1 || id.AllowedInstalls != 0 {
		t.Fatalf("identity = %+v", id)
	}
	numeric := sign(t, jwt.SigningMethodHS256, secret, "", jwt.MapClaims{"exp": now.Add(time.Minute).Unix(), "uid": 4711})
	if id, err := tokens.Verify(context.Background(), numeric, rules, finder, now); err != nil || id.EndUser != "4711" {
		t.Fatalf("a numeric end-user id: %+v, %v", id, err)
	}
}

func TestKeyFinderFailureIsNotARefusal(t *testing.T) {
	boom := errors.New("key server down")
	finder := func(context.Context, tokens.Algorithm, string) ([]tokens.Key, error) { return nil, boom }
	rsaKey := mustRSA(t)
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, "k", claims(nil))
	_, err := tokens.Verify(context.Background(), tok, tokens.Rules{Algorithms: []tokens.Algorithm{tokens.RS256}, MaxLifetime: time.Hour, Claims: tokens.DefaultClaimNames}, finder, now)
	if !errors.Is(err, boom) || errors.Is(err, tokens.ErrRefused) {
		t.Fatalf("err = %v, want the finder's failure, not a refusal", err)
	}
}

func TestParseReadsUntrustedRoutingOnly(t *testing.T) {
	seg := func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }
	payload := seg(`{"iss":"acme","sub":"eu-1"}`)
	cases := []struct {
		name  string
		token string
		want  tokens.Unverified // zero = refused
	}{
		{"issuer, kid and alg", sign(t, jwt.SigningMethodHS256, []byte("k"), "kid-1", jwt.MapClaims{"iss": "acme"}), tokens.Unverified{Issuer: "acme", KeyID: "kid-1", Algorithm: "HS256"}},
		{"no issuer", sign(t, jwt.SigningMethodHS256, []byte("k"), "kid-1", jwt.MapClaims{"sub": "eu-1"}), tokens.Unverified{KeyID: "kid-1", Algorithm: "HS256"}},
		// golang-jwt reads header members by their exact name.
		{"a kid that is not a string is none", seg(`{"alg":"ES256","kid":7}`) + "." + payload + ".c2ln", tokens.Unverified{Issuer: "acme", Algorithm: "ES256"}},
		{"a KID in capitals is not the kid", seg(`{"alg":"ES256","KID":"k"}`) + "." + payload + ".c2ln", tokens.Unverified{Issuer: "acme", Algorithm: "ES256"}},
		// Claims are read by their exact names too.
		{"an ISS in capitals is not the issuer", seg(`{"alg":"HS256"}`) + "." + seg(`{"ISS":"acme"}`) + ".c2ln", tokens.Unverified{Algorithm: "HS256"}},
		// What Parse does not judge, Verify refuses.
		{"other claims unreadable", seg(`{"alg":"HS256"}`) + "." + seg(`{"iss":"acme","exp":"soon"}`) + ".c2ln", tokens.Unverified{Issuer: "acme", Algorithm: "HS256"}},
		{"an alg golang-jwt does not know", seg(`{"alg":"XX1"}`) + "." + payload + ".c2ln", tokens.Unverified{}},
		{"no alg", seg(`{"kid":"k"}`) + "." + payload + ".c2ln", tokens.Unverified{}},
		{"an issuer that is not a string", seg(`{"alg":"HS256"}`) + "." + seg(`{"iss":1}`) + ".c2ln", tokens.Unverified{}},
		{"four segments", seg(`{"alg":"HS256"}`) + "." + payload + ".c2ln.x", tokens.Unverified{}},
		{"two segments", "a.b", tokens.Unverified{}},
		{"garbage", "not.a.jwt", tokens.Unverified{}},
		{"empty", "", tokens.Unverified{}},
		{"oversized", strings.Repeat("a", tokens.MaxSize+1), tokens.Unverified{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parsed, err := tokens.Parse(tc.token)
			if tc.want == (tokens.Unverified{}) {
				if !errors.Is(err, tokens.ErrRefused) {
					t.Fatalf("Parse = %+v, %v; want a refusal", parsed, err)
				}
				return
			}
			if err != nil || parsed.Unverified != tc.want {
				t.Fatalf("Parse = %+v, %v; want %+v", parsed, err, tc.want)
			}
		})
	}
	unreadable := seg(`{"alg":"HS256"}`) + "." + seg(`{"iss":"acme","exp":"soon"}`) + ".c2ln"
	rules := tokens.Rules{Algorithms: []tokens.Algorithm{tokens.HS256}, MaxLifetime: time.Hour, Claims: tokens.DefaultClaimNames}
	find := func(context.Context, tokens.Algorithm, string) ([]tokens.Key, error) {
		return []tokens.Key{tokens.HMACKey("k", []byte("k"))}, nil
	}
	if _, err := tokens.Verify(context.Background(), unreadable, rules, find, now); !errors.Is(err, tokens.ErrRefused) {
		t.Fatalf("Verify = %v, want a refusal of a token Parse only routes", err)
	}
}

func TestParsePublicKeyAcceptsPEMAndJWKAndRefusesPrivateOrWeakKeys(t *testing.T) {
	rsaKey := mustRSA(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	b64 := base64.RawURLEncoding.EncodeToString
	privDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	ecBytes, _ := ecKey.PublicKey.Bytes()
	cases := []struct {
		name, text string
		alg        tokens.Algorithm
		kid        string
		ok         bool
	}{
		{"RSA PEM", pemOf(t, &rsaKey.PublicKey), "", "", true},
		{"PKCS#1 PEM", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})), "", "", true},
		{"EC PEM", pemOf(t, &ecKey.PublicKey), "", "", true},
		{"Ed25519 PEM", pemOf(t, edPub), "", "", true},
		{"RSA JWK", `{"kty":"RSA","kid":"r1","n":"` + b64(rsaKey.N.Bytes()) + `","e":"AQAB"}`, tokens.RS256, "r1", true},
		{"EC JWK", `{"kty":"EC","crv":"P-256","x":"` + b64(ecBytes[1:33]) + `","y":"` + b64(ecBytes[33:]) + `","alg":"ES256"}`, tokens.ES256, "", true},
		{"OKP JWK", `{"kty":"OKP","crv":"Ed25519","x":"` + b64(edPub) + `"}`, tokens.EdDSA, "", true},
		{"private PEM", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), "", "", false},
		{"private JWK", `{"kty":"OKP","crv":"Ed25519","x":"` + b64(edPub) + `","d":"` + b64(edPub) + `"}`, "", "", false},
		{"JWK alg that does not fit", `{"kty":"OKP","crv":"Ed25519","alg":"RS256","x":"` + b64(edPub) + `"}`, "", "", false},
		{"EC point off the curve", `{"kty":"EC","crv":"P-256","x":"` + b64(make([]byte, 32)) + `","y":"` + b64(append(make([]byte, 31), 1)) + `"}`, "", "", false},
		{"symmetric JWK", `{"kty":"oct","k":"c2VjcmV0"}`, "", "", false},
		{"garbage", "hello", "", "", false},
		{"two PEM blocks", pemOf(t, &rsaKey.PublicKey) + pemOf(t, &rsaKey.PublicKey), "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tokens.ParsePublicKey(tc.text)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (got.Algorithm != tc.alg || got.Kid != tc.kid) {
				t.Fatalf("parsed %s %q, want %s %q", got.Algorithm, got.Kid, tc.alg, tc.kid)
			}
		})
	}
	if err := tokens.CheckKeyType(tokens.RS256, &weak.PublicKey); !errors.Is(err, tokens.ErrKeyMaterial) {
		t.Errorf("a 1024-bit RSA key: %v", err)
	}
	if err := tokens.CheckKeyType(tokens.ES256, &ec384.PublicKey); !errors.Is(err, tokens.ErrKeyMaterial) {
		t.Errorf("a P-384 key for ES256: %v", err)
	}
	if err := tokens.CheckKeyType(tokens.EdDSA, &rsaKey.PublicKey); !errors.Is(err, tokens.ErrKeyMaterial) {
		t.Errorf("an RSA key for EdDSA: %v", err)
	}
	stored, err := tokens.EncodePublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	back, err := tokens.DecodePublicKey(stored)
	if err != nil || !edPub.Equal(back) {
		t.Fatalf("stored form does not round-trip: %v", err)
	}
}

func jwksOf(t *testing.T, kid string, pub *rsa.PublicKey) []byte {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	return b
}

func TestJWKSCachesRefreshesOnUnknownKidAndRateLimits(t *testing.T) {
	k1, k2 := mustRSA(t), mustRSA(t)
	var fetches atomic.Int32
	var body atomic.Value
	body.Store(jwksOf(t, "k1", &k1.PublicKey))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(body.Load().([]byte))
	}))
	defer srv.Close()
	cache := tokens.NewJWKS(srv.Client())
	ctx := context.Background()
	find := func(kid string, at time.Time) bool {
		t.Helper()
		_, ok, err := cache.Find(ctx, srv.URL, kid, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	steps := []struct {
		name    string
		kid     string
		at      time.Duration
		publish []byte
		found   bool
		fetches int32
	}{
		{"first use fetches", "k1", 0, nil, true, 1},
		{"cached", "k1", time.Minute, nil, true, 1},
		{"unknown kid refetches", "k2", 2 * time.Minute, nil, false, 2},
		{"unknown kid again is rate-limited", "k3", 2*time.Minute + time.Second, nil, false, 2},
		{"a new key published is found after the interval", "k2", 3 * time.Minute, jwksOf(t, "k2", &k2.PublicKey), true, 3},
		{"a key removed from the set is gone after the TTL", "k1", 3*time.Minute + tokens.JWKSCacheTTL, nil, false, 4},
	}
	for _, s := range steps {
		if s.publish != nil {
			body.Store(s.publish)
		}
		if got := find(s.kid, now.Add(s.at)); got != s.found || fetches.Load() != s.fetches {
			t.Fatalf("%s: found=%v fetches=%d, want %v %d", s.name, got, fetches.Load(), s.found, s.fetches)
		}
	}
}

func TestJWKSServesTheCachedSetWhenTheServerFails(t *testing.T) {
	k1 := mustRSA(t)
	var fail atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_, _ = w.Write(jwksOf(t, "k1", &k1.PublicKey))
	}))
	defer srv.Close()
	cache := tokens.NewJWKS(srv.Client())
	if _, ok, err := cache.Find(context.Background(), srv.URL, "k1", now); !ok || err != nil {
		t.Fatalf("first fetch: %v %v", ok, err)
	}
	fail.Store(true)
	if _, ok, err := cache.Find(context.Background(), srv.URL, "k1", now.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("stale set while the server fails: %v %v", ok, err)
	}
	fresh := tokens.NewJWKS(srv.Client())
	if _, _, err := fresh.Find(context.Background(), srv.URL, "k1", now); err == nil {
		t.Fatal("no set at all and a failing server must be an error, not a refusal")
	}
}

func TestTheJWKSClientRefusesPrivateAddresses(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the hub called a loopback key server")
	}))
	defer srv.Close()
	cache := tokens.NewJWKS(tokens.NewJWKSClient(false))
	if _, _, err := cache.Find(context.Background(), srv.URL, "k", now); !errors.Is(err, tokens.ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
	for addr, public := range map[string]bool{
		"127.0.0.1": false, "10.1.2.3": false, "169.254.169.254": false, "100.64.0.1": false, "::1": false,
		"fd00::1": false, "::ffff:192.168.1.1": false, "0.0.0.0": false, "203.0.113.7": true, "2001:db8::1": true,
	} {
		if got := tokens.PublicAddress(netip.MustParseAddr(addr)); got != public {
			t.Errorf("PublicAddress(%s) = %v, want %v", addr, got, public)
		}
	}
}
