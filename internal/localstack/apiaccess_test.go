package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/localstack"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/principal"
)

// hubCaller calls the local stack as curl would: a session or an API key,
// in the header a script would use.
type hubCaller struct {
	t    *testing.T
	base string
}

// apiCall sends body as JSON with headers and decodes the JSON answer.
func (c hubCaller) apiCall(method, path string, headers map[string]string, body any) (int, map[string]any, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func bearer(credential string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + credential}
}

// signInFirstAdmin accepts the newest invitation in the outbox as the
// administrator at email and returns their session token.
func signInFirstAdmin(t *testing.T, st *localstack.Stack, c hubCaller, email string) string {
	t.Helper()
	const pw = "correct horse battery"
	if status, body, _ := c.apiCall("POST", "/auth/invitations/accept", nil, map[string]string{"token": newestToken(t, st.OutboxDir), "name": "Admin", "password": pw}); status != 200 {
		t.Fatalf("accept the invitation of %s: %d %v", email, status, body)
	}
	status, body, _ := c.apiCall("POST", "/auth/login", nil, map[string]string{"email": email, "password": pw})
	if status != 200 {
		t.Fatalf("sign in as %s: %d %v", email, status, body)
	}
	return body["token"].(string)
}

// demoWithTenant opens a stack, signs the demo administrator in and
// creates an integration and one tenant of it.
func demoWithTenant(t *testing.T) (*localstack.Stack, hubCaller, string, string) {
	t.Helper()
	st := open(t, localstack.Config{DataDir: t.TempDir()})
	if _, err := st.EnsureDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(st.Gateway)
	t.Cleanup(srv.Close)
	c := hubCaller{t: t, base: srv.URL}
	session := signInFirstAdmin(t, st, c, localstack.DemoAdminEmail)
	status, integration, _ := c.apiCall("POST", "/integrations", bearer(session), map[string]any{"name": "CRM", "published": true})
	if status != 201 {
		t.Fatalf("create an integration: %d %v", status, integration)
	}
	status, tenant, _ := c.apiCall("POST", "/v2/tenants", bearer(session), map[string]any{"integration_id": integration["id"], "end_user_id": "customer-42", "config": map[string]string{"region": "eu"}})
	if status != 201 {
		t.Fatalf("create a tenant: %d %v", status, tenant)
	}
	return st, c, session, tenant["id"].(string)
}

func createKey(t *testing.T, c hubCaller, session string, in map[string]any) (id, key string) {
	t.Helper()
	status, body, _ := c.apiCall("POST", "/api-keys", bearer(session), in)
	if status != 201 {
		t.Fatalf("create API key %v: %d %v", in, status, body)
	}
	return body["id"].(string), body["key"].(string)
}

// The walk-through: create an API key, start a run with it, read
// the trigger's status, list the runs; revoke the key and see the next
// call refused.
func TestAPIKeyStartsARunReadsItsStatusListsRunsAndIsRefusedOnceRevoked(t *testing.T) {
	_, c, session, tenant := demoWithTenant(t)
	keyID, key := createKey(t, c, session, map[string]any{"name": "CI", "scopes": []string{"runs:start"}})

	headers := bearer(key)
	headers["Idempotency-Key"] = "deploy-1"
	status, started, respHeaders := c.apiCall("POST", "/v2/tenants/"+tenant+"/sync", headers, nil)
	if status != 202 || started["trigger_id"] == "" {
		t.Fatalf("sync: %d %v", status, started)
	}
	trigger := started["trigger_id"].(string)
	if respHeaders.Get("Location") != "/v2/runs/triggers/"+trigger+"/status" {
		t.Fatalf("sync Location %q", respHeaders.Get("Location"))
	}
	status, again, respHeaders := c.apiCall("POST", "/v2/tenants/"+tenant+"/sync", headers, nil)
	if status != 202 || again["trigger_id"] != trigger || respHeaders.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the same Idempotency-Key again: %d %v %v", status, again, respHeaders)
	}
	status, run, _ := c.apiCall("GET", "/v2/runs/triggers/"+trigger+"/status", bearer(key), nil)
	if status != 200 || run["status"] != "queued" || run["tenant_id"] != tenant {
		t.Fatalf("trigger status: %d %v", status, run)
	}
	status, runs, _ := c.apiCall("GET", "/v2/tenants/"+tenant+"/runs?limit=10", bearer(key), nil)
	if status != 200 || len(runs["runs"].([]any)) != 1 || runs["runs"].([]any)[0].(map[string]any)["id"] != trigger {
		t.Fatalf("runs: %d %v", status, runs)
	}
	status, list, _ := c.apiCall("GET", "/api-keys", bearer(session), nil)
	listed := list["api_keys"].([]any)[0].(map[string]any)
	if status != 200 || listed["id"] != keyID || listed["last_used_at"] == nil || listed["key"] != nil {
		t.Fatalf("the keys list after a use: %d %v", status, list)
	}
	if status, body, _ := c.apiCall("GET", "/users", bearer(key), nil); status != 403 || body["code"] != "forbidden_principal" {
		t.Fatalf("an API key on a settings area: %d %v", status, body)
	}
	if status, body, _ := c.apiCall("GET", "/api-keys", bearer(key), nil); status != 403 || body["code"] != "forbidden_principal" {
		t.Fatalf("an API key on API Access: %d %v", status, body)
	}

	if status, _, _ := c.apiCall("DELETE", "/api-keys/"+keyID, bearer(session), nil); status != 204 {
		t.Fatalf("revoke: %d", status)
	}
	if status, body, _ := c.apiCall("POST", "/v2/tenants/"+tenant+"/sync", bearer(key), nil); status != 401 || body["code"] != "invalid_credential" {
		t.Fatalf("a revoked key's next call: %d %v, want 401 invalid_credential", status, body)
	}
}

func TestAPIKeysAreHeldToTheirScopesExpiryAndOrganization(t *testing.T) {
	st, c, session, tenant := demoWithTenant(t)
	ctx := context.Background()
	_, readOnly := createKey(t, c, session, map[string]any{"name": "dashboard", "scopes": []string{"runs:read", "tenants:read"}})
	expiresAt := time.Now().Add(2 * time.Second).UTC()
	_, expiring := createKey(t, c, session, map[string]any{"name": "temporary", "scopes": []string{"runs:start"}, "expires_at": expiresAt.Format(time.RFC3339Nano)})
	_, starter := createKey(t, c, session, map[string]any{"name": "CI", "scopes": []string{"runs:start"}})
	_, started, _ := c.apiCall("POST", "/v2/tenants/"+tenant+"/sync", bearer(starter), nil)
	trigger := started["trigger_id"].(string)

	if _, err := st.Deps.Operator().Handle(ctx, operator.Request{Action: "create_organization", Organization: &operator.CreateInput{ID: "rival", Name: "Rival", Plan: principal.Standard, AdminEmail: "admin@rival.example"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Pump.Once(ctx); err != nil {
		t.Fatal(err)
	}
	rivalSession := signInFirstAdmin(t, st, c, "admin@rival.example")
	_, rivalKey := createKey(t, c, rivalSession, map[string]any{"name": "rival", "scopes": []string{"runs:start", "tenants:manage"}})

	cases := []struct {
		name, method, path, key string
		status                  int
		code                    string
	}{
		{"a key without runs:start syncs", "POST", "/v2/tenants/" + tenant + "/sync", readOnly, 403, "missing_scope"},
		{"the same key reads the tenant", "GET", "/v2/tenants/" + tenant, readOnly, 200, ""},
		{"the same key lists integrations", "GET", "/v2/integrations", readOnly, 403, "missing_scope"},
		{"another organization's key reads the tenant", "GET", "/v2/tenants/" + tenant, rivalKey, 404, "tenant_not_found"},
		{"another organization's key syncs it", "POST", "/v2/tenants/" + tenant + "/sync", rivalKey, 404, "tenant_not_found"},
		{"another organization's key lists its runs", "GET", "/v2/tenants/" + tenant + "/runs", rivalKey, 404, "tenant_not_found"},
		{"another organization's key reads its trigger", "GET", "/v2/runs/triggers/" + trigger + "/status", rivalKey, 404, "trigger_not_found"},
		{"another organization's key archives it", "DELETE", "/v2/tenants/" + tenant, rivalKey, 404, "tenant_not_found"},
		{"a key before its expiry", "GET", "/v2/runs/triggers/" + trigger + "/status", expiring, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := c.apiCall(tc.method, tc.path, bearer(tc.key), nil)
			if status != tc.status || (tc.code != "" && body["code"] != tc.code) {
				t.Fatalf("%d %v, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	if status, tenants, _ := c.apiCall("GET", "/v2/tenants", bearer(rivalKey), nil); status != 200 || len(tenants["tenants"].([]any)) != 0 {
		t.Fatalf("another organization's tenant list: %d %v", status, tenants)
	}

	time.Sleep(time.Until(expiresAt.Add(time.Second)))
	if status, body, _ := c.apiCall("GET", "/v2/runs/triggers/"+trigger+"/status", bearer(expiring), nil); status != 401 || body["code"] != "credential_expired" {
		t.Fatalf("an expired key: %d %v, want 401 credential_expired", status, body)
	}
}

// Hub owners send keys in X-API-KEY. The /v2 routes use an authorizer
// without identity source, so the header alone reaches it; the hub's own
// routes still need Authorization.
func TestAPIKeyInTheXAPIKeyHeaderReachesThePublicAPIOnly(t *testing.T) {
	_, c, session, tenant := demoWithTenant(t)
	_, key := createKey(t, c, session, map[string]any{"name": "CI", "scopes": []string{"runs:start", "tenants:read"}})
	xAPIKey := map[string]string{"X-API-KEY": key}
	if status, body, _ := c.apiCall("POST", "/v2/tenants/"+tenant+"/sync", xAPIKey, nil); status != 202 {
		t.Fatalf("sync with X-API-KEY: %d %v", status, body)
	}
	if status, body, _ := c.apiCall("GET", "/v2/tenants", xAPIKey, nil); status != 200 || len(body["tenants"].([]any)) != 1 {
		t.Fatalf("tenants with X-API-KEY: %d %v", status, body)
	}
	if status, _, _ := c.apiCall("GET", "/users", xAPIKey, nil); status != 401 {
		t.Fatalf("X-API-KEY on a hub route: %d, want 401 (no Authorization identity source)", status)
	}
	if status, body, _ := c.apiCall("GET", "/v2/tenants", nil, nil); status != 401 || body["code"] != "missing_credential" {
		t.Fatalf("no credential on the public API: %d %v, want 401 missing_credential", status, body)
	}
}

// A partner's integration goes draft → in review with the Integration
// Form's answers, validated on submit → back to draft with feedback →
// in review again → published.
func TestPartnerReviewFlowEndToEnd(t *testing.T) {
	st, c, admin, _ := demoWithTenant(t)
	ctx := context.Background()
	hub := bearer(admin)
	status, partner, _ := c.apiCall("POST", "/partners", hub, map[string]any{"name": "Partner Co", "first_user": map[string]string{"email": "pat@partner.example"}})
	if status != 201 {
		t.Fatalf("create the partner: %d %v", status, partner)
	}
	if err := st.Pump.Once(ctx); err != nil {
		t.Fatal(err)
	}
	pat := bearer(signInFirstAdmin(t, st, c, "pat@partner.example"))

	formHeaders := bearer(admin)
	formHeaders["If-Match"] = `"v0"`
	status, form, _ := c.apiCall("PUT", "/integration-form", formHeaders, map[string]any{"questions": []map[string]any{
		{"type": "url", "label": "Documentation", "required": true},
		{"type": "single_choice", "label": "Category", "required": true, "options": []string{"CRM", "ERP"}},
	}})
	if status != 200 {
		t.Fatalf("write the Integration Form: %d %v", status, form)
	}
	questions := form["questions"].([]any)
	docs := questions[0].(map[string]any)["id"].(string)
	category := questions[1].(map[string]any)["id"].(string)

	status, draft, _ := c.apiCall("POST", "/integrations", pat, map[string]any{"name": "Partner CRM", "description": "Contacts both ways."})
	if status != 201 || draft["status"] != "draft" || draft["partner_id"] != partner["id"] {
		t.Fatalf("the partner creates a draft: %d %v", status, draft)
	}
	id := draft["id"].(string)
	steps := []struct {
		name, method, path string
		who                map[string]string
		body               any
		status             int
		want               string // the code of a refusal, or the integration's status
	}{
		{"submit without a required answer", "POST", "/integrations/" + id + "/submit", pat, map[string]any{"answers": map[string]any{docs: "https://docs.partner.example"}}, 400, "answer_required"},
		{"submit an answer that is not an option", "POST", "/integrations/" + id + "/submit", pat, map[string]any{"answers": map[string]any{docs: "https://docs.partner.example", category: "HR"}}, 400, "invalid_option"},
		{"a hub user cannot submit", "POST", "/integrations/" + id + "/submit", hub, map[string]any{"answers": map[string]any{}}, 403, "forbidden_principal"},
		{"submit valid answers", "POST", "/integrations/" + id + "/submit", pat, map[string]any{"answers": map[string]any{docs: "https://docs.partner.example", category: "CRM"}}, 200, "in_review"},
		{"the partner cannot change it in review", "PATCH", "/integrations/" + id, pat, map[string]any{"name": "x"}, 409, "not_a_draft"},
		{"the partner cannot review", "POST", "/integrations/" + id + "/review", pat, map[string]any{"decision": "approve"}, 403, "forbidden_principal"},
		{"reject with feedback", "POST", "/integrations/" + id + "/review", hub, map[string]any{"decision": "reject", "feedback": "Add a logo."}, 200, "draft"},
		{"the partner adds a logo", "PATCH", "/integrations/" + id, pat, map[string]any{"logo_url": "https://cdn.partner.example/crm.svg"}, 200, "draft"},
		{"submit again", "POST", "/integrations/" + id + "/submit", pat, map[string]any{"answers": map[string]any{docs: "https://docs.partner.example", category: "ERP"}}, 200, "in_review"},
		{"approve", "POST", "/integrations/" + id + "/review", hub, map[string]any{"decision": "approve"}, 200, "published"},
	}
	for _, s := range steps {
		status, body, _ := c.apiCall(s.method, s.path, s.who, s.body)
		got, _ := body["status"].(string)
		if status >= 400 {
			got, _ = body["code"].(string)
		}
		if status != s.status || got != s.want {
			t.Fatalf("%s: %d %v, want %d %s", s.name, status, body, s.status, s.want)
		}
	}
	status, detail, _ := c.apiCall("GET", "/integrations/"+id, pat, nil)
	answers, _ := detail["form_answers"].([]any)
	if status != 200 || detail["published"] != true || len(answers) != 2 || answers[1].(map[string]any)["text"] != "ERP" {
		t.Fatalf("the published detail with its answers: %d %v", status, detail)
	}
	status, list, _ := c.apiCall("GET", "/integrations?sort=name", pat, nil)
	if status != 200 || len(list["integrations"].([]any)) != 1 {
		t.Fatalf("the partner's list shows its own integration only: %d %v", status, list)
	}
}
