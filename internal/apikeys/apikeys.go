// Package apikeys is the API Access area: hub users create, list and revoke
// the API keys that scripts use against the public /v2 API, and the
// authorizer resolves a presented key to an API key principal (Resolver).
//
// A key reads ihk_<id>_<secret>: a recognisable prefix, the key's id (an
// ids value) and 32 random bytes of secret in unpadded base64url. It is
// shown once, when it is created; the table keeps only the SHA-256 of the
// secret. The secret is random and long, so a fast hash is the right one: no
// guess can be tested offline faster than the 256 bits allow.
//
// Each key is two items written and removed together: the record its
// organization lists (keys.APIKey) and the lookup item the authorizer reads
// by id alone (keys.APIKeyLookup), which holds the secret's hash. A key
// with an expiry is refused from then on; its lookup item stays
// ExpiredLookupKept longer, so that a script still using it is told the key
// expired (401 credential_expired) rather than that it is unknown, and is
// then removed by the table's TTL.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
)

// Prefix starts every API key; the authorizer tells keys from JWTs by it.
const Prefix = "ihk_"

// SecretBytes is the randomness of a key's secret.
const SecretBytes = 32

// Scopes an API key may hold. A key reaches only the /v2 routes one of its
// scopes opens; "manage" includes "read" and "start" includes "read".
const (
	// ScopeIntegrationsRead: list and read integrations.
	ScopeIntegrationsRead = "integrations:read"
	// ScopeTenantsRead: list and read tenants.
	ScopeTenantsRead = "tenants:read"
	// ScopeTenantsManage: create, change and archive tenants, and read them.
	ScopeTenantsManage = "tenants:manage"
	// ScopeRunsRead: read trigger statuses and list a tenant's runs.
	ScopeRunsRead = "runs:read"
	// ScopeRunsStart: start runs (sync), and read them.
	ScopeRunsStart = "runs:start"
	// ScopeRunsReport: report a run's outcome (the run executor).
	ScopeRunsReport = "runs:report"
)

// Scopes are every scope, in the order the API documents them.
var Scopes = []string{ScopeIntegrationsRead, ScopeTenantsRead, ScopeTenantsManage, ScopeRunsRead, ScopeRunsStart, ScopeRunsReport}

// Entity types of the two items of a key.
const (
	EntityType = "api_key"
	LookupType = "api_key_lookup"
)

// Limits of a key's fields.
const (
	MaxNameLength = 100
	// UsageInterval is how stale "last used at" may get: a key's use is
	// written at most once per interval.
	UsageInterval = time.Minute
)

// Key is a stored API key. SecretSHA256 is set on the lookup item only.
type Key struct {
	ID           string     `json:"id"`
	Org          string     `json:"org"`
	Plan         string     `json:"plan"`
	Name         string     `json:"name"`
	LastFour     string     `json:"last_four"`
	Scopes       []string   `json:"scopes"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	LastUsedAt   *time.Time `json:"last_used_at,omitempty"`
	SecretSHA256 string     `json:"secret_sha256,omitempty"`
}

// Expired reports whether the key's expiry has passed at now.
func (k Key) Expired(now time.Time) bool { return k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) }

// items are the key's record and lookup item at version.
func (k Key) items(version int64) (record, lookup storage.Item, err error) {
	withHash, err := json.Marshal(k)
	if err != nil {
		return storage.Item{}, storage.Item{}, fmt.Errorf("apikeys: encode %s: %w", k.ID, err)
	}
	listed := k
	listed.SecretSHA256 = ""
	withoutHash, err := json.Marshal(listed)
	if err != nil {
		return storage.Item{}, storage.Item{}, fmt.Errorf("apikeys: encode %s: %w", k.ID, err)
	}
	record = storage.Item{Key: keys.APIKey(k.Org, k.ID), Type: EntityType, Version: version, Data: withoutHash}
	lookup = storage.Item{Key: keys.APIKeyLookup(k.ID), Type: LookupType, Version: version, Data: withHash}
	if k.ExpiresAt != nil {
		lookup.ExpiresAt = k.ExpiresAt.Add(ExpiredLookupKept)
	}
	return record, lookup, nil
}

// ExpiredLookupKept is how long a key's lookup item outlives its expiry.
const ExpiredLookupKept = 30 * 24 * time.Hour

func fromItem(it storage.Item, entityType string) (Key, error) {
	if it.Type != entityType {
		return Key{}, fmt.Errorf("apikeys: item %s is a %q, not a %q", it.Key, it.Type, entityType)
	}
	var k Key
	if err := json.Unmarshal(it.Data, &k); err != nil {
		return Key{}, fmt.Errorf("apikeys: decode %s: %w", it.Key, err)
	}
	return k, nil
}

// View is a key as the list shows it: never its secret nor its hash.
type View struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	LastFour   string     `json:"last_four"`
	Scopes     []string   `json:"scopes"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Expired    bool       `json:"expired"`
}

func viewOf(k Key, now time.Time) View {
	return View{
		ID: k.ID, Name: k.Name, Prefix: Prefix + k.ID, LastFour: k.LastFour, Scopes: k.Scopes,
		CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt,
		Expired: k.Expired(now),
	}
}

// Created is the answer to a creation: the only time the full key is shown.
type Created struct {
	View
	Key string `json:"key"`
}

// Format is the full key for an id and a secret.
func Format(id, secret string) string { return Prefix + id + "_" + secret }

// Parse splits a presented key into its id and secret; ok is false for
// anything not of the key's form.
func Parse(credential string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(credential, Prefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || !ids.Valid(id) || len(secret) != base64.RawURLEncoding.EncodedLen(SecretBytes) {
		return "", "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// HashSecret is the hex SHA-256 of a secret, as stored.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newSecret() (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("apikeys: no randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Table is the storage the API Access area needs.
type Table interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
	Query(ctx context.Context, q storage.Query) (storage.Page, error)
	Write(ctx context.Context, ops ...storage.Op) error
}

// Service is the API Access area.
type Service struct {
	Table Table
	Now   func() time.Time
}

func (s *Service) now() time.Time { return s.Now().UTC() }

var errNotFound = apperr.New(apperr.NotFound, "api_key_not_found", "no such API key")

// CreateInput names a new key, its scopes and, optionally, its expiry.
type CreateInput struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (in CreateInput) validate(now time.Time) (name string, scopes []string, err error) {
	name = strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLength {
		return "", nil, apperr.Field("name", "invalid_name", "a name has 1 to %d characters", MaxNameLength)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", nil, apperr.Field("name", "invalid_name", "a name has no control characters")
		}
	}
	if in.Scopes == nil {
		// Scopes are optional: a key created without them holds every
		// scope, written out so that the list shows what it may do.
		if err := in.checkExpiry(now); err != nil {
			return "", nil, err
		}
		return name, slices.Clone(Scopes), nil
	}
	if len(in.Scopes) == 0 {
		return "", nil, apperr.Field("scopes", "scopes_required", "name at least one scope of %s, or leave scopes out for a key with every scope", strings.Join(Scopes, ", "))
	}
	for i, sc := range in.Scopes {
		field := fmt.Sprintf("scopes[%d]", i)
		if !slices.Contains(Scopes, sc) {
			return "", nil, apperr.Field(field, "unknown_scope", "%q is not a scope; scopes are %s", sc, strings.Join(Scopes, ", "))
		}
		if slices.Contains(scopes, sc) {
			return "", nil, apperr.Field(field, "duplicate_scope", "%q is listed twice", sc)
		}
		scopes = append(scopes, sc)
	}
	if err := in.checkExpiry(now); err != nil {
		return "", nil, err
	}
	return name, scopes, nil
}

func (in CreateInput) checkExpiry(now time.Time) error {
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return apperr.Field("expires_at", "expiry_in_the_past", "expires_at must be in the future")
	}
	return nil
}

// Create makes a key for the caller's organization, with its event, in one
// write, and returns it with the full key (shown this once).
func (s *Service) Create(ctx context.Context, p principal.Principal, in CreateInput) (Created, error) {
	now := s.now()
	name, scopes, err := in.validate(now)
	if err != nil {
		return Created{}, err
	}
	secret, err := newSecret()
	if err != nil {
		return Created{}, err
	}
	k := Key{
		ID: ids.At(now), Org: p.Org, Plan: string(p.Plan), Name: name, Scopes: scopes,
		CreatedBy: p.Subject, CreatedAt: now, SecretSHA256: HashSecret(secret),
	}
	full := Format(k.ID, secret)
	k.LastFour = full[len(full)-4:]
	if in.ExpiresAt != nil {
		expires := in.ExpiresAt.UTC()
		k.ExpiresAt = &expires
	}
	record, lookup, err := k.items(1)
	if err != nil {
		return Created{}, err
	}
	ev := outbox.New(p.Org, outbox.APIKeyCreated, now)
	ev.Data = map[string]string{"api_key_id": k.ID, "api_key_name": k.Name, "scopes": strings.Join(k.Scopes, " "), "created_by": k.CreatedBy}
	event, err := outbox.Put(ev)
	if err != nil {
		return Created{}, err
	}
	if err := s.Table.Write(ctx, storage.Put(record, storage.Absent()), storage.Put(lookup, storage.Absent()), event); err != nil {
		return Created{}, fmt.Errorf("apikeys: create: %w", err)
	}
	return Created{View: viewOf(k, now), Key: full}, nil
}

// ListPage is one page of an organization's keys, newest first.
type ListPage struct {
	Keys   []View `json:"api_keys"`
	Cursor string `json:"next_cursor,omitempty"`
}

// MaxListLimit caps a page of keys.
const MaxListLimit = 100

// List returns a page of the caller's organization's keys, newest first:
// one Query of the organization's partition.
func (s *Service) List(ctx context.Context, p principal.Principal, limit int, cursor string) (ListPage, error) {
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > MaxListLimit {
		return ListPage{}, apperr.Field("limit", "invalid_limit", "limit is 1 to %d", MaxListLimit)
	}
	page, err := s.Table.Query(ctx, storage.Query{
		PK: keys.OrgPK(p.Org), Sort: storage.SortPrefix, From: keys.APIKeysPrefix,
		Limit: limit, Cursor: cursor, Descending: true,
	})
	if err != nil {
		return ListPage{}, fmt.Errorf("apikeys: list: %w", err)
	}
	now := s.now()
	out := ListPage{Keys: make([]View, 0, len(page.Items)), Cursor: page.Cursor}
	for _, it := range page.Items {
		k, err := fromItem(it, EntityType)
		if err != nil {
			return ListPage{}, err
		}
		out.Keys = append(out.Keys, viewOf(k, now))
	}
	return out, nil
}

// Revoke removes a key of the caller's organization: its record and its
// lookup item go in one write, and the next request with it is denied.
func (s *Service) Revoke(ctx context.Context, p principal.Principal, id string) error {
	if !ids.Valid(id) {
		return errNotFound
	}
	err := s.Table.Write(ctx,
		storage.Delete(keys.APIKey(p.Org, id), storage.Present()),
		storage.Delete(keys.APIKeyLookup(id), storage.Condition{}),
	)
	if storage.FailedOn(err, 0) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("apikeys: revoke %s: %w", id, err)
	}
	return nil
}

// RecordUse sets a key's "last used at" when the stored time is older than
// UsageInterval, so a busy key costs one write a minute, not one a call.
// The write is conditional on the version read: of concurrent uses one
// writes and the others change nothing, and a key revoked meanwhile stays
// revoked.
func (s *Service) RecordUse(ctx context.Context, org, id string) error {
	if !ids.Valid(id) {
		return nil
	}
	it, err := s.Table.Get(ctx, keys.APIKeyLookup(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("apikeys: read %s for its use: %w", id, err)
	}
	k, err := fromItem(it, LookupType)
	if err != nil {
		return err
	}
	now := s.now()
	if k.Org != org || (k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < UsageInterval) {
		return nil
	}
	k.LastUsedAt = &now
	record, lookup, err := k.items(it.Version + 1)
	if err != nil {
		return err
	}
	err = s.Table.Write(ctx, storage.Put(lookup, storage.VersionIs(it.Version)), storage.Put(record, storage.Present()))
	if errors.Is(err, storage.ErrConditionFailed) || errors.Is(err, storage.ErrConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("apikeys: record the use of %s: %w", id, err)
	}
	return nil
}
