// Package marketplace is the In-App Marketplace: the marketplace settings
// of an organization (the keys its SaaS signs end-user tokens with, and
// the rules those tokens follow), the authorizer's resolver of end-user
// tokens, the end-user API (the catalog an end-user may see, install,
// configure, uninstall) and the embeddable page, all served by
// functions/marketplace except the resolver, which runs in the authorizer.
//
// # One read per decision
//
// The authorizer finds an organization from an unverified token's iss (or,
// for an organization that sets no issuer, its kid) and must decide with
// one read. So every write of the settings document also writes a verifier
// copy of it under the issuer (keys.MarketplaceIssuer) and under each of
// its keys' ids (keys.MarketplaceKeyID), in the same transaction: new ones
// conditional on attribute_not_exists (an issuer or a kid belongs to one
// organization in the whole deployment), existing ones on the settings'
// version, removed ones deleted. The copy holds the rules, the public keys
// and the HMAC secrets sealed under the keyring's "marketplace" key, bound
// to the organization and kid, so a copy moved elsewhere cannot be opened.
//
// # Install limits
//
// An install is one write of the tenant (integrations.InstallOps) and of
// the end-user's record at the version read before counting the end-user's
// tenants, so two concurrent installs cannot both pass allowed_installs.
package marketplace

import (
	"context"
	"time"

	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/storage"
)

// SecretPurpose is the keyring purpose whose box seals HS256 secrets.
const SecretPurpose = "marketplace"

// Table is the storage the marketplace function needs.
type Table interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
	GetMany(ctx context.Context, keys ...storage.Key) (map[storage.Key]storage.Item, error)
	Query(ctx context.Context, q storage.Query) (storage.Page, error)
	Write(ctx context.Context, ops ...storage.Op) error
}

// Service is functions/marketplace.
type Service struct {
	Table Table
	// Secrets seals HS256 secrets (the keyring's SecretPurpose box).
	Secrets *secrets.Box
	// Integrations owns integrations and tenants; the marketplace reads
	// and installs through it.
	Integrations *integrations.Service
	Now          func() time.Time
}

// New builds the marketplace function's service.
func New(table Table, keyring *secrets.Keyring, now func() time.Time) *Service {
	return &Service{
		Table:        table,
		Secrets:      keyring.Box(SecretPurpose),
		Integrations: &integrations.Service{Table: table, Now: now},
		Now:          now,
	}
}

func (s *Service) now() time.Time { return s.Now().UTC() }
