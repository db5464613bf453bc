package sessions_test

import (
	"bytes"
	"encoding/base64"
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
	// notSession: Verify hands the token back as another verifier's
	// (ErrNotSession) instead of refusing it as a bad session.
	cases := map[string]struct {
		token      string
		notSession bool
	}{
		"alg none":             {sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid()), false},
		"other key":            {sign(t, jwt.SigningMethodHS256, bytes.Repeat([]byte{8}, 32), valid()), false},
		"HS512":                {sign(t, jwt.SigningMethodHS512, key, valid()), false},
		"expired":              {sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) })), false},
		"no expiry":            {sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.ExpiresAt = nil })), false},
		"issued in future":     {sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) })), false},
		"marketplace audience": {sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.Audience = jwt.ClaimStrings{"marketplace"} })), false},
		"no organization":      {sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.Org = "" })), false},
		"other issuer":         {sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.Issuer = "someone" })), true},
		"no issuer":            {sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.Issuer = "" })), true},
		"hub issuer elsewhere": {sign(t, jwt.SigningMethodHS256, key, with(func(c *sessions.Claims) { c.Issuer, c.Subject = "someone", sessions.Issuer })), true},
		"unknown alg":          {"eyJhbGciOiJYWDk5In0." + strings.Split(sign(t, jwt.SigningMethodHS256, key, valid()), ".")[1] + ".c2ln", true},
		"oversized":            {strings.Repeat("a", sessions.MaxTokenSize+1), true},
		"garbage":              {"not.a.jwt", true},
	}
	s := signer(t)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.Verify(tc.token)
			if !errors.Is(err, sessions.ErrInvalid) {
				t.Fatalf("Verify = %v, want ErrInvalid", err)
			}
			if got := errors.Is(err, sessions.ErrNotSession); got != tc.notSession {
				t.Fatalf("Verify = %v: not a session %v, want %v", err, got, tc.notSession)
			}
			if len(tc.token) <= sessions.MaxTokenSize && sessions.LooksLikeSession(tc.token) == tc.notSession {
				t.Fatalf("LooksLikeSession = %v, but Verify's not-a-session is %v", !tc.notSession, tc.notSession)
			}
		})
	}
	if _, err := s.Verify(sign(t, jwt.SigningMethodHS256, key, valid())); err != nil {
		t.Fatalf("a valid token was refused: %v", err)
	}
	// The issuer and audience spelt with JSON escapes are still the hub's:
	// such a token is a session (and this one, signed with the key, a valid
	// one).
	escaped := signRaw(t, `{"iss":"integration\u002dhub","aud":"integration\u002dhub/session","sub":"u1","org":"o1","iat":`+
		fmt.Sprint(now.Unix())+`,"exp":`+fmt.Sprint(now.Add(time.Hour).Unix())+`}`)
	if c, err := s.Verify(escaped); err != nil || c.Issuer != sessions.Issuer || !sessions.LooksLikeSession(escaped) {
		t.Fatalf("a session whose issuer is escaped: %+v, %v", c, err)
	}
}

// signRaw signs payload, exactly as given, as an HS256 session would be.
func signRaw(t *testing.T, payload string) string {
	t.Helper()
	text := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sig, err := jwt.SigningMethodHS256.Sign(text, key)
	if err != nil {
		t.Fatal(err)
	}
	return text + "." + base64.RawURLEncoding.EncodeToString(sig)
}
