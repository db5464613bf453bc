// Package tokens verifies marketplace end-user tokens: the JWTs an
// organization's SaaS signs so that its end-users reach the In-App
// Marketplace. It knows nothing of storage: the caller finds the
// organization's rules and keys (package marketplace) and this package
// decides, with golang-jwt v5.
//
// The token format hub owners already use:
//
//	header  {"alg":"HS256","typ":"JWT","kid":"<optional>"}
//	payload {"iss":"<the organization's issuer>", "aud":"<its audience>",
//	         "sub":"<end-user id>", "iat":..., "exp":...,      (exp required)
//	         "xti":{"user_group":"gold" | ["gold","beta"], "user_tier":"pro",
//	                "hidden_integrations":["<integration id>", ...],
//	                "allowed_installs":3}}
//
// Which claim holds the end-user id, the groups and the tier is set per
// organization; hidden_integrations and allowed_installs are always read
// from xti.
package tokens

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// MaxSize refuses a longer token before any parsing.
const MaxSize = 8 << 10

// Defaults of an organization's token rules.
const (
	DefaultMaxLifetime = time.Hour
	DefaultLeeway      = 30 * time.Second
	DefaultEndUserID   = "sub"
	DefaultGroups      = "xti.user_group"
	DefaultTier        = "xti.user_tier"
)

// Unlimited is Identity.AllowedInstalls when the token sets no limit.
const Unlimited = -1

// Limits on what a token may carry.
const (
	MaxEndUserIDLength = 256
	MaxGroups          = 50
	MaxLabelLength     = 64 // one group, a tier, a hidden integration id
	MaxHidden          = 500
)

// ErrRefused matches every reason a token is not valid. The reason itself
// is for logs only.
var ErrRefused = errors.New("tokens: refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// ClaimNames say where a token carries the end-user id, groups and tier: a
// top-level claim ("sub") or a member of an object claim ("xti.user_group").
type ClaimNames struct {
	EndUserID string `json:"end_user_id"`
	Groups    string `json:"groups"`
	Tier      string `json:"tier"`
}

// DefaultClaimNames are sub, xti.user_group and xti.user_tier.
var DefaultClaimNames = ClaimNames{EndUserID: DefaultEndUserID, Groups: DefaultGroups, Tier: DefaultTier}

// ValidClaimPath reports whether path names a claim: one or two segments
// of letters, digits, '_', '-' or ':', joined by '.'.
func ValidClaimPath(path string) bool {
	segs := strings.Split(path, ".")
	if len(segs) > 2 || len(path) > 64 {
		return false
	}
	for _, s := range segs {
		if s == "" {
			return false
		}
		for _, r := range s {
			if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == ':')) {
				return false
			}
		}
	}
	return true
}

// Rules are what an organization expects of its tokens.
type Rules struct {
	// Algorithms is the organization's allow-list: the algorithms of the
	// keys it registered. A token signed with any other is refused before
	// a key is looked up; none is never one.
	Algorithms []Algorithm
	// Issuer and Audience, when set, must be the token's iss and one of its
	// aud values.
	Issuer, Audience string
	// MaxLifetime caps exp - iat (exp - now when iat is absent).
	MaxLifetime time.Duration
	// Leeway tolerates clock skew on exp, nbf and iat.
	Leeway time.Duration
	Claims ClaimNames
}

// Unverified is what the hub reads of a token before verifying it, to find
// whose keys verify it. Every field is untrusted input.
type Unverified struct {
	Issuer    string
	KeyID     string
	Algorithm string
}

// Peek reads a token's iss, kid and alg without verifying anything. It
// reads the header as golang-jwt does (alg must name a method it knows, a
// kid that is not a string is none) and of the payload only iss; Verify
// reads the rest, and decides.
func Peek(token string) (Unverified, error) {
	if len(token) > MaxSize {
		return Unverified{}, refuse("token over %d bytes", MaxSize)
	}
	headSeg, rest, ok := strings.Cut(token, ".")
	payloadSeg, sigSeg, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(sigSeg, ".") {
		return Unverified{}, refuse("unparsable: not three segments")
	}
	var header map[string]any
	if err := decodeSegment(headSeg, &header); err != nil {
		return Unverified{}, refuse("unparsable header: %v", err)
	}
	alg, ok := header["alg"].(string)
	if !ok || jwt.GetSigningMethod(alg) == nil {
		return Unverified{}, refuse("unparsable header: no known alg")
	}
	kid, _ := header["kid"].(string)
	var payload struct {
		Issuer string `json:"iss"`
	}
	if err := decodeSegment(payloadSeg, &payload); err != nil {
		return Unverified{}, refuse("unparsable payload: %v", err)
	}
	return Unverified{Issuer: payload.Issuer, KeyID: kid, Algorithm: alg}, nil
}

// decodeSegment reads a JWT segment as golang-jwt's default parser does:
// unpadded base64url, then JSON.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// KeyFinder returns the keys that may verify a token signed with alg under
// kid ("" when the token names none): only keys recorded with exactly alg,
// and live at the time of verification. An error other than ErrRefused is
// a failure to decide (a key set that could not be fetched).
type KeyFinder func(ctx context.Context, alg Algorithm, kid string) ([]Key, error)

// Identity is what a verified token says of its end-user.
type Identity struct {
	EndUser string
	Groups  []string
	Tier    string
	// Hidden are integration ids this end-user must not see.
	Hidden []string
	// AllowedInstalls caps the end-user's installed integrations;
	// Unlimited when the token sets none.
	AllowedInstalls int
	ExpiresAt       time.Time
}

// claims are the registered claims plus every claim as raw JSON, for the
// claims an organization names.
type claims struct {
	jwt.RegisteredClaims
	raw map[string]json.RawMessage
	// objects are the object claims lookup has decoded, by name: xti is
	// read for up to four values.
	objects map[string]map[string]json.RawMessage
}

func (c *claims) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &c.RegisteredClaims); err != nil {
		return err
	}
	return json.Unmarshal(b, &c.raw)
}

// lookup finds the claim at path; ok is false when it is absent or null.
func (c *claims) lookup(path string) (json.RawMessage, bool, error) {
	first, member, nested := strings.Cut(path, ".")
	v, ok := c.raw[first]
	if !ok || string(v) == "null" {
		return nil, false, nil
	}
	if !nested {
		return v, true, nil
	}
	obj, decoded := c.objects[first]
	if !decoded {
		if err := json.Unmarshal(v, &obj); err != nil {
			return nil, false, fmt.Errorf("claim %s is not an object", first)
		}
		if c.objects == nil {
			c.objects = make(map[string]map[string]json.RawMessage, 1)
		}
		c.objects[first] = obj
	}
	v, ok = obj[member]
	if !ok || string(v) == "null" {
		return nil, false, nil
	}
	return v, true, nil
}

type keySourceError struct{ err error }

func (e keySourceError) Error() string { return "key source: " + e.err.Error() }
func (e keySourceError) Unwrap() error { return e.err }

// Verify checks a token against rules with the keys find returns, at now:
// size, algorithm (only those of the offered keys; never none), signature,
// exp (required), nbf, iat, issuer, audience and lifetime, then reads the
// end-user's identity. Every invalid token is an error matching ErrRefused.
func Verify(ctx context.Context, token string, rules Rules, find KeyFinder, now time.Time) (Identity, error) {
	if len(token) > MaxSize {
		return Identity{}, refuse("token over %d bytes", MaxSize)
	}
	if len(rules.Algorithms) == 0 {
		return Identity{}, refuse("the organization has no keys")
	}
	var methods []string
	for _, a := range rules.Algorithms {
		if a == HS256 || slices.Contains(PublicAlgorithms, a) {
			methods = append(methods, string(a))
		}
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(rules.Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	if rules.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(rules.Issuer))
	}
	if rules.Audience != "" {
		opts = append(opts, jwt.WithAudience(rules.Audience))
	}
	var c claims
	_, err := jwt.NewParser(opts...).ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		alg := Algorithm(t.Method.Alg())
		kid, _ := t.Header["kid"].(string)
		keys, err := find(ctx, alg, kid)
		if err != nil {
			if errors.Is(err, ErrRefused) {
				return nil, err
			}
			return nil, keySourceError{err}
		}
		set := jwt.VerificationKeySet{}
		for _, k := range keys {
			// The finder's promise, checked again: a key only ever
			// verifies its own algorithm.
			if k.Algorithm == alg {
				set.Keys = append(set.Keys, k.material)
			}
		}
		if len(set.Keys) == 0 {
			return nil, refuse("no %s key with kid %q", alg, kid)
		}
		return set, nil
	})
	if err != nil {
		var src keySourceError
		if errors.As(err, &src) {
			return Identity{}, fmt.Errorf("tokens: find keys: %w", src.err)
		}
		if errors.Is(err, ErrRefused) {
			return Identity{}, err
		}
		return Identity{}, refuse("%v", err)
	}
	return c.identity(rules, now)
}

func (c *claims) identity(rules Rules, now time.Time) (Identity, error) {
	exp := c.ExpiresAt.Time
	start := now
	if c.IssuedAt != nil {
		start = c.IssuedAt.Time
	}
	if exp.Sub(start) > rules.MaxLifetime {
		return Identity{}, refuse("lifetime %s over the maximum %s", exp.Sub(start), rules.MaxLifetime)
	}
	names := rules.Claims
	id := Identity{AllowedInstalls: Unlimited, ExpiresAt: exp}
	var err error
	if id.EndUser, err = c.endUser(names.EndUserID); err != nil {
		return Identity{}, err
	}
	if names.Groups != "" {
		if id.Groups, err = c.labels(names.Groups, MaxGroups); err != nil {
			return Identity{}, err
		}
	}
	if names.Tier != "" {
		tiers, err := c.labels(names.Tier, 1)
		if err != nil {
			return Identity{}, err
		}
		if len(tiers) == 1 {
			id.Tier = tiers[0]
		}
	}
	if id.Hidden, err = c.labels("xti.hidden_integrations", MaxHidden); err != nil {
		return Identity{}, err
	}
	raw, ok, err := c.lookup("xti.allowed_installs")
	if err != nil {
		return Identity{}, refuse("%v", err)
	}
	if ok {
		var n int
		if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
			return Identity{}, refuse("xti.allowed_installs is not a whole number of zero or more")
		}
		id.AllowedInstalls = n
	}
	return id, nil
}

// endUser reads the end-user id: a string or (in a claim other than sub,
// which RFC 7519 makes a string) a whole number, 1 to
// MaxEndUserIDLength printable characters (the hub's keys encode it, so
// any printable character is safe).
func (c *claims) endUser(path string) (string, error) {
	raw, ok, err := c.lookup(path)
	if err != nil {
		return "", refuse("%v", err)
	}
	if !ok {
		return "", refuse("no end-user id in claim %s", path)
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", refuse("claim %s is neither a string nor a number", path)
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			return "", refuse("claim %s is not a whole number", path)
		}
		id = n.String()
	}
	if id == "" || utf8.RuneCountInString(id) > MaxEndUserIDLength || strings.IndexFunc(id, notPrintable) >= 0 {
		return "", refuse("claim %s is not a usable end-user id", path)
	}
	return id, nil
}

// labels reads a string or an array of strings (groups, a tier, hidden
// integration ids); absent is none.
func (c *claims) labels(path string, limit int) ([]string, error) {
	raw, ok, err := c.lookup(path)
	if err != nil {
		return nil, refuse("%v", err)
	}
	if !ok {
		return nil, nil
	}
	var list []string
	var one string
	if json.Unmarshal(raw, &one) == nil {
		list = []string{one}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, refuse("claim %s is neither a string nor an array of strings", path)
	}
	if len(list) > limit {
		return nil, refuse("claim %s has %d values, at most %d", path, len(list), limit)
	}
	for _, s := range list {
		if s == "" || len(s) > MaxLabelLength || strings.IndexFunc(s, notPrintable) >= 0 {
			return nil, refuse("claim %s holds an unusable value", path)
		}
	}
	return list, nil
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) }
