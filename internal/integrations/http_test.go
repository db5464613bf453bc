package integrations_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/web"
)

// recordedUses is a KeyUsage that remembers the keys it was told about.
type recordedUses struct{ keys []string }

func (r *recordedUses) RecordUse(_ context.Context, org, key string) error {
	r.keys = append(r.keys, org+"/"+key)
	return nil
}

// call sends one request through the router behind the Lambda V2 adapter,
// with p in the authorizer context, as API Gateway delivers it.
func call(t *testing.T, rt *web.Router, method, pathAndQuery string, p principal.Principal, body string) (int, web.Problem) {
	t.Helper()
	path, query, _ := strings.Cut(pathAndQuery, "?")
	b, _ := json.Marshal(p.Context())
	var lambda map[string]any
	_ = json.Unmarshal(b, &lambda)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: path, RawQueryString: query, Headers: map[string]string{"content-type": "application/json"}, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  "req-1",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambda},
		},
	}
	if query != "" {
		ev.QueryStringParameters = map[string]string{}
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			ev.QueryStringParameters[k] = v
		}
	}
	resp, err := httpadapter.NewV2(rt).ProxyWithContext(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var problem web.Problem
	_ = json.Unmarshal([]byte(resp.Body), &problem)
	return resp.StatusCode, problem
}

// Every /v2 route admits hub users and the API keys holding one of its
// scopes, and nobody else; the hub's own routes admit no API key.
func TestEachRouteAdmitsItsPrincipalsAndScopes(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	uses := &recordedUses{}
	f.svc.KeyUsage = uses
	rt := web.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	integrations.Routes(rt, f.svc)

	const id = "01JD0000000000000000000000"
	admitting := map[string][]string{
		"GET /v2/integrations":                      {apikeys.ScopeIntegrationsRead},
		"GET /v2/integrations/{id}":                 {apikeys.ScopeIntegrationsRead},
		"GET /v2/tenants":                           {apikeys.ScopeTenantsRead, apikeys.ScopeTenantsManage},
		"POST /v2/tenants":                          {apikeys.ScopeTenantsManage},
		"GET /v2/tenants/{id}":                      {apikeys.ScopeTenantsRead, apikeys.ScopeTenantsManage},
		"PATCH /v2/tenants/{id}":                    {apikeys.ScopeTenantsManage},
		"DELETE /v2/tenants/{id}":                   {apikeys.ScopeTenantsManage},
		"POST /v2/tenants/{id}/sync":                {apikeys.ScopeRunsStart},
		"GET /v2/tenants/{id}/runs":                 {apikeys.ScopeRunsRead, apikeys.ScopeRunsStart},
		"GET /v2/runs/triggers/{trigger_id}/status": {apikeys.ScopeRunsRead, apikeys.ScopeRunsStart},
		"PUT /v2/runs/triggers/{trigger_id}/status": {apikeys.ScopeRunsReport},
	}
	keyWith := func(scopes ...string) principal.Principal {
		return principal.Principal{Kind: principal.APIKey, Org: "acme", Subject: "01JKEY00000000000000000000", Scopes: scopes, UseDue: true}
	}
	endUser := principal.Principal{Kind: principal.EndUser, Org: "acme", Subject: "customer-1"}
	served := map[string]bool{}
	for _, r := range rt.Routes() {
		served[r.Key()] = true
		path := strings.NewReplacer("{id}", id, "{trigger_id}", id).Replace(r.Path)
		body := "{}"
		if r.Method == "GET" || r.Method == "DELETE" {
			body = ""
		}
		scopes, public := admitting[r.Key()]
		t.Run(r.Key(), func(t *testing.T) {
			type expectation struct {
				who     string
				p       principal.Principal
				refused string
			}
			var cases []expectation
			if public {
				cases = append(cases,
					expectation{"hub user", f.hub, ""},
					expectation{"partner user", f.partner, "forbidden_principal"},
					expectation{"end-user", endUser, "forbidden_principal"},
					expectation{"key with every other scope", keyWith(slices.DeleteFunc(slices.Clone(apikeys.Scopes), func(s string) bool { return slices.Contains(scopes, s) })...), "missing_scope"},
				)
				for _, s := range scopes {
					cases = append(cases, expectation{"key with " + s, keyWith(s), ""})
				}
			} else {
				cases = append(cases, expectation{"key with every scope", keyWith(apikeys.Scopes...), "forbidden_principal"})
			}
			for _, c := range cases {
				status, problem := call(t, rt, r.Method, path, c.p, body)
				refused := ""
				if status == 403 {
					refused = problem.Code
				}
				if refused != c.refused {
					t.Errorf("%s: %d %q, want refusal %q", c.who, status, problem.Code, c.refused)
				}
			}
		})
	}
	if len(uses.keys) == 0 || uses.keys[0] != "acme/01JKEY00000000000000000000" {
		t.Fatalf("API key uses recorded: %v", uses.keys)
	}
	for key := range admitting {
		if !served[key] {
			t.Errorf("%s is not served", key)
		}
	}
}

// A key's use is recorded only when the authorizer, which read the key's
// "last used at", says it is due; the other calls of the minute read
// nothing for it.
func TestAKeysUseIsRecordedOnlyWhenTheAuthorizerSaysItIsDue(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	uses := &recordedUses{}
	f.svc.KeyUsage = uses
	rt := web.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	integrations.Routes(rt, f.svc)
	key := principal.Principal{Kind: principal.APIKey, Org: "acme", Subject: "01JKEY00000000000000000000", Scopes: []string{apikeys.ScopeIntegrationsRead}}
	for _, due := range []bool{false, true, false} {
		key.UseDue = due
		if status, problem := call(t, rt, "GET", "/v2/integrations", key, ""); status != 200 {
			t.Fatalf("list with the key: %d %+v", status, problem)
		}
	}
	if len(uses.keys) != 1 {
		t.Fatalf("uses recorded %v, want one: the call the use was due on", uses.keys)
	}
}

func TestListParametersAreCheckedNamingTheParameter(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	rt := web.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	integrations.Routes(rt, f.svc)
	cases := []struct {
		query  string
		status int
		field  string
		code   string
	}{
		{"", 200, "", ""},
		{"?skip=0&limit=100&sort=created_at&order=asc", 200, "", ""},
		{"?skip=20", 400, "skip", "skip_unsupported"},
		{"?skip=x", 400, "skip", "skip_unsupported"},
		{"?limit=0", 400, "limit", "invalid_limit"},
		{"?limit=101", 400, "limit", "invalid_limit"},
		{"?sort=name", 400, "sort", "invalid_sort"},
		{"?order=up", 400, "order", "invalid_order"},
		{"?cursor=bm9wZQ", 400, "cursor", "invalid_cursor"},
		{"?integration_id=01JD0000000000000000000000&end_user_id=u", 400, "end_user_id", "one_filter"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			status, problem := call(t, rt, "GET", "/v2/tenants"+tc.query, f.hub, "")
			if status != tc.status || problem.Field != tc.field || problem.Code != tc.code {
				t.Fatalf("%d %+v, want %d %s on %q", status, problem, tc.status, tc.code, tc.field)
			}
		})
	}
}
