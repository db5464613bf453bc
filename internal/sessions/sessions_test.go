package sessions_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/sessions"
)

var key = bytes.Repeat([]byte{7}, 32)

func signer(t testing.TB) *sessions.Signer {
	s, err := sessions.NewSigner(key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ExampleSigner_Issue() {
	s, _ := sessions.NewSigner(bytes.Repeat([]byte{7}, 32), time.Hour)
	token, _, _ := s.Issue("org1", "standard", "user1", 3, time.Now())
	c, err := s.Verify(token)
	fmt.Println(strings.Count(token, "."), c.Org, c.Plan, c.Subject, c.TokenVersion, c.Audience, err)
	// Output: 2 org1 standard user1 3 [integration-hub/session] <nil>
}

func sign(t *testing.T, method jwt.SigningMethod, k any, c jwt.Claims) string {
	tok, err := jwt.NewWithClaims(method, c).SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyRefusesEverythingButAFreshHubSession(t *testing.T) {
	now := time.Now()
	valid := func() sessions.Claims {
		return sessions.Claims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: sessions.Issuer, Subject: "u1", Audience: jwt.ClaimStrings{sessions.Audience},
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
			},
			Org: "o1",
		}
	}
	with := func(f func(*sessions.Claims)) sessions.Claims { c := valid(); f(&c); return c }
	cases := map[string]string{
		"alg none":             sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid()),
		"other key":            sign(t, jwt.SigningMethodHS256, bytes.Repeat([]byte{8}, 32), valid()),
		"HS512":                sign(t, jwt.SigningMethodHS512, key, valid()),
		"expired":              sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) })),
		"no expiry":            sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.ExpiresAt = nil })),
		"issued in future":     sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) })),
		"marketplace audience": sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.Audience = jwt.ClaimStrings{"marketplace"} })),
		"other issuer":         sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.Issuer = "someone" })),
		"no organization":      sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.Org = "" })),
		"oversized":            strings.Repeat("a", sessions.MaxTokenSize+1),
		"garbage":              "not.a.jwt",
	}
	s := signer(t)
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Verify(tok); !errors.Is(err, sessions.ErrInvalid) {
				t.Fatalf("Verify = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := s.Verify(sign(t, jwt.SigningMethodHS256, key, valid())); err != nil {
		t.Fatalf("a valid token was refused: %v", err)
	}
}
