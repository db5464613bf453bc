package sessions_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/sessions"
)

// FuzzVerify runs the session verifier on arbitrary tokens. It must never
// accept a token this signer did not issue (the only accepted ones carry
// the issued claims), and it calls a token not a session (ErrNotSession,
// which the authorizer hands to the marketplace) exactly when
// LooksLikeSession does, up to MaxTokenSize.
func FuzzVerify(f *testing.F) {
	s := signer(f)
	now := time.Now()
	valid, _, err := s.Issue("org1", "standard", "user1", 3, now)
	if err != nil {
		f.Fatal(err)
	}
	forged := jwt.NewWithClaims(jwt.SigningMethodHS256, sessions.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: sessions.Issuer, Audience: jwt.ClaimStrings{sessions.Audience}, Subject: "user1", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now)},
		Org:              "org2",
	})
	forgedToken, _ := forged.SignedString([]byte("not-the-hub-key-not-the-hub-key!"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": sessions.Issuer, "sub": "u", "org": "o"}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	escapedIssuer := "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"integration\u002dhub","sub":"u"}`)) + ".c2ln"
	for _, seed := range []string{valid, forgedToken, none, escapedIssuer, valid[:len(valid)-2], strings.ToUpper(valid), "a.b.c", "", strings.Repeat("a", sessions.MaxTokenSize+1)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		looks := sessions.LooksLikeSession(token)
		c, err := s.Verify(token)
		if notSession := errors.Is(err, sessions.ErrNotSession); len(token) <= sessions.MaxTokenSize && notSession == looks {
			t.Fatalf("Verify(%q) = %v, but LooksLikeSession = %v", token, err, looks)
		}
		if err != nil {
			return
		}
		if c.Org != "org1" || c.Subject != "user1" || c.TokenVersion != 3 || c.Plan != "standard" {
			t.Fatalf("Verify accepted %q with claims %+v, which the signer never issued", token, c)
		}
		if !looks {
			t.Fatalf("Verify accepted %q, which LooksLikeSession does not route to it", token)
		}
	})
}
