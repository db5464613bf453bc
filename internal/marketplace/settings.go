package marketplace

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/marketplace/tokens"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sessions"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/storage"
)

// Entity types of the settings document and of its verifier copies.
const (
	SettingsType = "marketplace_settings"
	VerifierType = "marketplace_verifier"
)

// Limits of the settings.
const (
	MaxIssuerLength    = 256
	MaxAudienceLength  = 256
	MaxKeyIDLength     = 128
	MaxPublicKeys      = 10
	MaxSecrets         = 3 // the current one and up to two in their grace period
	MinMaxLifetime     = time.Minute
	MaxMaxLifetime     = 24 * time.Hour
	MaxLeeway          = 5 * time.Minute
	DefaultGracePeriod = 24 * time.Hour
	MaxGracePeriod     = 30 * 24 * time.Hour
	// MaxKeyText caps a pasted PEM or JWK.
	MaxKeyText = 16 << 10
)

// secretKeyIDPrefix starts the kid the hub gives each HS256 secret.
const secretKeyIDPrefix = "hs256-"

// storedSecret is an HS256 secret, sealed. RetiresAt is nil for the current
// secret; a rotated-out one verifies until RetiresAt.
type storedSecret struct {
	Kid       string     `json:"kid"`
	Sealed    string     `json:"sealed"`
	CreatedAt time.Time  `json:"created_at"`
	RetiresAt *time.Time `json:"retires_at,omitempty"`
}

func (s storedSecret) liveAt(now time.Time) bool {
	return s.RetiresAt == nil || now.Before(*s.RetiresAt)
}

// storedKey is a registered public key and its one algorithm.
type storedKey struct {
	Kid       string           `json:"kid"`
	Algorithm tokens.Algorithm `json:"alg"`
	// PKIX is the key's PKIX DER, base64 (tokens.EncodePublicKey).
	PKIX      string    `json:"pkix"`
	CreatedAt time.Time `json:"created_at"`
}

// document is the stored settings and, byte for byte, each verifier copy.
type document struct {
	Org                string            `json:"org"`
	Issuer             string            `json:"issuer,omitempty"`
	Audience           string            `json:"audience,omitempty"`
	MaxLifetimeSeconds int64             `json:"max_lifetime_seconds"`
	LeewaySeconds      int64             `json:"leeway_seconds"`
	Claims             tokens.ClaimNames `json:"claims"`
	JWKSURL            string            `json:"jwks_url,omitempty"`
	Secrets            []storedSecret    `json:"secrets"`
	PublicKeys         []storedKey       `json:"public_keys"`
	UpdatedAt          time.Time         `json:"updated_at,omitzero"`
	UpdatedBy          string            `json:"updated_by,omitempty"`
}

func defaultDocument(org string) document {
	return document{
		Org:                org,
		MaxLifetimeSeconds: int64(tokens.DefaultMaxLifetime / time.Second),
		LeewaySeconds:      int64(tokens.DefaultLeeway / time.Second),
		Claims:             tokens.DefaultClaimNames,
		Secrets:            []storedSecret{},
		PublicKeys:         []storedKey{},
	}
}

// rules are the document's token rules, with its algorithm allow-list: the
// algorithms of its live keys, and the public ones when a JWKS URL is set.
func (d document) rules(now time.Time) tokens.Rules {
	var algs []tokens.Algorithm
	add := func(a tokens.Algorithm) {
		if !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	for _, s := range d.Secrets {
		if s.liveAt(now) {
			add(tokens.HS256)
		}
	}
	for _, k := range d.PublicKeys {
		add(k.Algorithm)
	}
	if d.JWKSURL != "" {
		for _, a := range tokens.PublicAlgorithms {
			add(a)
		}
	}
	return tokens.Rules{
		Algorithms:  algs,
		Issuer:      d.Issuer,
		Audience:    d.Audience,
		MaxLifetime: time.Duration(d.MaxLifetimeSeconds) * time.Second,
		Leeway:      time.Duration(d.LeewaySeconds) * time.Second,
		Claims:      d.Claims,
	}
}

// sealContext binds a sealed secret to its organization and kid.
func sealContext(org, kid string) []byte { return []byte("marketplace/" + org + "/" + kid) }

// guard is one verifier copy's key and the input it makes unique.
type guard struct {
	key   storage.Key
	field string
}

// guards are the verifier copies of the document: under its issuer, and
// under each of its keys' ids.
func (d document) guards() []guard {
	var out []guard
	if d.Issuer != "" {
		out = append(out, guard{keys.MarketplaceIssuer(d.Issuer), "issuer"})
	}
	for _, s := range d.Secrets {
		out = append(out, guard{keys.MarketplaceKeyID(s.Kid), "kid"})
	}
	for _, k := range d.PublicKeys {
		out = append(out, guard{keys.MarketplaceKeyID(k.Kid), "kid"})
	}
	return out
}

func (d document) hasKeyID(kid string) bool {
	for _, s := range d.Secrets {
		if s.Kid == kid {
			return true
		}
	}
	for _, k := range d.PublicKeys {
		if k.Kid == kid {
			return true
		}
	}
	return false
}

// SecretInfo describes an HS256 secret; the secret itself is shown once,
// when it is made.
type SecretInfo struct {
	Kid       string           `json:"kid"`
	Algorithm tokens.Algorithm `json:"algorithm"`
	CreatedAt time.Time        `json:"created_at"`
	// RetiresAt is when a rotated-out secret stops verifying; null for the
	// current secret.
	RetiresAt *time.Time `json:"retires_at"`
	Status    string     `json:"status"` // current or retiring
}

// KeyInfo describes a registered public key.
type KeyInfo struct {
	Kid       string           `json:"kid"`
	Algorithm tokens.Algorithm `json:"algorithm"`
	CreatedAt time.Time        `json:"created_at"`
}

// Settings are the marketplace settings as hub users see them: never a
// secret.
type Settings struct {
	Issuer             string            `json:"issuer"`
	Audience           string            `json:"audience"`
	MaxLifetimeSeconds int64             `json:"max_lifetime_seconds"`
	LeewaySeconds      int64             `json:"leeway_seconds"`
	Claims             tokens.ClaimNames `json:"claims"`
	JWKSURL            string            `json:"jwks_url"`
	Secrets            []SecretInfo      `json:"secrets"`
	PublicKeys         []KeyInfo         `json:"public_keys"`
	UpdatedAt          *time.Time        `json:"updated_at"`
	UpdatedBy          string            `json:"updated_by,omitempty"`
}

func (d document) view(now time.Time) Settings {
	out := Settings{
		Issuer: d.Issuer, Audience: d.Audience, MaxLifetimeSeconds: d.MaxLifetimeSeconds, LeewaySeconds: d.LeewaySeconds,
		Claims: d.Claims, JWKSURL: d.JWKSURL, Secrets: []SecretInfo{}, PublicKeys: []KeyInfo{}, UpdatedBy: d.UpdatedBy,
	}
	if !d.UpdatedAt.IsZero() {
		at := d.UpdatedAt
		out.UpdatedAt = &at
	}
	for _, s := range d.Secrets {
		if !s.liveAt(now) {
			continue
		}
		status := "current"
		if s.RetiresAt != nil {
			status = "retiring"
		}
		out.Secrets = append(out.Secrets, SecretInfo{Kid: s.Kid, Algorithm: tokens.HS256, CreatedAt: s.CreatedAt, RetiresAt: s.RetiresAt, Status: status})
	}
	for _, k := range d.PublicKeys {
		out.PublicKeys = append(out.PublicKeys, KeyInfo{Kid: k.Kid, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt})
	}
	return out
}

var (
	errHubUsersOnly      = apperr.New(apperr.Forbidden, "hub_users_only", "only hub users change the marketplace settings")
	errIssuerUnavailable = &apperr.Error{Kind: apperr.Conflict, Code: "issuer_unavailable", Field: "issuer", Detail: "this issuer is already in use; choose one that names your organization"}
	errKeyIDUnavailable  = &apperr.Error{Kind: apperr.Conflict, Code: "kid_unavailable", Field: "kid", Detail: "this kid is already in use; choose another"}
	errTooManySecrets    = apperr.New(apperr.Conflict, "too_many_secrets", fmt.Sprintf("at most %d secrets at once: delete a retiring secret first", MaxSecrets))
	errTooManyKeys       = &apperr.Error{Kind: apperr.Conflict, Code: "too_many_keys", Field: "key", Detail: fmt.Sprintf("at most %d public keys at once: delete one first", MaxPublicKeys)}
	errSecretNotFound    = apperr.New(apperr.NotFound, "secret_not_found", "no such secret")
	errKeyNotFound       = apperr.New(apperr.NotFound, "key_not_found", "no such public key")
)

func requireHubUser(p principal.Principal) error {
	if p.Kind != principal.HubUser {
		return errHubUsersOnly
	}
	return nil
}

// load reads the organization's document; never written, it is the
// defaults at version 0.
func (s *Service) load(ctx context.Context, org string) (document, int64, error) {
	doc := defaultDocument(org)
	version, err := settings.Load(ctx, s.Table, keys.MarketplaceSettings(org), SettingsType, &doc)
	if err != nil {
		return document{}, 0, fmt.Errorf("marketplace: %w", err)
	}
	if doc.Org != org {
		return document{}, 0, fmt.Errorf("marketplace: settings of %s name organization %q", org, doc.Org)
	}
	return doc, version, nil
}

// loadForWrite reads the document a write changes, refusing a stale
// If-Match before any work.
func (s *Service) loadForWrite(ctx context.Context, p principal.Principal, ifMatch int64) (document, error) {
	if err := requireHubUser(p); err != nil {
		return document{}, err
	}
	doc, version, err := s.load(ctx, p.Org)
	if err != nil {
		return document{}, err
	}
	if version != ifMatch {
		return document{}, settings.ErrStale
	}
	return doc, nil
}

// Read returns the settings and their version.
func (s *Service) Read(ctx context.Context, p principal.Principal) (Settings, int64, error) {
	if err := requireHubUser(p); err != nil {
		return Settings{}, 0, err
	}
	doc, version, err := s.load(ctx, p.Org)
	if err != nil {
		return Settings{}, 0, err
	}
	return doc.view(s.now()), version, nil
}

// save writes after as the version after read, with its verifier copies:
// every copy of after is written at the new version (a new issuer or kid
// conditional on being absent, an existing one on read), and every copy
// of before that after no longer has is deleted. Secrets past their grace
// period are dropped first.
func (s *Service) save(ctx context.Context, p principal.Principal, read int64, before, after document) (int64, error) {
	now := s.now()
	live := make([]storedSecret, 0, len(after.Secrets))
	for _, sec := range after.Secrets {
		if sec.liveAt(now) {
			live = append(live, sec)
		}
	}
	after.Secrets, after.UpdatedAt, after.UpdatedBy = live, now, p.Subject
	if after.PublicKeys == nil {
		after.PublicKeys = []storedKey{}
	}
	put, err := settings.Put(keys.MarketplaceSettings(p.Org), SettingsType, after, read)
	if err != nil {
		return 0, err
	}
	data, err := json.Marshal(after)
	if err != nil {
		return 0, fmt.Errorf("marketplace: encode verifier: %w", err)
	}
	existed := map[storage.Key]bool{}
	for _, g := range before.guards() {
		existed[g.key] = true
	}
	ops := []storage.Op{put}
	fieldOf := map[int]string{}
	kept := map[storage.Key]bool{}
	for _, g := range after.guards() {
		kept[g.key] = true
		cond := storage.Absent()
		if existed[g.key] {
			cond = storage.VersionIs(read)
		} else {
			fieldOf[len(ops)] = g.field
		}
		ops = append(ops, storage.Put(storage.Item{Key: g.key, Type: VerifierType, Version: read + 1, Data: data}, cond))
	}
	for _, g := range before.guards() {
		if !kept[g.key] {
			ops = append(ops, storage.Delete(g.key, storage.VersionIs(read)))
		}
	}
	err = s.Table.Write(ctx, ops...)
	var failed *storage.ConditionFailedError
	if errors.As(err, &failed) {
		switch fieldOf[failed.Index] {
		case "issuer":
			return 0, errIssuerUnavailable
		case "kid":
			return 0, errKeyIDUnavailable
		}
		return 0, settings.ErrStale
	}
	if err != nil {
		return 0, fmt.Errorf("marketplace: write settings: %w", err)
	}
	return read + 1, nil
}

// ClaimsInput names the claims; an empty name keeps the default.
type ClaimsInput struct {
	EndUserID string `json:"end_user_id"`
	Groups    string `json:"groups"`
	Tier      string `json:"tier"`
}

// RulesInput replaces the token rules; what it leaves out goes back to its
// default (no issuer, no audience, 1 hour, 30 s, sub / xti.user_group /
// xti.user_tier, no JWKS URL).
type RulesInput struct {
	Issuer             string       `json:"issuer"`
	Audience           string       `json:"audience"`
	MaxLifetimeSeconds *int64       `json:"max_lifetime_seconds"`
	LeewaySeconds      *int64       `json:"leeway_seconds"`
	Claims             *ClaimsInput `json:"claims"`
	JWKSURL            string       `json:"jwks_url"`
}

// tokenString checks an issuer or audience: printable, no spaces, at most
// limit bytes, and not the hub's own session value.
func tokenString(field, raw string, limit int, reserved string) (string, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", nil
	}
	if len(v) > limit || strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		return "", apperr.Field(field, "invalid_"+field, "%s has 1 to %d printable characters without spaces", field, limit)
	}
	if v == reserved {
		return "", apperr.Field(field, "reserved_"+field, "%q is the hub's own %s; marketplace tokens cannot use it", v, field)
	}
	return v, nil
}

func seconds(field string, v *int64, def, min, max time.Duration) (int64, error) {
	if v == nil {
		return int64(def / time.Second), nil
	}
	if d := time.Duration(*v) * time.Second; *v < 0 || d < min || d > max {
		return 0, apperr.Field(field, "out_of_range", "%s is from %d to %d", field, int64(min/time.Second), int64(max/time.Second))
	}
	return *v, nil
}

func claimName(field, raw, def string) (string, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return def, nil
	}
	if !tokens.ValidClaimPath(v) {
		return "", apperr.Field(field, "invalid_claim", "%s names a claim (\"sub\") or a member of one (\"xti.user_group\")", field)
	}
	return v, nil
}

// UpdateRules replaces the token rules of the document read at ifMatch.
func (s *Service) UpdateRules(ctx context.Context, p principal.Principal, ifMatch int64, in RulesInput) (Settings, int64, error) {
	var err error
	var next document
	if next.Issuer, err = tokenString("issuer", in.Issuer, MaxIssuerLength, sessions.Issuer); err != nil {
		return Settings{}, 0, err
	}
	if next.Audience, err = tokenString("audience", in.Audience, MaxAudienceLength, sessions.Audience); err != nil {
		return Settings{}, 0, err
	}
	if next.MaxLifetimeSeconds, err = seconds("max_lifetime_seconds", in.MaxLifetimeSeconds, tokens.DefaultMaxLifetime, MinMaxLifetime, MaxMaxLifetime); err != nil {
		return Settings{}, 0, err
	}
	if next.LeewaySeconds, err = seconds("leeway_seconds", in.LeewaySeconds, tokens.DefaultLeeway, 0, MaxLeeway); err != nil {
		return Settings{}, 0, err
	}
	claims := ClaimsInput{}
	if in.Claims != nil {
		claims = *in.Claims
	}
	if next.Claims.EndUserID, err = claimName("claims.end_user_id", claims.EndUserID, tokens.DefaultEndUserID); err != nil {
		return Settings{}, 0, err
	}
	if next.Claims.Groups, err = claimName("claims.groups", claims.Groups, tokens.DefaultGroups); err != nil {
		return Settings{}, 0, err
	}
	if next.Claims.Tier, err = claimName("claims.tier", claims.Tier, tokens.DefaultTier); err != nil {
		return Settings{}, 0, err
	}
	if strings.TrimSpace(in.JWKSURL) != "" {
		if next.JWKSURL, err = settings.HTTPSURL("jwks_url", in.JWKSURL); err != nil {
			return Settings{}, 0, err
		}
		if next.Issuer == "" {
			// Keys fetched later have no kid guard: only the issuer can
			// lead the authorizer to this organization.
			return Settings{}, 0, apperr.Field("issuer", "issuer_required", "an issuer is required with a JWKS URL")
		}
	}
	doc, err := s.loadForWrite(ctx, p, ifMatch)
	if err != nil {
		return Settings{}, 0, err
	}
	after := doc
	after.Issuer, after.Audience, after.MaxLifetimeSeconds, after.LeewaySeconds = next.Issuer, next.Audience, next.MaxLifetimeSeconds, next.LeewaySeconds
	after.Claims, after.JWKSURL = next.Claims, next.JWKSURL
	version, err := s.save(ctx, p, ifMatch, doc, after)
	if err != nil {
		return Settings{}, 0, err
	}
	return after.view(s.now()), version, nil
}

// SecretInput makes a new HS256 secret. GracePeriodSeconds is how long the
// current secret keeps verifying once the new one exists (default one day,
// 0 ends it at once).
type SecretInput struct {
	GracePeriodSeconds *int64 `json:"grace_period_seconds"`
}

// NewSecret is a secret as shown once, when it is made. The HMAC key is
// the secret's text as given (its ASCII bytes).
type NewSecret struct {
	Kid       string           `json:"kid"`
	Algorithm tokens.Algorithm `json:"algorithm"`
	Secret    string           `json:"secret"`
	CreatedAt time.Time        `json:"created_at"`
	Settings  Settings         `json:"settings"`
}

// CreateSecret makes a new current HS256 secret; the previous current one
// retires after the grace period.
func (s *Service) CreateSecret(ctx context.Context, p principal.Principal, ifMatch int64, in SecretInput) (NewSecret, int64, error) {
	grace, err := seconds("grace_period_seconds", in.GracePeriodSeconds, DefaultGracePeriod, 0, MaxGracePeriod)
	if err != nil {
		return NewSecret{}, 0, err
	}
	doc, err := s.loadForWrite(ctx, p, ifMatch)
	if err != nil {
		return NewSecret{}, 0, err
	}
	now := s.now()
	after := doc
	after.Secrets = nil
	for _, sec := range doc.Secrets {
		if !sec.liveAt(now) {
			continue
		}
		if sec.RetiresAt == nil {
			retires := now.Add(time.Duration(grace) * time.Second)
			sec.RetiresAt = &retires
		}
		if sec.liveAt(now) {
			after.Secrets = append(after.Secrets, sec)
		}
	}
	if len(after.Secrets) >= MaxSecrets {
		return NewSecret{}, 0, errTooManySecrets
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return NewSecret{}, 0, fmt.Errorf("marketplace: no randomness: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	kid := secretKeyIDPrefix + strings.ToLower(ids.At(now))
	after.Secrets = append(after.Secrets, storedSecret{Kid: kid, Sealed: s.Secrets.Seal([]byte(secret), sealContext(p.Org, kid)), CreatedAt: now})
	version, err := s.save(ctx, p, ifMatch, doc, after)
	if err != nil {
		return NewSecret{}, 0, err
	}
	return NewSecret{Kid: kid, Algorithm: tokens.HS256, Secret: secret, CreatedAt: now, Settings: after.view(now)}, version, nil
}

// DeleteSecret ends a secret at once (current or retiring).
func (s *Service) DeleteSecret(ctx context.Context, p principal.Principal, ifMatch int64, kid string) (Settings, int64, error) {
	doc, err := s.loadForWrite(ctx, p, ifMatch)
	if err != nil {
		return Settings{}, 0, err
	}
	after := doc
	after.Secrets = slices.DeleteFunc(slices.Clone(doc.Secrets), func(sec storedSecret) bool { return sec.Kid == kid })
	if len(after.Secrets) == len(doc.Secrets) {
		return Settings{}, 0, errSecretNotFound
	}
	version, err := s.save(ctx, p, ifMatch, doc, after)
	if err != nil {
		return Settings{}, 0, err
	}
	return after.view(s.now()), version, nil
}

// KeyInput registers a public key: PEM ("PUBLIC KEY" or "RSA PUBLIC KEY")
// or one JWK. Kid and Algorithm may come from the JWK; given twice they
// must agree.
type KeyInput struct {
	Kid       string `json:"kid"`
	Algorithm string `json:"algorithm"`
	Key       string `json:"key"`
}

func validKeyID(kid string) bool {
	if kid == "" || len(kid) > MaxKeyIDLength || strings.HasPrefix(kid, secretKeyIDPrefix) {
		return false
	}
	for i := 0; i < len(kid); i++ {
		if kid[i] <= 0x20 || kid[i] >= 0x7f {
			return false
		}
	}
	return true
}

func (in KeyInput) parse() (storedKey, error) {
	if strings.TrimSpace(in.Key) == "" {
		return storedKey{}, apperr.Field("key", "required", "key is a PEM public key or a JWK")
	}
	if len(in.Key) > MaxKeyText {
		return storedKey{}, apperr.Field("key", "key_too_large", "key is at most %d bytes", MaxKeyText)
	}
	parsed, err := tokens.ParsePublicKey(in.Key)
	if err != nil {
		return storedKey{}, apperr.Field("key", "invalid_key", "%s", strings.TrimPrefix(err.Error(), tokens.ErrKeyMaterial.Error()+": "))
	}
	kid := strings.TrimSpace(in.Kid)
	switch {
	case kid == "":
		kid = parsed.Kid
	case parsed.Kid != "" && parsed.Kid != kid:
		return storedKey{}, apperr.Field("kid", "kid_mismatch", "kid %q differs from the JWK's kid %q", kid, parsed.Kid)
	}
	if !validKeyID(kid) {
		return storedKey{}, apperr.Field("kid", "invalid_kid", "kid has 1 to %d printable ASCII characters without spaces and does not start with %q", MaxKeyIDLength, secretKeyIDPrefix)
	}
	alg := parsed.Algorithm
	if in.Algorithm != "" {
		given, ok := tokens.ParsePublicAlgorithm(in.Algorithm)
		if !ok {
			return storedKey{}, apperr.Field("algorithm", "invalid_algorithm", "algorithm is RS256, ES256 or EdDSA")
		}
		if alg != "" && alg != given {
			return storedKey{}, apperr.Field("algorithm", "algorithm_mismatch", "the JWK is a %s key, not %s", alg, given)
		}
		alg = given
	}
	if alg == "" {
		return storedKey{}, apperr.Field("algorithm", "required", "algorithm is RS256, ES256 or EdDSA")
	}
	if err := tokens.CheckKeyType(alg, parsed.Public); err != nil {
		return storedKey{}, apperr.Field("key", "invalid_key", "%s", strings.TrimPrefix(err.Error(), tokens.ErrKeyMaterial.Error()+": "))
	}
	pkix, err := tokens.EncodePublicKey(parsed.Public)
	if err != nil {
		return storedKey{}, apperr.Field("key", "invalid_key", "the key cannot be stored")
	}
	return storedKey{Kid: kid, Algorithm: alg, PKIX: pkix}, nil
}

// AddKey registers a public key.
func (s *Service) AddKey(ctx context.Context, p principal.Principal, ifMatch int64, in KeyInput) (Settings, int64, error) {
	key, err := in.parse()
	if err != nil {
		return Settings{}, 0, err
	}
	doc, err := s.loadForWrite(ctx, p, ifMatch)
	if err != nil {
		return Settings{}, 0, err
	}
	if doc.hasKeyID(key.Kid) {
		return Settings{}, 0, &apperr.Error{Kind: apperr.Conflict, Code: "kid_taken", Field: "kid", Detail: "this organization already has a key with this kid"}
	}
	if len(doc.PublicKeys) >= MaxPublicKeys {
		return Settings{}, 0, errTooManyKeys
	}
	key.CreatedAt = s.now()
	after := doc
	after.PublicKeys = append(slices.Clone(doc.PublicKeys), key)
	version, err := s.save(ctx, p, ifMatch, doc, after)
	if err != nil {
		return Settings{}, 0, err
	}
	return after.view(s.now()), version, nil
}

// DeleteKey removes a public key; tokens it signed stop verifying at once.
func (s *Service) DeleteKey(ctx context.Context, p principal.Principal, ifMatch int64, kid string) (Settings, int64, error) {
	doc, err := s.loadForWrite(ctx, p, ifMatch)
	if err != nil {
		return Settings{}, 0, err
	}
	after := doc
	after.PublicKeys = slices.DeleteFunc(slices.Clone(doc.PublicKeys), func(k storedKey) bool { return k.Kid == kid })
	if len(after.PublicKeys) == len(doc.PublicKeys) {
		return Settings{}, 0, errKeyNotFound
	}
	version, err := s.save(ctx, p, ifMatch, doc, after)
	if err != nil {
		return Settings{}, 0, err
	}
	return after.view(s.now()), version, nil
}

// openSecret unseals an HS256 secret of org.
func openSecret(box *secrets.Box, org string, sec storedSecret) ([]byte, error) {
	plain, err := box.Open(sec.Sealed, sealContext(org, sec.Kid))
	if err != nil {
		return nil, fmt.Errorf("marketplace: open secret %s of %s: %w", sec.Kid, org, err)
	}
	return plain, nil
}
