package marketplace_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/authorizer"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/marketplace"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sessions"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/storagetest"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// clock is a time the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// hub is the marketplace function and the authorizer on one table, with a
// clock the test controls.
type hub struct {
	t          *testing.T
	table      *storagetest.Counting
	clock      *clock
	service    *marketplace.Service
	resolver   *marketplace.Resolver
	authorizer *authorizer.Authorizer
	router     *web.Router
}

func newHub(t *testing.T) *hub { return newHubOn(t, testenv.EmbeddedTable(t)) }

func newHubOn(t *testing.T, table storage.Table) *hub {
	t.Helper()
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{6}, 32))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sessions.NewSigner(keyring.Derive(sessions.KeyPurpose), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{t: t, table: storagetest.NewCounting(table), clock: &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}}
	h.service = marketplace.New(h.table, keyring, h.clock.Now)
	h.resolver = &marketplace.Resolver{Table: h.table, Secrets: keyring.Box(marketplace.SecretPurpose), Now: h.clock.Now}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.authorizer = &authorizer.Authorizer{Table: h.table, Sessions: signer, Marketplace: h.resolver, Log: log}
	h.router = web.NewRouter(log)
	marketplace.Routes(h.router, h.service)
	return h
}

// org is an organization of the test with a hub user.
type org struct {
	ID  string
	Hub principal.Principal
}

func (h *hub) newOrg(marketplaceURL string) org {
	h.t.Helper()
	id := strings.ToLower(ids.New())
	o := orgs.Organization{ID: id, Name: "Org " + id, Plan: principal.Standard, CreatedAt: h.clock.Now(), MarketplaceURL: marketplaceURL}
	item, err := o.Item(1)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.table.Write(context.Background(), storage.Put(item, storage.Absent())); err != nil {
		h.t.Fatal(err)
	}
	return org{ID: id, Hub: principal.Principal{Kind: principal.HubUser, Org: id, Subject: "hub-" + id, Plan: principal.Standard}}
}

// integration creates a published integration of o for audience.
func (h *hub) integration(o org, name string, audience integrations.Audience) string {
	h.t.Helper()
	published := true
	svc := &integrations.Service{Table: h.table, Now: h.clock.Now}
	d, _, err := svc.CreateIntegration(context.Background(), o.Hub, integrations.IntegrationInput{Name: &name, Published: &published, Audience: &audience})
	if err != nil {
		h.t.Fatal(err)
	}
	return d.ID
}

// response is what the function answered.
type response struct {
	Status  int
	Header  http.Header
	Body    string
	Problem web.Problem
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// serve runs a request through the marketplace router behind the Lambda
// V2 adapter, the caller in the authorizer context as API Gateway passes it.
func (h *hub) serve(caller principal.Principal, method, path string, headers map[string]string, body any) response {
	h.t.Helper()
	return h.serveContext(caller.Context(), method, path, headers, body)
}

// serveContext calls the marketplace function with authCtx as the
// authorizer's response context, as API Gateway hands it on.
func (h *hub) serveContext(authCtx map[string]any, method, path string, headers map[string]string, body any) response {
	h.t.Helper()
	p, query, _ := strings.Cut(path, "?")
	hdr := map[string]string{}
	for k, v := range headers {
		hdr[strings.ToLower(k)] = v
	}
	var raw string
	if body != nil {
		b, _ := json.Marshal(body)
		raw = string(b)
		hdr["content-type"] = "application/json"
	}
	rawCtx, _ := json.Marshal(authCtx)
	var lambdaCtx map[string]any
	_ = json.Unmarshal(rawCtx, &lambdaCtx)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: p, RawQueryString: query, Headers: hdr, Body: raw,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  "req-" + ids.New(),
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: p},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambdaCtx},
		},
	}
	resp, err := httpadapter.NewV2(h.router).ProxyWithContext(context.Background(), ev)
	if err != nil {
		h.t.Fatal(err)
	}
	out := response{Status: resp.StatusCode, Header: http.Header{}, Body: resp.Body}
	for k, v := range resp.Headers {
		out.Header.Set(k, v)
	}
	if resp.IsBase64Encoded {
		b, _ := base64.StdEncoding.DecodeString(resp.Body)
		out.Body = string(b)
	}
	if out.Status >= 400 {
		_ = json.Unmarshal([]byte(out.Body), &out.Problem)
	}
	return out
}

// deployed runs a request with a bearer token the way API Gateway does:
// the real authorizer decides, and the function gets its context.
func (h *hub) deployed(token, method, path string, body any) response {
	h.t.Helper()
	resp, err := h.authorizer.Handle(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", RouteKey: method + " " + path,
		Headers: map[string]string{"authorization": "Bearer " + token},
	})
	if err != nil {
		h.t.Fatalf("authorizer failed: %v", err)
	}
	if !resp.IsAuthorized {
		h.t.Fatalf("the authorizer denied (API Gateway's own 403) instead of handing on a refusal")
	}
	return h.serveContext(resp.Context, method, path, nil, body)
}

// authorize runs a bearer token through the real authorizer, with the
// marketplace resolver, and returns the principal, or false when it hands
// on a refusal (which the function answers 401).
func (h *hub) authorize(token string) (principal.Principal, bool) {
	h.t.Helper()
	resp, err := h.authorizer.Handle(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", RouteKey: "GET /marketplace/integrations",
		Headers: map[string]string{"authorization": "Bearer " + token},
	})
	if err != nil {
		h.t.Fatalf("authorizer failed: %v", err)
	}
	if !resp.IsAuthorized {
		h.t.Fatalf("the authorizer denied (API Gateway's own 403) instead of handing on a refusal")
	}
	b, _ := json.Marshal(resp.Context)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	p, err := principal.FromContext(m)
	var refused *principal.RefusedError
	if errors.As(err, &refused) {
		return principal.Principal{}, false
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return p, true
}

// mustAuthorize is authorize for a token that must pass.
func (h *hub) mustAuthorize(token string) principal.Principal {
	h.t.Helper()
	p, ok := h.authorize(token)
	if !ok {
		h.t.Fatalf("a valid token was denied")
	}
	return p
}

// etag reads the settings' current ETag.
func (h *hub) etag(o org) string {
	h.t.Helper()
	r := h.serve(o.Hub, "GET", "/marketplace/settings", nil, nil)
	if r.Status != 200 {
		h.t.Fatalf("GET settings: %d %s", r.Status, r.Body)
	}
	return r.Header.Get("ETag")
}

// rules sets o's token rules.
func (h *hub) rules(o org, in marketplace.RulesInput) {
	h.t.Helper()
	r := h.serve(o.Hub, "PUT", "/marketplace/settings", map[string]string{"If-Match": h.etag(o)}, in)
	if r.Status != 200 {
		h.t.Fatalf("PUT settings: %d %s", r.Status, r.Body)
	}
}

// newSecret makes o's next HS256 secret.
func (h *hub) newSecret(o org, graceSeconds int64) marketplace.NewSecret {
	h.t.Helper()
	r := h.serve(o.Hub, "POST", "/marketplace/settings/secrets", map[string]string{"If-Match": h.etag(o)}, marketplace.SecretInput{GracePeriodSeconds: &graceSeconds})
	if r.Status != 201 {
		h.t.Fatalf("POST secret: %d %s", r.Status, r.Body)
	}
	var s marketplace.NewSecret
	r.decode(h.t, &s)
	return s
}

// addKey registers a public key of o.
func (h *hub) addKey(o org, in marketplace.KeyInput) response {
	h.t.Helper()
	return h.serve(o.Hub, "POST", "/marketplace/settings/keys", map[string]string{"If-Match": h.etag(o)}, in)
}

// token signs claims for an end-user at the hub's clock: iat now, exp in
// ten minutes, unless claims say otherwise.
func (h *hub) token(method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	h.t.Helper()
	now := h.clock.Now()
	c := jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// items lists every item of a partition.
func (h *hub) items(pk string) []storage.Item {
	h.t.Helper()
	page, err := h.table.Query(context.Background(), storage.Query{PK: pk, Limit: storage.MaxPageSize})
	if err != nil {
		h.t.Fatal(err)
	}
	return page.Items
}

// endUserTenants are an end-user's live tenants (their partition also
// holds the copy of their record).
func (h *hub) endUserTenants(o org, endUser string) []storage.Item {
	h.t.Helper()
	page, err := h.table.Query(context.Background(), storage.Query{PK: keys.EndUserTenantsPK(o.ID, endUser), Sort: storage.SortPrefix, From: keys.TenantsPrefix, Limit: storage.MaxPageSize})
	if err != nil {
		h.t.Fatal(err)
	}
	return page.Items
}
