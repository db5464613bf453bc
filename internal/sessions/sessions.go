// Package sessions issues and verifies hub session tokens: short-lived JWTs
// signed with HS256 under a key derived from the hub's master secret. Their
// issuer and audience are the hub's own, which no marketplace token may
// carry, and their key is never an organization's key, so neither kind can
// pass as the other (RFC 8725 §3.11–3.12).
package sessions

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/ids"
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

// Signer issues and verifies sessions.
type Signer struct {
	key    []byte
	ttl    time.Duration
	parser *jwt.Parser
}

// NewSigner uses key (32 bytes or more) for HS256.
func NewSigner(key []byte, ttl time.Duration) (*Signer, error) {
	if len(key) < 32 {
		return nil, errors.New("sessions: key shorter than 32 bytes")
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Signer{
		key: key,
		ttl: ttl,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(Issuer),
			jwt.WithAudience(Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
		),
	}, nil
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
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > MaxTokenSize {
		return Claims{}, fmt.Errorf("%w: over %d bytes", ErrInvalid, MaxTokenSize)
	}
	var c Claims
	_, err := s.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key, nil })
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.Subject == "" || c.Org == "" {
		return Claims{}, fmt.Errorf("%w: no subject or organization", ErrInvalid)
	}
	return c, nil
}

// LooksLikeSession reads a JWT's payload WITHOUT verifying it, to route it
// to the right verifier: a hub session names the hub's issuer and audience.
// The verifier that follows is what decides; a forged token that claims to
// be a session still has to pass Verify.
func LooksLikeSession(token string) bool {
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return false
	}
	return c.Issuer == Issuer
}
