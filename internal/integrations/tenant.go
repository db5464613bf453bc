package integrations

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
)

// Entity types of a tenant and of its installation copy (listed in its
// end-user's partition while the tenant is live).
const (
	TenantType       = "tenant"
	InstallationType = "tenant_installation"
	// LiveTenantType is a live tenant's marker in its integration's
	// registry (keys.IntegrationLiveTenant).
	LiveTenantType = "integration_live_tenant"
)

// TenantStatus of a tenant. Archived tenants are kept and readable by id,
// and hidden from every list.
type TenantStatus string

const (
	TenantActive   TenantStatus = "active"
	TenantPaused   TenantStatus = "paused"
	TenantArchived TenantStatus = "archived"
)

// Limits of a tenant.
const (
	// MaxConfigBytes caps a tenant's configuration, compacted JSON.
	MaxConfigBytes = 16 << 10
	// MaxEndUserIDLength caps the end-user id the SaaS sends.
	MaxEndUserIDLength = 256
)

// Tenant is one installation of an integration for one marketplace
// end-user.
type Tenant struct {
	ID          string          `json:"id"`
	Org         string          `json:"organization_id"`
	Integration string          `json:"integration_id"`
	EndUser     string          `json:"end_user_id"`
	Config      json.RawMessage `json:"config"`
	Status      TenantStatus    `json:"status"`
	CreatedBy   string          `json:"created_by"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	ArchivedBy  string          `json:"archived_by,omitempty"`
	ArchivedAt  *time.Time      `json:"archived_at,omitempty"`
}

// ops write the tenant at version (conditional on cond) and keep its
// installation copy and its marker in the integration's registry in step:
// written while it is live, removed when it is archived. A live tenant is
// on the organization's (GSI1) and its integration's (GSI2) lists; an
// archived one on none.
func (t Tenant) ops(version int64, cond storage.Condition) ([]storage.Op, error) {
	data, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("integrations: encode tenant %s: %w", t.ID, err)
	}
	item := storage.Item{Key: keys.Tenant(t.Org, t.ID), Type: TenantType, Version: version, Data: data}
	copyKey := keys.EndUserTenant(t.Org, t.EndUser, t.ID)
	markerKey := keys.IntegrationLiveTenant(t.Org, t.Integration, t.ID)
	if t.Status == TenantArchived {
		return []storage.Op{storage.Put(item, cond), storage.Delete(copyKey, storage.Condition{}), storage.Delete(markerKey, storage.Condition{})}, nil
	}
	item.Index = map[string]storage.Key{
		keys.GSI1: keys.TenantInScope(keys.TenantsScope(t.Org), t.ID),
		keys.GSI2: keys.TenantInScope(keys.IntegrationTenantsScope(t.Org, t.Integration), t.ID),
	}
	installation := storage.Item{Key: copyKey, Type: InstallationType, Version: version, Data: data}
	marker, err := json.Marshal(liveTenant{Tenant: t.ID})
	if err != nil {
		return nil, fmt.Errorf("integrations: encode the marker of tenant %s: %w", t.ID, err)
	}
	return []storage.Op{
		storage.Put(item, cond),
		storage.Put(installation, storage.Condition{}),
		storage.Put(storage.Item{Key: markerKey, Type: LiveTenantType, Version: version, Data: marker}, storage.Condition{}),
	}, nil
}

// liveTenant is the data of a live tenant's marker in its integration's
// registry.
type liveTenant struct {
	Tenant string `json:"tenant_id"`
}

// integrationChecks are the conditions of a tenant's creation on its
// integration, appended to the creation's ops at index first: the
// integration exists (first) and no delete of it holds its lock
// (first+1). The answer to a write that failed on one of them is
// refusal.
func integrationChecks(org, integration string) []storage.Op {
	return []storage.Op{
		storage.Check(keys.Integration(org, integration), storage.Present()),
		storage.Check(keys.IntegrationDeleteLock(org, integration), storage.Absent()),
	}
}

// ErrIntegrationDeleting refuses a tenant of an integration whose delete
// is under way; if the delete finds live tenants it gives up, and a retry
// succeeds.
var ErrIntegrationDeleting = apperr.New(apperr.Conflict, "integration_being_deleted", "the integration is being deleted; try again in a moment")

// creationRefusal is the answer to a tenant's creation whose write err
// failed on the integration's checks appended at first (integrationChecks):
// notFound when the integration is gone, ErrIntegrationDeleting when its
// delete holds the lock, nil for any other outcome.
func creationRefusal(err error, first int, notFound error) error {
	switch {
	case storage.FailedOn(err, first):
		return notFound
	case storage.FailedOn(err, first+1):
		return ErrIntegrationDeleting
	}
	return nil
}

// TenantFromItem reads a tenant item or its installation copy.
func TenantFromItem(item storage.Item) (Tenant, error) {
	if item.Type != TenantType && item.Type != InstallationType {
		return Tenant{}, fmt.Errorf("integrations: item %s is a %q, not a tenant", item.Key, item.Type)
	}
	var t Tenant
	if err := json.Unmarshal(item.Data, &t); err != nil {
		return Tenant{}, fmt.Errorf("integrations: decode %s: %w", item.Key, err)
	}
	return t, nil
}

var (
	errTenantNotFound = apperr.New(apperr.NotFound, "tenant_not_found", "no such tenant")
	errTenantArchived = apperr.New(apperr.Conflict, "tenant_archived", "the tenant is archived")
)

func (s *Service) loadTenant(ctx context.Context, p principal.Principal, id string) (Tenant, int64, error) {
	if !validID(id) {
		return Tenant{}, 0, errTenantNotFound
	}
	return storage.Load(ctx, s.Table, keys.Tenant(p.Org, id), errTenantNotFound, TenantFromItem)
}

// config checks a configuration: a JSON object of at most MaxConfigBytes
// once compacted.
func config(raw json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return json.RawMessage(`{}`), nil
	}
	if trimmed[0] != '{' {
		return nil, apperr.Field("config", "invalid_config", "config is a JSON object")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, trimmed); err != nil {
		return nil, apperr.Field("config", "invalid_config", "config is not valid JSON")
	}
	if compact.Len() > MaxConfigBytes {
		return nil, apperr.Field("config", "config_too_large", "config is at most %d bytes of compact JSON", MaxConfigBytes)
	}
	return json.RawMessage(compact.Bytes()), nil
}

func endUserID(raw string) (string, error) {
	if raw == "" || utf8.RuneCountInString(raw) > MaxEndUserIDLength || !utf8.ValidString(raw) {
		return "", apperr.Field("end_user_id", "invalid_end_user_id", "end_user_id has 1 to %d characters", MaxEndUserIDLength)
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return "", apperr.Field("end_user_id", "invalid_end_user_id", "end_user_id has no control characters")
		}
	}
	return raw, nil
}

// TenantInput creates a tenant.
type TenantInput struct {
	IntegrationID string          `json:"integration_id"`
	EndUserID     string          `json:"end_user_id"`
	Config        json.RawMessage `json:"config"`
}

func tenantEvent(t Tenant, kind outbox.Kind, now time.Time) (storage.Op, error) {
	ev := outbox.New(t.Org, kind, now)
	ev.Data = map[string]string{"tenant_id": t.ID, "integration_id": t.Integration, "end_user_id": t.EndUser}
	return outbox.Put(ev)
}

// CreateTenant installs an integration of the organization for an
// end-user: the tenant, its installation copy and marker, checks that the
// integration exists and is not being deleted, and the tenant.created
// event, in one write. Hub users
// and API keys see every integration of their organization, so for them
// that check is the whole test and nothing is read first; a partner user
// sees only their partner's, which only the integration's item says.
func (s *Service) CreateTenant(ctx context.Context, p principal.Principal, in TenantInput) (Tenant, error) {
	if !validID(in.IntegrationID) {
		return Tenant{}, apperr.Field("integration_id", "integration_not_found", "no such integration")
	}
	endUser, err := endUserID(in.EndUserID)
	if err != nil {
		return Tenant{}, err
	}
	cfg, err := config(in.Config)
	if err != nil {
		return Tenant{}, err
	}
	if p.Kind == principal.PartnerUser {
		if _, _, err := s.loadIntegration(ctx, p, in.IntegrationID); err != nil {
			if errors.Is(err, errIntegrationNotFound) {
				return Tenant{}, apperr.Field("integration_id", "integration_not_found", "no such integration")
			}
			return Tenant{}, err
		}
	}
	now := s.now()
	t := Tenant{ID: ids.At(now), Org: p.Org, Integration: in.IntegrationID, EndUser: endUser, Config: cfg, Status: TenantActive, CreatedBy: p.Subject, CreatedAt: now, UpdatedAt: now}
	ops, err := t.ops(1, storage.Absent())
	if err != nil {
		return Tenant{}, err
	}
	event, err := tenantEvent(t, outbox.TenantCreated, now)
	if err != nil {
		return Tenant{}, err
	}
	checks := len(ops)
	ops = append(append(ops, integrationChecks(p.Org, in.IntegrationID)...), event)
	if err := s.Table.Write(ctx, ops...); err != nil {
		if refusal := creationRefusal(err, checks, apperr.Field("integration_id", "integration_not_found", "no such integration")); refusal != nil {
			return Tenant{}, refusal
		}
		return Tenant{}, fmt.Errorf("integrations: create tenant: %w", err)
	}
	return t, nil
}

// GetTenant returns a tenant of the organization, archived or not, and its
// version.
func (s *Service) GetTenant(ctx context.Context, p principal.Principal, id string) (Tenant, int64, error) {
	return s.loadTenant(ctx, p, id)
}

// TenantUpdate changes a tenant's configuration or status (active or
// paused).
type TenantUpdate struct {
	Config json.RawMessage `json:"config"`
	Status *TenantStatus   `json:"status"`
}

// check validates the update, and returns its configuration compacted
// (nil when it sets none).
func (in TenantUpdate) check() (json.RawMessage, error) {
	if in.Status != nil && *in.Status != TenantActive && *in.Status != TenantPaused {
		return nil, apperr.Field("status", "invalid_status", "status is %s or %s; delete the tenant to archive it", TenantActive, TenantPaused)
	}
	if in.Config == nil {
		return nil, nil
	}
	return config(in.Config)
}

// UpdateTenant changes a live tenant; ifMatch, when not 0, is the version
// the change is conditional on.
func (s *Service) UpdateTenant(ctx context.Context, p principal.Principal, id string, ifMatch int64, in TenantUpdate) (Tenant, int64, error) {
	cfg, err := in.check()
	if err != nil {
		return Tenant{}, 0, err
	}
	t, version, err := s.loadTenant(ctx, p, id)
	if err != nil {
		return Tenant{}, 0, err
	}
	return s.changeTenant(ctx, t, version, ifMatch, in.Status, cfg)
}

// UpdateTenantAt is UpdateTenant of t, which the caller has read at
// version (with other items, in one read): the change is conditional on
// that version, and nothing is read again.
func (s *Service) UpdateTenantAt(ctx context.Context, t Tenant, version, ifMatch int64, in TenantUpdate) (Tenant, int64, error) {
	cfg, err := in.check()
	if err != nil {
		return Tenant{}, 0, err
	}
	return s.changeTenant(ctx, t, version, ifMatch, in.Status, cfg)
}

func (s *Service) changeTenant(ctx context.Context, t Tenant, version, ifMatch int64, status *TenantStatus, cfg json.RawMessage) (Tenant, int64, error) {
	if ifMatch != 0 && ifMatch != version {
		return Tenant{}, 0, errStale
	}
	if t.Status == TenantArchived {
		return Tenant{}, 0, errTenantArchived
	}
	if cfg != nil {
		t.Config = cfg
	}
	if status != nil {
		t.Status = *status
	}
	t.UpdatedAt = s.now()
	ops, err := t.ops(version+1, storage.VersionIs(version))
	if err != nil {
		return Tenant{}, 0, err
	}
	if err := s.Table.Write(ctx, ops...); err != nil {
		return Tenant{}, 0, conflictOr(err, "update tenant "+t.ID)
	}
	return t, version + 1, nil
}

// ArchiveTenant archives a tenant (the public API's delete): it stays
// readable by id and leaves every list, with the tenant.archived event in
// the same write. Archiving an archived tenant changes nothing.
func (s *Service) ArchiveTenant(ctx context.Context, p principal.Principal, id string) error {
	t, version, err := s.loadTenant(ctx, p, id)
	if err != nil {
		return err
	}
	return s.ArchiveTenantAt(ctx, p, t, version)
}

// ArchiveTenantAt is ArchiveTenant of t, which the caller has read at
// version (with other items, in one read): the write is conditional on
// that version, and nothing is read again.
func (s *Service) ArchiveTenantAt(ctx context.Context, p principal.Principal, t Tenant, version int64) error {
	if t.Status == TenantArchived {
		return nil
	}
	now := s.now()
	t.Status, t.ArchivedBy, t.ArchivedAt, t.UpdatedAt = TenantArchived, p.Subject, &now, now
	ops, err := t.ops(version+1, storage.VersionIs(version))
	if err != nil {
		return err
	}
	event, err := tenantEvent(t, outbox.TenantArchived, now)
	if err != nil {
		return err
	}
	if err := s.Table.Write(ctx, append(ops, event)...); err != nil {
		return conflictOr(err, "archive tenant "+t.ID)
	}
	return nil
}

// TenantFilter narrows the tenants list to one integration or one
// end-user.
type TenantFilter struct {
	IntegrationID string
	EndUserID     string
}

// TenantPage is one page of live tenants.
type TenantPage struct {
	Tenants []Tenant `json:"tenants"`
	Cursor  string   `json:"next_cursor,omitempty"`
}

// ListTenants lists the organization's live tenants by creation, all of
// them (GSI1), one integration's (GSI2) or one end-user's (their
// installation copies): one Query each.
func (s *Service) ListTenants(ctx context.Context, p principal.Principal, f TenantFilter, in PageInput) (TenantPage, error) {
	q := storage.Query{Limit: in.limit(), Cursor: in.Cursor, Descending: in.Descending}
	switch {
	case f.IntegrationID != "" && f.EndUserID != "":
		return TenantPage{}, apperr.Field("end_user_id", "one_filter", "filter by integration_id or by end_user_id, not both")
	case f.IntegrationID != "":
		if !validID(f.IntegrationID) {
			return TenantPage{Tenants: []Tenant{}}, nil
		}
		q.Index, q.PK = keys.GSI2, keys.IntegrationTenantsScope(p.Org, f.IntegrationID)
	case f.EndUserID != "":
		endUser, err := endUserID(f.EndUserID)
		if err != nil {
			return TenantPage{}, err
		}
		return s.EndUserTenants(ctx, p.Org, endUser, in)
	default:
		q.Index, q.PK = keys.GSI1, keys.TenantsScope(p.Org)
	}
	return s.tenantPage(ctx, q)
}

// EndUserTenants lists one marketplace end-user's live tenants, by
// creation: one Query of their partition, for the marketplace.
func (s *Service) EndUserTenants(ctx context.Context, org, endUser string, in PageInput) (TenantPage, error) {
	return s.tenantPage(ctx, storage.Query{
		PK: keys.EndUserTenantsPK(org, endUser), Sort: storage.SortPrefix, From: keys.TenantsPrefix,
		Limit: in.limit(), Cursor: in.Cursor, Descending: in.Descending,
	})
}

func (s *Service) tenantPage(ctx context.Context, q storage.Query) (TenantPage, error) {
	page, err := s.Table.Query(ctx, q)
	if err != nil {
		return TenantPage{}, fmt.Errorf("integrations: list tenants: %w", err)
	}
	out := TenantPage{Tenants: make([]Tenant, 0, len(page.Items)), Cursor: page.Cursor}
	for _, item := range page.Items {
		t, err := TenantFromItem(item)
		if err != nil {
			return TenantPage{}, err
		}
		out.Tenants = append(out.Tenants, t)
	}
	return out, nil
}
