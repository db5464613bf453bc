package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/settings/settingstest"
	"github.com/integration-hub/hub/internal/storage/storagetest"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/web"
)

// listHub is the functions as app wires them for their Lambdas, over a
// table that counts every call, served through the API Gateway V2 adapter
// with the principal the authorizer resolved in the request context.
type listHub struct {
	t       *testing.T
	table   *storagetest.Counting
	routers map[string]*web.Router
}

// counts are the table calls of one request.
type counts struct{ queries, reads, writes int64 }

func (h *listHub) counts() counts {
	return counts{h.table.Queries(), h.table.Reads(), h.table.Writes()}
}

// serve sends one request to function and returns its status, its body
// and the table calls it made.
func (h *listHub) serve(function, method, target string, p principal.Principal, body string) (int, string, counts) {
	h.t.Helper()
	rt, ok := h.routers[function]
	if !ok {
		h.t.Fatalf("no function %q", function)
	}
	path, query, _ := strings.Cut(target, "?")
	b, _ := json.Marshal(p.Context())
	var authorizer map[string]any
	_ = json.Unmarshal(b, &authorizer)
	headers := map[string]string{"authorization": "Bearer test"}
	if body != "" {
		headers["content-type"] = "application/json"
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query, Headers: headers, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-" + ids.New(), Stage: "$default",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.10"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: authorizer},
		},
	}
	before := h.counts()
	resp, err := httpadapter.NewV2(rt).ProxyWithContext(context.Background(), ev)
	if err != nil {
		h.t.Fatalf("%s %s: the adapter failed: %v", method, target, err)
	}
	after := h.counts()
	return resp.StatusCode, resp.Body, counts{after.queries - before.queries, after.reads - before.reads, after.writes - before.writes}
}

// must sends a request that must answer want and decodes its body into
// out (when not nil).
func (h *listHub) must(function, method, target string, p principal.Principal, body string, want int, out any) {
	h.t.Helper()
	status, got, _ := h.serve(function, method, target, p, body)
	if status != want {
		h.t.Fatalf("%s %s: %d %s, want %d", method, target, status, got, want)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(got), out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, target, got, err)
		}
	}
}

// TestEveryListIsOneQuery serves each list route of API Access, the
// integrations function (its hub routes and the public /v2 API) and the
// Partner Form once, on a page that holds items, and counts the table
// calls the function makes (issue 5: "every list is one Query"; the
// README's table of DynamoDB calls per route: one Query each). Every list
// is one Query and nothing else, an API key's too: its "last used at" is
// recorded only on the call the authorizer marks as due (about once a
// minute per key), which the warm-up call before the measured ones is.
func TestEveryListIsOneQuery(t *testing.T) {
	db := testenv.EmbeddedTable(t)
	h := &listHub{t: t, table: storagetest.NewCounting(db), routers: map[string]*web.Router{}}
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	hub := settingstest.New(t, db) // organizations and their users, on the table itself
	d := &app.Deps{
		Table: h.table, Keys: keyring, Links: hub.Users.Links, LogOutput: io.Discard, Now: testenv.TickingClock(),
		Hashing: passwords.Params{MemoryKiB: 64, Time: 1, Threads: 1},
	}
	for _, name := range []string{"api-access", "integrations", "partner-form"} {
		if h.routers[name], err = d.Router(name); err != nil {
			t.Fatal(err)
		}
	}

	org := hub.NewOrg(principal.Standard)
	admin := org.Admin
	partnerUser := hub.Partner(org, "Initech", "peter@initech.test", false)
	pendingUser := hub.Partner(org, "Globex", "hank@globex.test", true)

	var key struct {
		ID     string   `json:"id"`
		Scopes []string `json:"scopes"`
	}
	h.must("api-access", "POST", "/api-keys", admin, `{"name":"Deploys","scopes":["runs:start"]}`, http.StatusCreated, nil)
	h.must("api-access", "POST", "/api-keys", admin, `{"name":"Lists","scopes":["integrations:read","tenants:read","runs:read"]}`, http.StatusCreated, &key)
	apiKey := principal.Principal{Kind: principal.APIKey, Org: org.ID, Subject: key.ID, Plan: principal.Standard, Scopes: key.Scopes}

	var billing, crm struct {
		ID string `json:"id"`
	}
	h.must("integrations", "POST", "/integrations", admin, `{"name":"Billing sync","published":true}`, http.StatusCreated, &billing)
	h.must("integrations", "POST", "/integrations", admin, `{"name":"CRM sync","published":true}`, http.StatusCreated, &crm)
	h.must("integrations", "POST", "/integrations", partnerUser, `{"name":"Initech ERP"}`, http.StatusCreated, nil)
	var tenant struct {
		ID string `json:"id"`
	}
	h.must("integrations", "POST", "/v2/tenants", admin, `{"integration_id":"`+billing.ID+`","end_user_id":"end-user-1"}`, http.StatusCreated, &tenant)
	h.must("integrations", "POST", "/v2/tenants", admin, `{"integration_id":"`+billing.ID+`","end_user_id":"end-user-2"}`, http.StatusCreated, nil)
	h.must("integrations", "POST", "/v2/tenants", admin, `{"integration_id":"`+crm.ID+`","end_user_id":"end-user-1"}`, http.StatusCreated, nil)
	h.must("integrations", "POST", "/v2/tenants/"+tenant.ID+"/sync", admin, "", http.StatusAccepted, nil)
	h.must("integrations", "POST", "/v2/tenants/"+tenant.ID+"/sync", admin, "", http.StatusAccepted, nil)
	h.must("partner-form", "POST", "/partner-form/answers", pendingUser, `{"answers":{}}`, http.StatusCreated, nil)
	// The key's first use is due, and records its "last used at" (a
	// read and a write); the lists below come within the minute.
	due := apiKey
	due.UseDue = true
	h.must("integrations", "GET", "/v2/integrations", due, "", http.StatusOK, nil)

	oneQuery := counts{queries: 1}
	tests := []struct {
		name, function, target string
		as                     principal.Principal
		// list is the page's array, which must hold min items.
		list string
		min  int
		want counts
	}{
		{"API keys", "api-access", "/api-keys", admin, "api_keys", 2, oneQuery},
		{"integrations by name", "integrations", "/integrations", admin, "integrations", 3, oneQuery},
		{"integrations newest first", "integrations", "/integrations?sort=created_at&order=desc", admin, "integrations", 3, oneQuery},
		{"a partner's integrations", "integrations", "/integrations", partnerUser, "integrations", 1, oneQuery},
		{"/v2 integrations", "integrations", "/v2/integrations", admin, "integrations", 3, oneQuery},
		{"/v2 tenants", "integrations", "/v2/tenants", admin, "tenants", 3, oneQuery},
		{"/v2 tenants of an integration", "integrations", "/v2/tenants?integration_id=" + billing.ID, admin, "tenants", 2, oneQuery},
		{"/v2 tenants of an end-user", "integrations", "/v2/tenants?end_user_id=end-user-1", admin, "tenants", 2, oneQuery},
		{"/v2 runs of a tenant", "integrations", "/v2/tenants/" + tenant.ID + "/runs", admin, "runs", 2, oneQuery},
		{"Partner Form answers", "partner-form", "/partner-form/answers", admin, "answers", 1, oneQuery},
		{"/v2 integrations with an API key", "integrations", "/v2/integrations", apiKey, "integrations", 3, oneQuery},
		{"/v2 tenants with an API key", "integrations", "/v2/tenants", apiKey, "tenants", 3, oneQuery},
		{"/v2 tenants of an integration with an API key", "integrations", "/v2/tenants?integration_id=" + billing.ID, apiKey, "tenants", 2, oneQuery},
		{"/v2 tenants of an end-user with an API key", "integrations", "/v2/tenants?end_user_id=end-user-1", apiKey, "tenants", 2, oneQuery},
		{"/v2 runs of a tenant with an API key", "integrations", "/v2/tenants/" + tenant.ID + "/runs", apiKey, "runs", 2, oneQuery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, got := h.serve(tt.function, "GET", tt.target, tt.as, "")
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tt.target, status, body)
			}
			var page map[string]json.RawMessage
			var items []json.RawMessage
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatalf("GET %s: %v", tt.target, err)
			}
			if err := json.Unmarshal(page[tt.list], &items); err != nil || len(items) < tt.min {
				t.Fatalf("GET %s: %d %s (%v), want at least %d", tt.target, len(items), tt.list, err, tt.min)
			}
			if got != tt.want {
				t.Errorf("GET %s made %d queries, %d reads and %d writes; want %d, %d and %d",
					tt.target, got.queries, got.reads, got.writes, tt.want.queries, tt.want.reads, tt.want.writes)
			}
		})
	}
}
