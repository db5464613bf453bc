package tokens_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/marketplace/tokens"
)

// fuzzSecret is the organization's HS256 secret in FuzzVerify.
var fuzzSecret = []byte("fuzz-secret-of-the-organization-32b")

// fuzzRules are an organization's rules in FuzzVerify.
var fuzzRules = tokens.Rules{
	Algorithms:  []tokens.Algorithm{tokens.HS256},
	Issuer:      "https://app.acme.test",
	MaxLifetime: time.Hour,
	Leeway:      30 * time.Second,
	Claims:      tokens.DefaultClaimNames,
}

func fuzzToken(method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		panic(err)
	}
	return s
}

// FuzzVerify runs the marketplace token verifier on arbitrary tokens for
// an organization with one HS256 secret. Whatever it accepts must verify
// with that secret under a bare HS256 check too, name the organization's
// issuer, be routed by Parse as golang-jwt reads it, and carry an identity
// within the limits.
func FuzzVerify(f *testing.F) {
	iat := now.Add(-time.Minute)
	good := jwt.MapClaims{"iss": fuzzRules.Issuer, "sub": "end-user-1", "iat": iat.Unix(), "exp": iat.Add(30 * time.Minute).Unix(),
		"xti": map[string]any{"user_group": []string{"gold", "beta"}, "user_tier": "pro", "hidden_integrations": []string{"01JD0000000000000000000000"}, "allowed_installs": 3}}
	valid := fuzzToken(jwt.SigningMethodHS256, fuzzSecret, "hs256-1", good)
	unsigned := fuzzToken(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", good)
	otherKey := fuzzToken(jwt.SigningMethodHS256, []byte("another-secret-another-secret-32b"), "", good)
	hs384 := fuzzToken(jwt.SigningMethodHS384, fuzzSecret, "", good)
	noExp := fuzzToken(jwt.SigningMethodHS256, fuzzSecret, "", jwt.MapClaims{"iss": fuzzRules.Issuer, "sub": "x"})
	for _, seed := range []string{valid, unsigned, otherKey, hs384, noExp, valid + "x", strings.Replace(valid, ".", "..", 1), "a.b.c", "", "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(seed)
	}
	find := func(_ context.Context, alg tokens.Algorithm, _ string) ([]tokens.Key, error) {
		return []tokens.Key{tokens.HMACKey("hs256-1", fuzzSecret)}, nil
	}
	f.Fuzz(func(t *testing.T, token string) {
		head, parseErr := tokens.Parse(token)
		id, err := tokens.Verify(context.Background(), token, fuzzRules, find, now)
		if err != nil {
			return
		}
		if parseErr != nil || head.Issuer != fuzzRules.Issuer {
			t.Fatalf("accepted %q, which Parse reads as %+v (%v)", token, head, parseErr)
		}
		// Parse routes by what golang-jwt reads in the header.
		parsed, _, _ := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
		if kid, _ := parsed.Header["kid"].(string); head.KeyID != kid || head.Algorithm != parsed.Method.Alg() {
			t.Fatalf("accepted %q, whose kid and alg Parse reads as %q, %q; golang-jwt as %q, %q", token, head.KeyID, head.Algorithm, kid, parsed.Method.Alg())
		}
		bare := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
		if _, err := bare.Parse(token, func(*jwt.Token) (any, error) { return fuzzSecret, nil }); err != nil {
			t.Fatalf("accepted %q, which a bare HS256 check refuses: %v", token, err)
		}
		if id.EndUser == "" || len(id.EndUser) > tokens.MaxEndUserIDLength || len(id.Groups) > tokens.MaxGroups || len(id.Hidden) > tokens.MaxHidden {
			t.Fatalf("accepted %q with identity %+v", token, id)
		}
	})
}

// FuzzParseKeys runs the parsers of what an organization uploads: a public
// key (PEM or JWK) and a JWK Set. A key they accept encodes again, and a
// key recorded with an algorithm is of that algorithm's type.
func FuzzParseKeys(f *testing.F) {
	for _, seed := range []string{
		`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"secret"}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		`{"kty":"oct","k":"c2VjcmV0"}`, `{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}`,
		"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n",
		"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n", "", "{",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if parsed, err := tokens.ParsePublicKey(text); err == nil {
			if _, err := tokens.EncodePublicKey(parsed.Public); err != nil {
				t.Fatalf("ParsePublicKey(%q) accepted a key that does not encode: %v", text, err)
			}
			if parsed.Algorithm != "" {
				if err := tokens.CheckKeyType(parsed.Algorithm, parsed.Public); err != nil {
					t.Fatalf("ParsePublicKey(%q) = a %s key of another type: %v", text, parsed.Algorithm, err)
				}
			}
		}
		_, _ = tokens.ParseJWKS([]byte(text))
	})
}
