package integrations

import (
	"encoding/json"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/storage"
)

// Install is a marketplace end-user's installation of an integration, as
// operations the marketplace commits together with its own (the end-user's
// record, which serializes an end-user's installs against their
// allowed_installs).
type Install struct {
	Tenant Tenant
	// Ops are the tenant, its installation copy and marker, the checks that
	// the integration exists and is not being deleted, and the
	// tenant.created event.
	Ops []storage.Op
	// checks is the index in Ops of the integration's checks.
	checks int
}

// Refusal is the answer to a write of Ops (first in the write) that
// failed on the integration's checks: notFound when the integration is
// gone, ErrIntegrationDeleting while its delete is under way; nil for any
// other outcome of the write.
func (in Install) Refusal(err error, notFound error) error {
	return creationRefusal(err, in.checks, notFound)
}

// InstallOps prepares the installation of integration of org for the
// end-user, created by that end-user, with cfg (a JSON object, or empty).
// The caller has checked that the end-user may see the integration.
func InstallOps(org, integration, endUser string, cfg json.RawMessage, now time.Time) (Install, error) {
	if !validID(integration) {
		return Install{}, apperr.Field("integration_id", "integration_not_found", "no such integration")
	}
	endUser, err := endUserID(endUser)
	if err != nil {
		return Install{}, err
	}
	cfg, err = config(cfg)
	if err != nil {
		return Install{}, err
	}
	now = now.UTC()
	t := Tenant{ID: ids.At(now), Org: org, Integration: integration, EndUser: endUser, Config: cfg, Status: TenantActive, CreatedBy: endUser, CreatedAt: now, UpdatedAt: now}
	ops, err := t.ops(1, storage.Absent())
	if err != nil {
		return Install{}, err
	}
	event, err := tenantEvent(t, outbox.TenantCreated, now)
	if err != nil {
		return Install{}, err
	}
	checks := len(ops)
	ops = append(append(ops, integrationChecks(org, integration)...), event)
	return Install{Tenant: t, Ops: ops, checks: checks}, nil
}
