package integrations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/fields"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
)

// Entity types of a run, of the trigger that finds it by id and of the
// guard of an Idempotency-Key.
const (
	RunType         = "run"
	TriggerType     = "run_trigger"
	IdempotencyType = "idempotency_key"
)

// RunStatus of a run: queued when started, then running, and finally
// succeeded or failed as the run executor reports.
type RunStatus string

const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
)

func (s RunStatus) finished() bool { return s == RunSucceeded || s == RunFailed }

// Limits of a start and a report.
const (
	// IdempotencyWindow is how long an Idempotency-Key returns the trigger
	// of its first start.
	IdempotencyWindow = 24 * time.Hour
	// MaxIdempotencyKey is the longest Idempotency-Key accepted.
	MaxIdempotencyKey = 255
	// MaxRunError caps the error a failed run reports.
	MaxRunError = 4000
	// startAttempts bounds the retries of a start that lost a race.
	startAttempts = 5
)

// Starter is who started a run.
type Starter struct {
	Kind principal.Kind `json:"kind"`
	ID   string         `json:"id"`
}

// Run is one run of a tenant. Its id is the trigger id its start returned.
type Run struct {
	ID          string     `json:"id"`
	Org         string     `json:"organization_id"`
	Tenant      string     `json:"tenant_id"`
	Integration string     `json:"integration_id"`
	Status      RunStatus  `json:"status"`
	StartedBy   Starter    `json:"started_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	Error       string     `json:"error,omitempty"`
}

func (r Run) item(version int64) (storage.Item, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return storage.Item{}, fmt.Errorf("integrations: encode run %s: %w", r.ID, err)
	}
	return storage.Item{Key: keys.Run(r.Org, r.Tenant, r.ID), Type: RunType, Version: version, Data: data}, nil
}

// RunFromItem reads a run item.
func RunFromItem(item storage.Item) (Run, error) {
	var r Run
	if item.Type != RunType {
		return r, fmt.Errorf("integrations: item %s is a %q, not a run", item.Key, item.Type)
	}
	if err := json.Unmarshal(item.Data, &r); err != nil {
		return r, fmt.Errorf("integrations: decode %s: %w", item.Key, err)
	}
	return r, nil
}

// trigger finds a run from the run's id alone. It names the run's tenant
// and holds a copy of the run, written in the same transactions as the
// run and at its version, so that a trigger's status is one read. A
// trigger written before the copy existed names the tenant only, and its
// run is read from the tenant's partition.
type trigger struct {
	Tenant string `json:"tenant_id"`
	Run    *Run   `json:"run,omitempty"`
}

// triggerItem is the trigger of r, at the run's version.
func triggerItem(r Run, version int64) (storage.Item, error) {
	return jsonItem(keys.RunTrigger(r.Org, r.ID), TriggerType, trigger{Tenant: r.Tenant, Run: &r}, time.Time{}, version)
}

// idempotencyGuard remembers the trigger of an Idempotency-Key's first
// start, for IdempotencyWindow.
type idempotencyGuard struct {
	Tenant  string `json:"tenant_id"`
	Trigger string `json:"trigger_id"`
}

func jsonItem(k storage.Key, entityType string, v any, expires time.Time, version int64) (storage.Item, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return storage.Item{}, fmt.Errorf("integrations: encode %s: %w", k, err)
	}
	return storage.Item{Key: k, Type: entityType, Version: version, ExpiresAt: expires, Data: data}, nil
}

var (
	errTriggerNotFound = apperr.New(apperr.NotFound, "trigger_not_found", "no run has this trigger id (yet)")
	errTenantPaused    = apperr.New(apperr.Conflict, "tenant_paused", "the tenant is paused; set it active to start runs")
	errKeyReused       = apperr.New(apperr.Conflict, "idempotency_key_reused", "this Idempotency-Key started a run of another tenant within the last 24 hours")
	errRunFinished     = apperr.New(apperr.Conflict, "run_finished", "the run has finished; its outcome cannot change")
)

// Trigger is the answer to a start.
type Trigger struct {
	TriggerID string    `json:"trigger_id"`
	TenantID  string    `json:"tenant_id"`
	Status    RunStatus `json:"status"`
	// Replayed: the Idempotency-Key had already started this run.
	Replayed bool `json:"-"`
}

// idempotencyKey checks an Idempotency-Key header value: 1 to 255
// printable ASCII characters.
func idempotencyKey(v string) (hashHex string, err error) {
	if len(v) > MaxIdempotencyKey {
		return "", apperr.Field("Idempotency-Key", "invalid_idempotency_key", "Idempotency-Key has 1 to %d printable ASCII characters", MaxIdempotencyKey)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return "", apperr.Field("Idempotency-Key", "invalid_idempotency_key", "Idempotency-Key has 1 to %d printable ASCII characters", MaxIdempotencyKey)
		}
	}
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:]), nil
}

// StartRun starts a run of a live tenant: the run (queued), its trigger
// and, with an Idempotency-Key, the key's guard (expiring after
// IdempotencyWindow) in one write that also checks the tenant's version.
// With a key already used for this tenant within the window, it returns
// the first start's trigger; of parallel starts with one key, one writes
// and the others, their guard condition failed, read the winner's trigger.
func (s *Service) StartRun(ctx context.Context, p principal.Principal, tenantID, idemKey string) (Trigger, error) {
	var guardKey storage.Key
	if idemKey != "" {
		hash, err := idempotencyKey(idemKey)
		if err != nil {
			return Trigger{}, err
		}
		guardKey = keys.StartIdempotency(p.Org, hash)
	}
	for attempt := 0; attempt < startAttempts; attempt++ {
		t, version, err := s.loadTenant(ctx, p, tenantID)
		if err != nil {
			return Trigger{}, err
		}
		if idemKey != "" {
			tr, found, err := s.replay(ctx, p.Org, guardKey, t.ID)
			if err != nil || found {
				return tr, err
			}
		}
		switch t.Status {
		case TenantArchived:
			return Trigger{}, errTenantArchived
		case TenantPaused:
			return Trigger{}, errTenantPaused
		}
		now := s.now()
		run := Run{ID: ids.At(now), Org: p.Org, Tenant: t.ID, Integration: t.Integration, Status: RunQueued, StartedBy: Starter{Kind: p.Kind, ID: p.Subject}, CreatedAt: now, UpdatedAt: now}
		runItem, err := run.item(1)
		if err != nil {
			return Trigger{}, err
		}
		triggerItem, err := triggerItem(run, 1)
		if err != nil {
			return Trigger{}, err
		}
		var ops []storage.Op
		if idemKey != "" {
			guard, err := jsonItem(guardKey, IdempotencyType, idempotencyGuard{Tenant: t.ID, Trigger: run.ID}, now.Add(IdempotencyWindow), 1)
			if err != nil {
				return Trigger{}, err
			}
			ops = append(ops, storage.Put(guard, storage.Absent()))
		}
		ops = append(ops,
			storage.Put(runItem, storage.Absent()),
			storage.Put(triggerItem, storage.Absent()),
			storage.Check(keys.Tenant(p.Org, t.ID), storage.VersionIs(version)),
		)
		err = s.Table.Write(ctx, ops...)
		switch {
		case err == nil:
			return Trigger{TriggerID: run.ID, TenantID: t.ID, Status: run.Status}, nil
		case errors.Is(err, storage.ErrConditionFailed), errors.Is(err, storage.ErrConflict):
			continue
		default:
			return Trigger{}, fmt.Errorf("integrations: start a run of %s: %w", t.ID, err)
		}
	}
	return Trigger{}, apperr.New(apperr.Unavailable, "start_contended", "the tenant changed during every attempt to start it; try again")
}

// replay returns the trigger an Idempotency-Key's guard remembers, if the
// guard is live.
func (s *Service) replay(ctx context.Context, org string, guardKey storage.Key, tenantID string) (Trigger, bool, error) {
	item, err := s.Table.Get(ctx, guardKey)
	if errors.Is(err, storage.ErrNotFound) {
		return Trigger{}, false, nil
	}
	if err != nil {
		return Trigger{}, false, fmt.Errorf("integrations: read the Idempotency-Key: %w", err)
	}
	var g idempotencyGuard
	if err := json.Unmarshal(item.Data, &g); err != nil {
		return Trigger{}, false, fmt.Errorf("integrations: decode %s: %w", guardKey, err)
	}
	if g.Tenant != tenantID {
		return Trigger{}, false, errKeyReused
	}
	run, err := s.Table.Get(ctx, keys.Run(org, g.Tenant, g.Trigger))
	if err != nil {
		return Trigger{}, false, fmt.Errorf("integrations: read run %s: %w", g.Trigger, err)
	}
	r, err := RunFromItem(run)
	if err != nil {
		return Trigger{}, false, err
	}
	return Trigger{TriggerID: r.ID, TenantID: r.Tenant, Status: r.Status, Replayed: true}, true, nil
}

// loadedRun is a run as loadRun read it, with the versions its next
// write is conditional on.
type loadedRun struct {
	Run
	version, triggerVersion int64
}

// loadRun reads a run by its trigger id: one read of the trigger, which
// holds the run; a trigger from before it did names the tenant, and the
// run is read from there.
func (s *Service) loadRun(ctx context.Context, p principal.Principal, triggerID string) (loadedRun, error) {
	if !validID(triggerID) {
		return loadedRun{}, errTriggerNotFound
	}
	item, err := s.Table.Get(ctx, keys.RunTrigger(p.Org, triggerID))
	if errors.Is(err, storage.ErrNotFound) {
		return loadedRun{}, errTriggerNotFound
	}
	if err != nil {
		return loadedRun{}, fmt.Errorf("integrations: read trigger %s: %w", triggerID, err)
	}
	var tr trigger
	if item.Type != TriggerType {
		return loadedRun{}, fmt.Errorf("integrations: item %s is a %q, not a trigger", item.Key, item.Type)
	}
	if err := json.Unmarshal(item.Data, &tr); err != nil {
		return loadedRun{}, fmt.Errorf("integrations: decode trigger %s: %w", triggerID, err)
	}
	if tr.Run != nil {
		if tr.Run.ID != triggerID || tr.Run.Org != p.Org || tr.Run.Tenant != tr.Tenant {
			return loadedRun{}, fmt.Errorf("integrations: trigger %s holds another run", triggerID)
		}
		return loadedRun{Run: *tr.Run, version: item.Version, triggerVersion: item.Version}, nil
	}
	r, version, err := storage.Load(ctx, s.Table, keys.Run(p.Org, tr.Tenant, triggerID), errTriggerNotFound, RunFromItem)
	return loadedRun{Run: r, version: version, triggerVersion: item.Version}, err
}

// TriggerStatus returns the run a trigger id names; 404 until it exists.
func (s *Service) TriggerStatus(ctx context.Context, p principal.Principal, triggerID string) (Run, error) {
	r, err := s.loadRun(ctx, p, triggerID)
	return r.Run, err
}

// RunPage is one page of a tenant's runs.
type RunPage struct {
	Runs   []Run  `json:"runs"`
	Cursor string `json:"next_cursor,omitempty"`
}

// ListRuns lists a tenant's runs (newest first unless asked otherwise):
// one Query of the tenant's partition, which is under the caller's
// organization. A page with runs proves the tenant is the organization's
// (a run is only ever written with its tenant's check); an empty page
// reads the tenant too, so that an unknown tenant id, or another
// organization's, is a 404 and not an empty list.
func (s *Service) ListRuns(ctx context.Context, p principal.Principal, tenantID string, in PageInput) (RunPage, error) {
	if !validID(tenantID) {
		return RunPage{}, errTenantNotFound
	}
	page, err := s.Table.Query(ctx, storage.Query{
		PK: keys.TenantRunsPK(p.Org, tenantID), Sort: storage.SortPrefix, From: keys.RunsPrefix,
		Limit: in.limit(), Cursor: in.Cursor, Descending: in.Descending,
	})
	if err != nil {
		return RunPage{}, fmt.Errorf("integrations: list runs of %s: %w", tenantID, err)
	}
	if len(page.Items) == 0 {
		if _, _, err := s.loadTenant(ctx, p, tenantID); err != nil {
			return RunPage{}, err
		}
	}
	out := RunPage{Runs: make([]Run, 0, len(page.Items)), Cursor: page.Cursor}
	for _, item := range page.Items {
		r, err := RunFromItem(item)
		if err != nil {
			return RunPage{}, err
		}
		out.Runs = append(out.Runs, r)
	}
	return out, nil
}

// RunReport is the run executor's report of a run's progress or outcome.
type RunReport struct {
	Status RunStatus `json:"status"`
	Error  string    `json:"error"`
}

// ReportRun moves a run to running, succeeded or failed. A finished run
// does not change; the same outcome reported again is answered as it
// stands (the executor may retry). A failure writes the run.failed event
// with the run.
func (s *Service) ReportRun(ctx context.Context, p principal.Principal, triggerID string, in RunReport) (Run, error) {
	switch in.Status {
	case RunRunning, RunSucceeded, RunFailed:
	default:
		return Run{}, apperr.Field("status", "invalid_status", "status is %s, %s or %s", RunRunning, RunSucceeded, RunFailed)
	}
	errText, err := fields.Paragraph("error", in.Error, MaxRunError)
	if err != nil {
		return Run{}, err
	}
	if errText != "" && in.Status != RunFailed {
		return Run{}, apperr.Field("error", "error_without_failure", "only a failed run reports an error")
	}
	loaded, err := s.loadRun(ctx, p, triggerID)
	if err != nil {
		return Run{}, err
	}
	r := loaded.Run
	if r.Status.finished() {
		if r.Status == in.Status {
			return r, nil
		}
		return Run{}, errRunFinished
	}
	if r.Status == in.Status {
		return r, nil
	}
	now := s.now()
	r.Status, r.UpdatedAt, r.Error = in.Status, now, errText
	if in.Status.finished() {
		r.FinishedAt = &now
	}
	item, err := r.item(loaded.version + 1)
	if err != nil {
		return Run{}, err
	}
	trig, err := triggerItem(r, loaded.version+1)
	if err != nil {
		return Run{}, err
	}
	ops := []storage.Op{storage.Put(item, storage.VersionIs(loaded.version)), storage.Put(trig, storage.VersionIs(loaded.triggerVersion))}
	if in.Status == RunFailed {
		ev := outbox.New(p.Org, outbox.RunFailed, now)
		ev.Data = map[string]string{"run_id": r.ID, "tenant_id": r.Tenant, "integration_id": r.Integration, "error": r.Error}
		event, err := outbox.Put(ev)
		if err != nil {
			return Run{}, err
		}
		ops = append(ops, event)
	}
	if err := s.Table.Write(ctx, ops...); err != nil {
		return Run{}, conflictOr(err, "report run "+triggerID)
	}
	return r, nil
}
