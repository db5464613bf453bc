package integrations

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/web"
)

// The scopes that open each kind of /v2 route to an API key.
var (
	readIntegrations = []string{apikeys.ScopeIntegrationsRead}
	readTenants      = []string{apikeys.ScopeTenantsRead, apikeys.ScopeTenantsManage}
	manageTenants    = []string{apikeys.ScopeTenantsManage}
	startRuns        = []string{apikeys.ScopeRunsStart}
	readRuns         = []string{apikeys.ScopeRunsRead, apikeys.ScopeRunsStart}
	reportRuns       = []string{apikeys.ScopeRunsReport}
)

// Sort orders of each list; the first is the default.
var (
	integrationOrders = []listOrder{{Sort: SortName}, {Sort: SortCreatedAt, Descending: true}}
	newestFirst       = []listOrder{{Sort: SortCreatedAt, Descending: true}}
)

// Routes are functions/integrations' routes: the hub's integrations with
// their review (hub and partner users), and the public API under /v2 (hub
// users, and API keys holding one of the route's scopes).
func Routes(rt *web.Router, s *Service) {
	people := web.Allow(principal.HubUser, principal.PartnerUser)
	rt.Handle("GET", "/integrations", people, s.listIntegrations)
	rt.Handle("POST", "/integrations", people, s.createIntegration)
	rt.Handle("GET", "/integrations/{id}", people, s.getIntegration)
	rt.Handle("PATCH", "/integrations/{id}", people, s.updateIntegration)
	rt.Handle("DELETE", "/integrations/{id}", people, s.deleteIntegration)
	rt.Handle("POST", "/integrations/{id}/submit", web.Allow(principal.PartnerUser), s.submitIntegration)
	rt.Handle("POST", "/integrations/{id}/review", web.Allow(principal.HubUser), s.reviewIntegration)

	public := func(method, path string, scopes []string, h web.HandlerFunc) {
		rt.Handle(method, path, web.Allow(principal.HubUser, principal.APIKey), s.scoped(scopes, h))
	}
	public("GET", "/v2/integrations", readIntegrations, s.listIntegrations)
	public("GET", "/v2/integrations/{id}", readIntegrations, s.getIntegration)
	public("GET", "/v2/tenants", readTenants, s.listTenants)
	public("POST", "/v2/tenants", manageTenants, s.createTenant)
	public("GET", "/v2/tenants/{id}", readTenants, s.getTenant)
	public("PATCH", "/v2/tenants/{id}", manageTenants, s.updateTenant)
	public("DELETE", "/v2/tenants/{id}", manageTenants, s.archiveTenant)
	public("POST", "/v2/tenants/{id}/sync", startRuns, s.startRun)
	public("GET", "/v2/tenants/{id}/runs", readRuns, s.listRuns)
	public("GET", "/v2/runs/triggers/{trigger_id}/status", readRuns, s.triggerStatus)
	public("PUT", "/v2/runs/triggers/{trigger_id}/status", reportRuns, s.reportRun)
}

// scoped admits an API key holding one of scopes (hub users always), and
// records the key's use whether or not it is admitted.
func (s *Service) scoped(scopes []string, h web.HandlerFunc) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := web.Caller(r)
		if p.Kind == principal.APIKey {
			s.recordUse(r, p)
			if !slices.ContainsFunc(scopes, p.HasScope) {
				return apperr.New(apperr.Forbidden, "missing_scope", "this API key needs one of the scopes "+strings.Join(scopes, ", "))
			}
		}
		return h(w, r)
	}
}

// recordUse never fails the request: a key's "last used at" is a hint. It
// runs only when the authorizer, which read the key, says a use is due:
// about once a minute per key, not on every call.
func (s *Service) recordUse(r *http.Request, p principal.Principal) {
	if s.KeyUsage == nil || !p.UseDue {
		return
	}
	if err := s.KeyUsage.RecordUse(r.Context(), p.Org, p.Subject); err != nil {
		web.Logger(r).WarnContext(r.Context(), "API key use not recorded", slog.String("api_key_id", p.Subject), slog.String("error", err.Error()))
	}
}

func (s *Service) listIntegrations(w http.ResponseWriter, r *http.Request) error {
	in, err := pageParams(r, integrationOrders...)
	if err != nil {
		return err
	}
	page, err := s.ListIntegrations(r.Context(), web.Caller(r), in)
	if err != nil {
		return err
	}
	web.JSON(w, http.StatusOK, page)
	return nil
}

func (s *Service) createIntegration(w http.ResponseWriter, r *http.Request) error {
	var in IntegrationInput
	if err := web.Decode(r, &in, 0); err != nil {
		return err
	}
	d, version, err := s.CreateIntegration(r.Context(), web.Caller(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/integrations/"+d.ID)
	web.SetETag(w, version)
	web.JSON(w, http.StatusCreated, d)
	return nil
}

func (s *Service) getIntegration(w http.ResponseWriter, r *http.Request) error {
	d, version, err := s.GetIntegration(r.Context(), web.Caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.SetETag(w, version)
	web.JSON(w, http.StatusOK, d)
	return nil
}

func (s *Service) updateIntegration(w http.ResponseWriter, r *http.Request) error {
	ifMatch, err := ifMatchParam(r)
	if err != nil {
		return err
	}
	var in IntegrationInput
	if err := web.Decode(r, &in, 0); err != nil {
		return err
	}
	d, version, err := s.UpdateIntegration(r.Context(), web.Caller(r), r.PathValue("id"), ifMatch, in)
	if err != nil {
		return err
	}
	web.SetETag(w, version)
	web.JSON(w, http.StatusOK, d)
	return nil
}

func (s *Service) deleteIntegration(w http.ResponseWriter, r *http.Request) error {
	if err := s.DeleteIntegration(r.Context(), web.Caller(r), r.PathValue("id")); err != nil {
		return err
	}
	web.NoContent(w)
	return nil
}

func (s *Service) submitIntegration(w http.ResponseWriter, r *http.Request) error {
	var in SubmitInput
	if err := web.Decode(r, &in, 0); err != nil {
		return err
	}
	d, version, err := s.SubmitIntegration(r.Context(), web.Caller(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.SetETag(w, version)
	web.JSON(w, http.StatusOK, d)
	return nil
}

func (s *Service) reviewIntegration(w http.ResponseWriter, r *http.Request) error {
	var in ReviewInput
	if err := web.Decode(r, &in, 0); err != nil {
		return err
	}
	d, version, err := s.ReviewIntegration(r.Context(), web.Caller(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.SetETag(w, version)
	web.JSON(w, http.StatusOK, d)
	return nil
}

func (s *Service) listTenants(w http.ResponseWriter, r *http.Request) error {
	in, err := pageParams(r, newestFirst...)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.ListTenants(r.Context(), web.Caller(r), TenantFilter{IntegrationID: q.Get("integration_id"), EndUserID: q.Get("end_user_id")}, in)
	if err != nil {
		return err
	}
	web.JSON(w, http.StatusOK, page)
	return nil
}

func (s *Service) createTenant(w http.ResponseWriter, r *http.Request) error {
	var in TenantInput
	if err := web.Decode(r, &in, 0); err != nil {
		return err
	}
	t, err := s.CreateTenant(r.Context(), web.Caller(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v2/tenants/"+t.ID)
	web.SetETag(w, 1)
	web.JSON(w, http.StatusCreated, t)
	return nil
}

func (s *Service) getTenant(w http.ResponseWriter, r *http.Request) error {
	t, version, err := s.GetTenant(r.Context(), web.Caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.SetETag(w, version)
	web.JSON(w, http.StatusOK, t)
	return nil
}

func (s *Service) updateTenant(w http.ResponseWriter, r *http.Request) error {
	ifMatch, err := ifMatchParam(r)
	if err != nil {
		return err
	}
	var in TenantUpdate
	if err := web.Decode(r, &in, 0); err != nil {
		return err
	}
	t, version, err := s.UpdateTenant(r.Context(), web.Caller(r), r.PathValue("id"), ifMatch, in)
	if err != nil {
		return err
	}
	web.SetETag(w, version)
	web.JSON(w, http.StatusOK, t)
	return nil
}

func (s *Service) archiveTenant(w http.ResponseWriter, r *http.Request) error {
	if err := s.ArchiveTenant(r.Context(), web.Caller(r), r.PathValue("id")); err != nil {
		return err
	}
	web.NoContent(w)
	return nil
}

func (s *Service) startRun(w http.ResponseWriter, r *http.Request) error {
	tr, err := s.StartRun(r.Context(), web.Caller(r), r.PathValue("id"), r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v2/runs/triggers/"+tr.TriggerID+"/status")
	if tr.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	web.JSON(w, http.StatusAccepted, tr)
	return nil
}

func (s *Service) listRuns(w http.ResponseWriter, r *http.Request) error {
	in, err := pageParams(r, newestFirst...)
	if err != nil {
		return err
	}
	page, err := s.ListRuns(r.Context(), web.Caller(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.JSON(w, http.StatusOK, page)
	return nil
}

func (s *Service) triggerStatus(w http.ResponseWriter, r *http.Request) error {
	run, err := s.TriggerStatus(r.Context(), web.Caller(r), r.PathValue("trigger_id"))
	if err != nil {
		return err
	}
	web.JSON(w, http.StatusOK, run)
	return nil
}

func (s *Service) reportRun(w http.ResponseWriter, r *http.Request) error {
	var in RunReport
	if err := web.Decode(r, &in, 0); err != nil {
		return err
	}
	run, err := s.ReportRun(r.Context(), web.Caller(r), r.PathValue("trigger_id"), in)
	if err != nil {
		return err
	}
	web.JSON(w, http.StatusOK, run)
	return nil
}
