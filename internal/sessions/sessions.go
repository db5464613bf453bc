// Package sessions issues and verifies hub session tokens: short-lived JWTs
// signed with HS256 under a key derived from the hub's master secret. Their
// issuer and audience are the hub's own, which no marketplace token may
// carry, and their key is never an organization's key, so neither kind can
// pass as the other (RFC 8725 §3.11–3.12).
package sessions

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/jwtparts"
)

const (
	// Issuer and Audience of every hub session token.
	Issuer   = "integration-hub"
	Audience = "integration-hub/session"
	// KeyPurpose derives the signing key from the keyring.
	KeyPurpose = "session-hs256"
	// DefaultTTL is a session's lifetime.
	DefaultTTL = time.Hour
	// Leeway tolerates clock skew between the signer and the authorizer.
	Leeway = 30 * time.Second
	// MaxTokenSize refuses oversized tokens before parsing them.
	MaxTokenSize = 4096
)

// Claims of a session token.
type Claims struct {
	jwt.RegisteredClaims
	Org string `json:"org"`
	// Plan of the organization at sign-in, so the authorizer need not
	// read the organization on every request.
	Plan string `json:"plan"`
	// TokenVersion is the user's token version at sign-in; a reset or a
	// sign-out raises the stored one and voids every older session.
	TokenVersion int64 `json:"tv"`
}

// ErrInvalid: the token is not a valid, current session token. The cause
// is wrapped for logs; the caller only learns "unauthenticated".
var ErrInvalid = errors.New("sessions: invalid token")

// ErrNotSession: the token does not present itself as a hub session (it
// is not a JWT naming the hub's issuer, or is longer than any session), so
// it is some other verifier's to decide. It wraps ErrInvalid: to a caller
// that only wants sessions it is one more invalid token.
var ErrNotSession = fmt.Errorf("%w: not a hub session", ErrInvalid)

// ErrExpired: a session token whose signature verified but whose time is
// up. It wraps ErrInvalid.
var ErrExpired = fmt.Errorf("%w: expired", ErrInvalid)

// Signer issues and verifies sessions.
type Signer struct {
	key []byte
	ttl time.Duration
	// validator checks a session's issuer, audience and times.
	validator *jwt.Validator
}

// NewSigner uses key (32 bytes or more) for HS256.
func NewSigner(key []byte, ttl time.Duration) (*Signer, error) {
	if len(key) < 32 {
		return nil, errors.New("sessions: key shorter than 32 bytes")
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	s := &Signer{
		key: key,
		ttl: ttl,
		validator: jwt.NewValidator(
			jwt.WithIssuer(Issuer),
			jwt.WithAudience(Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
		),
	}
	return s, nil
}

// Issue signs a session for a user.
func (s *Signer) Issue(org, plan, user string, tokenVersion int64, now time.Time) (token string, expires time.Time, err error) {
	expires = now.Add(s.ttl).Truncate(time.Second)
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   user,
			Audience:  jwt.ClaimStrings{Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
			ID:        ids.At(now),
		},
		Org:          org,
		Plan:         plan,
		TokenVersion: tokenVersion,
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sessions: sign: %w", err)
	}
	return token, expires, nil
}

// Verify checks a token's signature, algorithm, issuer, audience and times,
// and returns its claims. It does not check the token version: that needs
// the user's item, which the authorizer reads.
//
// A token that does not present itself as a session is ErrNotSession:
// over MaxTokenSize, or one LooksLikeSession refuses. Verify tells so from
// its own read of the token (package jwtparts; the signature and the
// claims are checked by golang-jwt), so a caller routing tokens by kind
// reads a session once; the session key never verifies a token naming
// another issuer.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > MaxTokenSize {
		return Claims{}, fmt.Errorf("%w: over %d bytes", ErrNotSession, MaxTokenSize)
	}
	if cannotNameHubIssuer(token) {
		return Claims{}, ErrNotSession
	}
	// What LooksLikeSession refuses: a token golang-jwt cannot read
	// (segments, base64, JSON, an alg it does not know), or one naming
	// another issuer. The session key never verifies any of them.
	parts, err := jwtparts.Split(token)
	if err != nil {
		return Claims{}, ErrNotSession
	}
	var c Claims
	if err := json.Unmarshal(parts.Payload, &c); err != nil || c.Issuer != Issuer {
		return Claims{}, ErrNotSession
	}
	if err := parts.Allowed(hs256); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := parts.Verify(s.key); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := s.validator.Validate(&c); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Claims{}, fmt.Errorf("%w: %v", ErrExpired, err)
		}
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.Subject == "" || c.Org == "" {
		return Claims{}, fmt.Errorf("%w: no subject or organization", ErrInvalid)
	}
	return c, nil
}

// cannotNameHubIssuer reports, before any JSON is read, a token that
// LooksLikeSession refuses for certain: it is not three segments, its
// payload is not base64url, or the payload holds neither the issuer
// literally nor any backslash (so not the issuer spelt with JSON escapes
// either). Other tokens, most marketplace tokens among them, no longer pay
// for a full parse as a session before their own verifier parses them.
func cannotNameHubIssuer(token string) bool {
	_, rest, ok := strings.Cut(token, ".")
	payloadSeg, signature, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(signature, ".") {
		return true
	}
	// A session holds the issuer literally, so its payload's base64 holds
	// one of these runs, and goes to the parse without being decoded here
	// too. A run found elsewhere than on the issuer only costs that parse.
	for _, run := range issuerInBase64 {
		if strings.Contains(payloadSeg, run) {
			return false
		}
	}
	payload, err := base64.RawURLEncoding.DecodeString(payloadSeg)
	if err != nil {
		return true
	}
	return !bytes.Contains(payload, []byte(Issuer)) && bytes.IndexByte(payload, '\\') < 0
}

// issuerInBase64 are the base64url the issuer's bytes encode to at each of
// the three places they can start within base64's 3-byte groups, less the
// characters at either end that depend on neighbouring bytes too.
var issuerInBase64 = func() [3]string {
	var runs [3]string
	for offset := range runs {
		enc := base64.RawURLEncoding.EncodeToString(append(make([]byte, offset), Issuer...))
		runs[offset] = enc[(8*offset+5)/6 : 8*(offset+len(Issuer))/6]
	}
	return runs
}()

// hs256 is the one algorithm of a session.
var hs256 = []string{jwt.SigningMethodHS256.Alg()}

// LooksLikeSession reads a JWT's payload WITHOUT verifying it, to route it
// to the right verifier: a hub session names the hub's issuer and audience.
// The verifier that follows is what decides; a forged token that claims to
// be a session still has to pass Verify. Verify draws the same line
// (ErrNotSession) from the one parse it makes anyway.
func LooksLikeSession(token string) bool {
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return false
	}
	return c.Issuer == Issuer
}
