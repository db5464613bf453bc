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
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/jwtparts"
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

// Parsed is a token read once, not yet verified: Unverified says whose
// keys may verify it, and Verify decides with them, without decoding the
// token again.
type Parsed struct {
	Unverified
	parts  jwtparts.Parts
	claims claims
}

// Parse reads a token's header (alg as golang-jwt reads it: a method it
// knows; a kid that is not a string is none) and its payload's claims,
// without verifying anything. A claim is found by its exact name (RFC 7519
// names are case-sensitive: "ISS" is not iss). Only iss must be readable
// here (a string, or absent); the other claims are Verify's to judge.
func Parse(token string) (*Parsed, error) {
	if len(token) > MaxSize {
		return nil, refuse("token over %d bytes", MaxSize)
	}
	parts, err := jwtparts.Split(token)
	if err != nil {
		return nil, refuse("unparsable: %v", err)
	}
	p := &Parsed{parts: parts}
	if p.claims.raw, err = jwtparts.ReadObject(parts.Payload); err != nil {
		return nil, refuse("unparsable payload: %v", err)
	}
	if err := p.claims.str("iss", &p.claims.Issuer); err != nil {
		return nil, refuse("unparsable payload: %v", err)
	}
	p.Unverified = Unverified{Issuer: p.claims.Issuer, KeyID: parts.KeyID, Algorithm: parts.Alg}
	return p, nil
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

// claims are the registered claims, read by their exact names, plus every
// claim as raw JSON, for the claims an organization names.
type claims struct {
	jwt.RegisteredClaims
	raw jwtparts.Object
	// objects are the object claims lookup has read, by name: xti is
	// read for up to four values.
	objects map[string]jwtparts.Object
}

// present returns the claim name, absent when missing or null.
func (c *claims) present(name string) (json.RawMessage, bool) { return c.raw.Get(name) }

// str reads a string claim into dst; absent leaves it "".
func (c *claims) str(name string, dst *string) error {
	if v, ok := c.present(name); ok {
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("claim %s is not a string", name)
		}
	}
	return nil
}

// date reads a NumericDate claim as golang-jwt does (a number, or a string
// holding one, of seconds); absent is nil.
func (c *claims) date(name string) (*jwt.NumericDate, error) {
	v, ok := c.present(name)
	if !ok {
		return nil, nil
	}
	// The payload was decoded as JSON already, so a value starting with a
	// digit or '-' is a number literal: parsed as golang-jwt parses it,
	// without its second JSON decode.
	if v[0] == '-' || v[0] >= '0' && v[0] <= '9' {
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return numericDate(f), nil
		}
	}
	d := new(jwt.NumericDate)
	if err := d.UnmarshalJSON(v); err != nil {
		return nil, fmt.Errorf("claim %s is not a number", name)
	}
	return d, nil
}

// numericDate is golang-jwt's date of f seconds since the epoch.
func numericDate(f float64) *jwt.NumericDate {
	whole, frac := math.Modf(f)
	return jwt.NewNumericDate(time.Unix(int64(whole), int64(frac*1e9)))
}

// registered reads the registered claims other than iss (Parse read it)
// from the raw claims.
func (c *claims) registered() error {
	r := &c.RegisteredClaims
	if err := c.str("sub", &r.Subject); err != nil {
		return err
	}
	if err := c.str("jti", &r.ID); err != nil {
		return err
	}
	if v, ok := c.present("aud"); ok {
		if err := r.Audience.UnmarshalJSON(v); err != nil {
			return fmt.Errorf("claim aud is neither a string nor an array of strings")
		}
	}
	var err error
	if r.ExpiresAt, err = c.date("exp"); err != nil {
		return err
	}
	if r.NotBefore, err = c.date("nbf"); err != nil {
		return err
	}
	r.IssuedAt, err = c.date("iat")
	return err
}

// lookup finds the claim at path; ok is false when it is absent or null.
func (c *claims) lookup(path string) (json.RawMessage, bool, error) {
	first, member, nested := strings.Cut(path, ".")
	v, ok := c.present(first)
	if !ok {
		return nil, false, nil
	}
	if !nested {
		return v, true, nil
	}
	obj, read := c.objects[first]
	if !read {
		var err error
		if obj, err = jwtparts.ReadObject(v); err != nil {
			return nil, false, fmt.Errorf("claim %s is not an object", first)
		}
		if c.objects == nil {
			c.objects = make(map[string]jwtparts.Object, 1)
		}
		c.objects[first] = obj
	}
	v, ok = obj.Get(member)
	if !ok {
		return nil, false, nil
	}
	return v, true, nil
}

// Verify checks a token against rules with the keys find returns, at now:
// size, algorithm (only those of the offered keys; never none), signature,
// exp (required), nbf, iat, issuer, audience and lifetime, then reads the
// end-user's identity. Every invalid token is an error matching ErrRefused.
func Verify(ctx context.Context, token string, rules Rules, find KeyFinder, now time.Time) (Identity, error) {
	p, err := Parse(token)
	if err != nil {
		return Identity{}, err
	}
	return p.Verify(ctx, rules, find, now)
}

// Verify decides the parsed token as the package's Verify does: the
// organization's algorithms, the claims (golang-jwt's Validator with the
// rules; before any key is looked up, so an expired or unreadable token
// never costs a JWK Set fetch), then the signature with the keys for the
// token's alg and kid (golang-jwt's signing methods). Both must pass.
func (p *Parsed) Verify(ctx context.Context, rules Rules, find KeyFinder, now time.Time) (Identity, error) {
	if len(rules.Algorithms) == 0 {
		return Identity{}, refuse("the organization has no keys")
	}
	alg := Algorithm(p.parts.Alg)
	if alg != HS256 && !slices.Contains(PublicAlgorithms, alg) || !slices.Contains(rules.Algorithms, alg) {
		return Identity{}, refuse("signing method %s is not allowed", p.parts.Alg)
	}
	c := &p.claims
	if err := c.registered(); err != nil {
		return Identity{}, refuse("%v", err)
	}
	opts := []jwt.ParserOption{
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
	if err := jwt.NewValidator(opts...).Validate(c); err != nil {
		return Identity{}, refuse("%v", err)
	}
	keys, err := find(ctx, alg, p.parts.KeyID)
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return Identity{}, err
		}
		return Identity{}, fmt.Errorf("tokens: find keys: %w", err)
	}
	material := make([]any, 0, len(keys))
	for _, k := range keys {
		// The finder's promise, checked again: a key only ever verifies
		// its own algorithm.
		if k.Algorithm == alg {
			material = append(material, k.material)
		}
	}
	if len(material) == 0 {
		return Identity{}, refuse("no %s key with kid %q", alg, p.parts.KeyID)
	}
	if err := p.parts.Verify(material...); err != nil {
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
