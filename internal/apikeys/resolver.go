package apikeys

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/authorizer"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
)

// Resolver is the authorizer's API key resolver (authorizer.APIKeys). It
// reads one item, the key's lookup item, per decision and writes nothing:
// the authorizer only reads, and the functions record a key's use
// (Service.RecordUse) when the principal says it is due (UseDue, from the
// "last used at" of the item read here), so other calls read nothing more.
type Resolver struct {
	Table authorizer.Getter
	Now   func() time.Time

	// lookups keeps decoded lookup items; a revoked key has no item to
	// read, and any other change to the item is a miss.
	lookups authorizer.ItemCache[lookupKey]
}

// lookupKey is a decoded lookup item, with the stored hash of the secret
// as bytes.
type lookupKey struct {
	Key
	secretSum [sha256.Size]byte
	// hashOK: the stored hash is the hex SHA-256 that HashSecret writes; a
	// key whose stored hash is not matches no secret.
	hashOK bool
}

func decodeLookup(it storage.Item) (lookupKey, error) {
	k, err := fromItem(it, LookupType)
	if err != nil {
		return lookupKey{}, err
	}
	// Decisions share the value; a principal that appends to its scopes
	// must not write into the cached array.
	k.Scopes = slices.Clip(k.Scopes)
	l := lookupKey{Key: k}
	sum, err := hex.DecodeString(k.SecretSHA256)
	if err == nil && len(sum) == sha256.Size && hex.EncodeToString(sum) == k.SecretSHA256 {
		l.hashOK = true
		copy(l.secretSum[:], sum)
	}
	return l, nil
}

var _ authorizer.CredentialResolver = (*Resolver)(nil)

// Resolve turns a presented key into its API key principal: the key's
// organization, its plan at creation and its scopes. A key that is
// malformed, unknown, revoked, expired or whose secret does not match is
// denied (an error wrapping authorizer.ErrDenied); the reason is only
// logged by the authorizer, never the key.
func (r *Resolver) Resolve(ctx context.Context, credential string, _ events.APIGatewayV2CustomAuthorizerV2Request) (principal.Principal, error) {
	id, secret, ok := Parse(credential)
	if !ok {
		return principal.Principal{}, fmt.Errorf("%w: not an API key", authorizer.ErrDenied)
	}
	it, err := r.Table.Get(ctx, keys.APIKeyLookup(id))
	if errors.Is(err, storage.ErrNotFound) {
		return principal.Principal{}, fmt.Errorf("%w: API key %s is unknown, revoked or expired", authorizer.ErrDenied, id)
	}
	if err != nil {
		return principal.Principal{}, fmt.Errorf("apikeys: read key %s: %w", id, err)
	}
	k, err := r.lookups.Decode(it, decodeLookup)
	if err != nil {
		return principal.Principal{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	if !k.hashOK || subtle.ConstantTimeCompare(sum[:], k.secretSum[:]) != 1 {
		return principal.Principal{}, fmt.Errorf("%w: API key %s: wrong secret", authorizer.ErrDenied, id)
	}
	if k.Expired(r.Now()) {
		return principal.Principal{}, fmt.Errorf("%w: API key %s", authorizer.ErrExpired, id)
	}
	useDue := k.LastUsedAt == nil || r.Now().Sub(*k.LastUsedAt) >= UsageInterval
	return principal.Principal{Kind: principal.APIKey, Org: k.Org, Subject: k.ID, Plan: principal.Plan(k.Plan), Scopes: k.Scopes, UseDue: useDue}, nil
}
