package marketplace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/marketplace/tokens"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
)

// Listing states.
const (
	Installed = "installed"
	Available = "available"
)

// TenantView is an end-user's installation as the marketplace shows it.
type TenantView struct {
	ID        string                    `json:"id"`
	Status    integrations.TenantStatus `json:"status"`
	Config    json.RawMessage           `json:"config"`
	CreatedAt time.Time                 `json:"created_at"`
	UpdatedAt time.Time                 `json:"updated_at"`
}

func tenantView(t integrations.Tenant) *TenantView {
	return &TenantView{ID: t.ID, Status: t.Status, Config: t.Config, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

// Listing is one integration of the end-user's catalog.
type Listing struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	LogoURL     string   `json:"logo_url,omitempty"`
	Tags        []string `json:"tags"`
	// Status is installed (Tenant is the installation) or available.
	Status string      `json:"status"`
	Tenant *TenantView `json:"tenant,omitempty"`
}

func listing(it integrations.Integration, t *integrations.Tenant) Listing {
	tags := it.Tags
	if tags == nil {
		tags = []string{}
	}
	l := Listing{ID: it.ID, Name: it.Name, Description: it.Description, LogoURL: it.LogoURL, Tags: tags, Status: Available}
	if t != nil {
		l.Status, l.Tenant = Installed, tenantView(*t)
	}
	return l
}

// Catalog is what an end-user sees: the integrations they may see, each
// installed or available, and how many more they may install.
type Catalog struct {
	EndUserID string `json:"end_user_id"`
	// AllowedInstalls is the token's allowed_installs; null when unlimited.
	AllowedInstalls *int      `json:"allowed_installs"`
	InstalledCount  int       `json:"installed_count"`
	Integrations    []Listing `json:"integrations"`
}

// visibleTo reports whether the end-user p may see it: published, not
// hidden by the token, and in its audience (one of its groups is one of
// the end-user's, or its tiers hold the end-user's tier; an integration
// naming neither is for everyone).
func visibleTo(p principal.Principal, it integrations.Integration) bool {
	if it.Org != p.Org || it.Status != integrations.Published || slices.Contains(p.Hidden, it.ID) {
		return false
	}
	a := it.Audience
	if len(a.Groups) == 0 && len(a.Tiers) == 0 {
		return true
	}
	for _, g := range p.Groups {
		if slices.Contains(a.Groups, g) {
			return true
		}
	}
	return p.Tier != "" && slices.Contains(a.Tiers, p.Tier)
}

func allowedInstalls(p principal.Principal) *int {
	if p.AllowedInstalls == tokens.Unlimited {
		return nil
	}
	n := max(p.AllowedInstalls, 0)
	return &n
}

var (
	errIntegrationNotFound = &apperr.Error{Kind: apperr.NotFound, Code: "integration_not_found", Field: "integration_id", Detail: "no such integration"}
	errTenantNotFound      = apperr.New(apperr.NotFound, "tenant_not_found", "no such installation")
	errAlreadyInstalled    = &apperr.Error{Kind: apperr.Conflict, Code: "already_installed", Field: "integration_id", Detail: "this integration is already installed"}
	errInstallLimit        = apperr.New(apperr.Forbidden, "install_limit_reached", "you have installed as many integrations as you may; uninstall one first")
	errInstallRace         = apperr.New(apperr.Conflict, "changed_concurrently", "another installation happened at the same time; try again")
)

// endUserOnly refuses every principal but an end-user (defence in depth:
// the routes admit end-users only).
func endUserOnly(p principal.Principal) error {
	if p.Kind != principal.EndUser || p.Subject == "" {
		return apperr.New(apperr.Forbidden, "end_users_only", "the marketplace API is for marketplace end-users")
	}
	return nil
}

// catalogQuery reads the organization's integrations by name: one Query
// up to storage.MaxPageSize integrations, one more for each page beyond;
// the marketplace keeps the published ones p may see.
func (s *Service) catalogQuery(ctx context.Context, org string) ([]integrations.Integration, error) {
	q := storage.Query{Index: keys.GSI1, PK: keys.IntegrationsScope(org), Limit: storage.MaxPageSize}
	var out []integrations.Integration
	for {
		page, err := s.Table.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("marketplace: catalog of %s: %w", org, err)
		}
		for _, item := range page.Items {
			it, err := integrations.IntegrationFromItem(item)
			if err != nil {
				return nil, err
			}
			out = append(out, it)
		}
		if page.Cursor == "" {
			return out, nil
		}
		q.Cursor = page.Cursor
	}
}

// endUserPartition reads the partition of the end-user's live tenants,
// one Query up to storage.MaxPageSize items and one more for each page
// beyond: the copy of their record (nil if it has none) and the tenants.
func (s *Service) endUserPartition(ctx context.Context, p principal.Principal) (*storage.Item, []integrations.Tenant, error) {
	q := storage.Query{PK: keys.EndUserTenantsPK(p.Org, p.Subject), Limit: storage.MaxPageSize}
	var copied *storage.Item
	var tenants []integrations.Tenant
	for {
		page, err := s.Table.Query(ctx, q)
		if err != nil {
			return nil, nil, fmt.Errorf("marketplace: the end-user's partition: %w", err)
		}
		for i, item := range page.Items {
			if item.Type == EndUserCopyType {
				copied = &page.Items[i]
				continue
			}
			t, err := integrations.TenantFromItem(item)
			if err != nil {
				return nil, nil, err
			}
			tenants = append(tenants, t)
		}
		if page.Cursor == "" {
			return copied, tenants, nil
		}
		q.Cursor = page.Cursor
	}
}

// tenantsOf reads the end-user's live tenants (their partition, without
// the copy of their record); every one counts against allowed_installs.
func (s *Service) tenantsOf(ctx context.Context, p principal.Principal) ([]integrations.Tenant, error) {
	_, tenants, err := s.endUserPartition(ctx, p)
	return tenants, err
}

// List is the end-user's catalog: one Query for the integrations, one for
// the end-user's partition, which holds their tenants and the copy of
// their record (written only on first sight and at most hourly after).
func (s *Service) List(ctx context.Context, p principal.Principal) (Catalog, error) {
	if err := endUserOnly(p); err != nil {
		return Catalog{}, err
	}
	copied, tenants, err := s.endUserPartition(ctx, p)
	if err != nil {
		return Catalog{}, err
	}
	if _, _, err := s.seeWithCopy(ctx, p, copied); err != nil {
		return Catalog{}, err
	}
	catalog, err := s.catalogQuery(ctx, p.Org)
	if err != nil {
		return Catalog{}, err
	}
	byIntegration := make(map[string]*integrations.Tenant, len(tenants))
	for i := range tenants {
		if _, dup := byIntegration[tenants[i].Integration]; !dup {
			byIntegration[tenants[i].Integration] = &tenants[i]
		}
	}
	out := Catalog{EndUserID: p.Subject, AllowedInstalls: allowedInstalls(p), InstalledCount: len(tenants), Integrations: []Listing{}}
	for _, it := range catalog {
		if visibleTo(p, it) {
			out.Integrations = append(out.Integrations, listing(it, byIntegration[it.ID]))
		}
	}
	return out, nil
}

// visibleIntegration reads, from the table or a prefetch, one integration
// p may see; anything else is 404, as if it did not exist.
func visibleIntegration(ctx context.Context, g storage.Getter, p principal.Principal, id string) (integrations.Integration, error) {
	if !ids.Valid(id) {
		return integrations.Integration{}, errIntegrationNotFound
	}
	item, err := g.Get(ctx, keys.Integration(p.Org, id))
	if errors.Is(err, storage.ErrNotFound) {
		return integrations.Integration{}, errIntegrationNotFound
	}
	if err != nil {
		return integrations.Integration{}, fmt.Errorf("marketplace: read integration %s: %w", id, err)
	}
	it, err := integrations.IntegrationFromItem(item)
	if err != nil {
		return integrations.Integration{}, err
	}
	if !visibleTo(p, it) {
		return integrations.Integration{}, errIntegrationNotFound
	}
	return it, nil
}

// InstallInput installs an integration.
type InstallInput struct {
	IntegrationID string          `json:"integration_id"`
	Config        json.RawMessage `json:"config"`
}

// Install creates the end-user's tenant of an integration they may see,
// refused past their allowed_installs. The tenant, the tenant.created
// event and the end-user's record (at the version read before counting)
// are one write. The end-user's record and the integration are one read;
// counting the end-user's tenants is a Query, which no read batches with.
func (s *Service) Install(ctx context.Context, p principal.Principal, in InstallInput) (Listing, error) {
	if err := endUserOnly(p); err != nil {
		return Listing{}, err
	}
	if in.IntegrationID == "" {
		return Listing{}, apperr.Field("integration_id", "required", "integration_id names the integration to install")
	}
	ks := []storage.Key{keys.EndUser(p.Org, p.Subject)}
	if ids.Valid(in.IntegrationID) {
		ks = append(ks, keys.Integration(p.Org, in.IntegrationID))
	}
	read, err := storage.Prefetch(ctx, s.Table, ks...)
	if err != nil {
		return Listing{}, fmt.Errorf("marketplace: read end-user and integration: %w", err)
	}
	user, version, err := s.seeFrom(ctx, p, read)
	if err != nil {
		return Listing{}, err
	}
	it, err := visibleIntegration(ctx, read, p, in.IntegrationID)
	if err != nil {
		return Listing{}, err
	}
	tenants, err := s.tenantsOf(ctx, p)
	if err != nil {
		return Listing{}, err
	}
	for _, t := range tenants {
		if t.Integration == it.ID {
			return Listing{}, errAlreadyInstalled
		}
	}
	if limit := allowedInstalls(p); limit != nil && len(tenants) >= *limit {
		return Listing{}, errInstallLimit
	}
	install, err := integrations.InstallOps(p.Org, it.ID, p.Subject, in.Config, s.now())
	if err != nil {
		return Listing{}, err
	}
	record, err := user.puts(version+1, storage.VersionIs(version))
	if err != nil {
		return Listing{}, err
	}
	recordOp := len(install.Ops)
	err = s.Table.Write(ctx, append(install.Ops, record...)...)
	refusal := install.Refusal(err, errIntegrationNotFound)
	switch {
	case storage.FailedOn(err, recordOp):
		return Listing{}, errInstallRace
	case refusal != nil:
		return Listing{}, refusal
	case err != nil:
		return Listing{}, fmt.Errorf("marketplace: install %s: %w", it.ID, err)
	}
	return listing(it, &install.Tenant), nil
}

// ownTenant reads a live tenant of the end-user p, and its version, with
// the end-user's record in the same read; another end-user's, an archived
// one or one of another organization is 404. The prefetch it returns
// holds the end-user's record, for seeFrom.
func (s *Service) ownTenant(ctx context.Context, p principal.Principal, id string) (integrations.Tenant, int64, storage.Prefetched, error) {
	if err := endUserOnly(p); err != nil {
		return integrations.Tenant{}, 0, storage.Prefetched{}, err
	}
	if !ids.Valid(id) {
		return integrations.Tenant{}, 0, storage.Prefetched{}, errTenantNotFound
	}
	tenantKey := keys.Tenant(p.Org, id)
	read, err := storage.Prefetch(ctx, s.Table, tenantKey, keys.EndUser(p.Org, p.Subject))
	if err != nil {
		return integrations.Tenant{}, 0, storage.Prefetched{}, fmt.Errorf("marketplace: read tenant %s and end-user: %w", id, err)
	}
	t, version, err := storage.Load(ctx, read, tenantKey, errTenantNotFound, integrations.TenantFromItem)
	if err != nil {
		return integrations.Tenant{}, 0, storage.Prefetched{}, err
	}
	if t.Org != p.Org || t.EndUser != p.Subject || t.Status == integrations.TenantArchived {
		return integrations.Tenant{}, 0, storage.Prefetched{}, errTenantNotFound
	}
	return t, version, read, nil
}

// ConfigInput replaces an installation's configuration.
type ConfigInput struct {
	Config json.RawMessage `json:"config"`
}

// Configure replaces the configuration of the end-user's installation of
// an integration they may still see; ifMatch, when not 0, is the tenant
// version it is conditional on. The tenant and the end-user's record are
// one read; the integration, whose key the tenant holds, a second; the
// write is conditional on the tenant as first read.
func (s *Service) Configure(ctx context.Context, p principal.Principal, tenantID string, ifMatch int64, in ConfigInput) (TenantView, int64, error) {
	if in.Config == nil {
		return TenantView{}, 0, apperr.Field("config", "required", "config is the installation's configuration, a JSON object")
	}
	t, version, read, err := s.ownTenant(ctx, p, tenantID)
	if err != nil {
		return TenantView{}, 0, err
	}
	if _, _, err := s.seeFrom(ctx, p, read); err != nil {
		return TenantView{}, 0, err
	}
	if _, err := visibleIntegration(ctx, s.Table, p, t.Integration); err != nil {
		return TenantView{}, 0, errTenantNotFound
	}
	updated, version, err := s.Integrations.UpdateTenantAt(ctx, t, version, ifMatch, integrations.TenantUpdate{Config: in.Config})
	if err != nil {
		return TenantView{}, 0, err
	}
	return *tenantView(updated), version, nil
}

// Uninstall archives the end-user's installation (tenant.archived in the
// same write). An end-user may always remove what they installed, even
// an integration they no longer see. The tenant and the end-user's record
// are one read; the write is conditional on the tenant as read.
func (s *Service) Uninstall(ctx context.Context, p principal.Principal, tenantID string) error {
	t, version, read, err := s.ownTenant(ctx, p, tenantID)
	if err != nil {
		return err
	}
	if _, _, err := s.seeFrom(ctx, p, read); err != nil {
		return err
	}
	return s.Integrations.ArchiveTenantAt(ctx, p, t, version)
}
