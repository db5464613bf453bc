// Package settingstest gives the settings areas' tests a hub to run against:
// a table (embedded or DynamoDB Local), organizations made by the operator
// and users who accepted their invitations through the users service, and
// the areas' real routers behind the API Gateway V2 adapter.
package settingstest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/integration-hub/hub/internal/company"
	"github.com/integration-hub/hub/internal/forms"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/notifications"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/partnerform"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sessions"
	"github.com/integration-hub/hub/internal/sourcecontrol"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/users"
	"github.com/integration-hub/hub/internal/web"
)

// Password of every fixture user.
const Password = "correct horse battery"

// Embedded is a fresh embedded table.
func Embedded(t *testing.T) storage.Table { return testenv.EmbeddedTable(t) }

// DynamoDB is a fresh table on DynamoDB Local (the test is skipped outside
// CI when it is not installed; the package's TestMain must be testenv.Main).
func DynamoDB(t *testing.T) storage.Table { return testenv.DynamoDBTable(t) }

// Hub is the settings areas over one table.
type Hub struct {
	t       *testing.T
	Table   storage.Table
	Users   *users.Service
	box     *secrets.Box
	routers map[string]*web.Router
}

// New builds the hub's services over table and each settings area's router
// (the five areas of the settings issue) as app.HTTPFunctions wires them.
func New(t *testing.T, table storage.Table) *Hub {
	t.Helper()
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sessions.NewSigner(keyring.Derive(sessions.KeyPurpose), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h := &Hub{t: t, Table: table, box: keyring.Box("outbox")}
	h.Users = &users.Service{
		Table: table, Box: h.box, Links: users.Links{Base: "https://hub.test"}, Sessions: signer,
		Hashing: passwords.Params{MemoryKiB: 64, Time: 1, Threads: 1}, Now: time.Now,
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.routers = map[string]*web.Router{}
	build := map[string]func(rt *web.Router){
		"company": func(rt *web.Router) {
			company.Routes(rt, &company.Service{Table: table, Admins: h.Users, Now: time.Now})
		},
		"notifications": func(rt *web.Router) {
			notifications.Routes(rt, &notifications.Service{Table: table, Now: time.Now})
		},
		"integration-form": func(rt *web.Router) {
			forms.IntegrationRoutes(rt, &forms.IntegrationService{Table: table, Now: time.Now})
		},
		"partner-form": func(rt *web.Router) {
			partnerform.Routes(rt, &partnerform.Service{Table: table, Links: h.Users.Links, Box: h.box, Now: time.Now})
		},
		"source-control": func(rt *web.Router) {
			// GitHub is configured so that connecting answers a sign-in URL;
			// connecting never calls the provider.
			cfg, err := sourcecontrol.FromEnv(func(k string) string {
				return map[string]string{"HUB_OAUTH_GITHUB_CLIENT_ID": "matrix-client", "HUB_OAUTH_GITHUB_CLIENT_SECRET": "matrix-secret", "HUB_OAUTH_REDIRECT_URL": "https://api.hub.test/source-control/callback"}[k]
			})
			if err != nil {
				t.Fatal(err)
			}
			sourcecontrol.Routes(rt, sourcecontrol.New(table, keyring, h.Users.Links.Base, cfg, time.Now))
		},
	}
	for name, routes := range build {
		rt := web.NewRouter(log)
		routes(rt)
		h.routers[name] = rt
	}
	return h
}

// Router is a settings area's router.
func (h *Hub) Router(function string) *web.Router {
	rt, ok := h.routers[function]
	if !ok {
		h.t.Fatalf("no settings function %q", function)
	}
	return rt
}

// Org is an organization of the fixture with its primary administrator,
// who has accepted the invitation.
type Org struct {
	ID    string
	Plan  principal.Plan
	Admin principal.Principal
	// AdminEmail is also the primary contact.
	AdminEmail string
}

// NewOrg creates an organization the way the operator does.
func (h *Hub) NewOrg(plan principal.Plan) Org {
	h.t.Helper()
	email := "admin-" + strings.ToLower(ids.New()) + "@acme.test"
	created, err := operator.Create(context.Background(), h.Table, operator.CreateInput{Name: "Acme", Plan: plan, AdminEmail: email}, h.Users.Links, h.box, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	h.Accept(created.Org.ID, email)
	return Org{
		ID: created.Org.ID, Plan: plan, AdminEmail: email,
		Admin: principal.Principal{Kind: principal.HubUser, Org: created.Org.ID, Subject: created.AdminID, Plan: plan},
	}
}

// HubUser invites a hub user into org; they accept.
func (h *Hub) HubUser(org Org, email string) principal.Principal {
	h.t.Helper()
	v, err := h.Users.Invite(context.Background(), org.Admin, users.InviteInput{Email: email})
	if err != nil {
		h.t.Fatalf("invite %s: %v", email, err)
	}
	h.Accept(org.ID, v.Email)
	return principal.Principal{Kind: principal.HubUser, Org: org.ID, Subject: v.ID, Plan: org.Plan}
}

// Partner creates (invite false) or invites (invite true) a partner
// organization with a first user, who accepts. The principal is that user,
// pending while an invited partner's form is due.
func (h *Hub) Partner(org Org, name, email string, invite bool) principal.Principal {
	h.t.Helper()
	mode := "create"
	if invite {
		mode = "invite"
	}
	pv, err := h.Users.CreatePartner(context.Background(), org.Admin, users.PartnerInput{Name: name, Mode: mode, FirstUser: &users.InviteInput{Email: email}})
	if err != nil {
		h.t.Fatalf("partner %s: %v", name, err)
	}
	s := h.Accept(org.ID, pv.FirstUser.Email)
	return principal.Principal{Kind: principal.PartnerUser, Org: org.ID, Subject: s.User.ID, Partner: pv.ID, Plan: org.Plan, PartnerPending: invite}
}

// Accept accepts the newest invitation sent to email.
func (h *Hub) Accept(org, email string) users.Session {
	h.t.Helper()
	s, err := h.Users.AcceptInvitation(context.Background(), users.AcceptInput{Token: h.invitationToken(org, email), Name: "Someone", Password: Password})
	if err != nil {
		h.t.Fatalf("accept invitation of %s: %v", email, err)
	}
	return s
}

func (h *Hub) invitationToken(org, email string) string {
	h.t.Helper()
	for _, ev := range h.Events(org) {
		if len(ev.To) != 1 || ev.To[0] != email || ev.Kind != outbox.Invitation {
			continue
		}
		link, err := h.box.Open(ev.Sealed["link"], ev.SealedContext())
		if err != nil {
			h.t.Fatal(err)
		}
		u, err := url.Parse(string(link))
		if err != nil {
			h.t.Fatal(err)
		}
		v, err := url.ParseQuery(u.Fragment)
		if err != nil {
			h.t.Fatal(err)
		}
		return v.Get("token")
	}
	h.t.Fatalf("no invitation to %s in the outbox", email)
	return ""
}

// Events are an organization's outbox events, newest first.
func (h *Hub) Events(org string) []outbox.Event {
	h.t.Helper()
	page, err := h.Table.Query(context.Background(), storage.Query{PK: keys.OrgPK(org), Sort: storage.SortPrefix, From: "EVENT#", Descending: true, Limit: storage.MaxPageSize})
	if err != nil {
		h.t.Fatal(err)
	}
	out := make([]outbox.Event, 0, len(page.Items))
	for _, it := range page.Items {
		ev, err := outbox.FromItem(it)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// Response is what a function answered.
type Response struct {
	Status  int
	Header  http.Header
	Body    string
	Problem web.Problem
}

// Decode reads the body as JSON into v.
func (r Response) Decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// Request is one request to a function; Caller is the principal the
// authorizer resolved.
type Request struct {
	Method, Path string
	Caller       principal.Principal
	IfMatch      string
	Body         string
}

// Serve runs req through the function's router behind the Lambda V2
// adapter, the principal in the API Gateway authorizer context as API
// Gateway delivers it (JSON). It may run on several goroutines at once: a
// failure of the adapter itself is reported with Errorf and a zero status.
func (h *Hub) Serve(function string, req Request) Response {
	h.t.Helper()
	rt, ok := h.routers[function]
	if !ok {
		h.t.Errorf("no settings function %q", function)
		return Response{}
	}
	return ServeRouter(h.t, rt, req)
}

// ServeRouter is Serve for any function's router.
func ServeRouter(t testing.TB, rt http.Handler, req Request) Response {
	t.Helper()
	path, query, _ := strings.Cut(req.Path, "?")
	headers := map[string]string{"authorization": "Bearer test"}
	if req.Body != "" {
		headers["content-type"] = "application/json"
	}
	if req.IfMatch != "" {
		headers["if-match"] = req.IfMatch
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query, Headers: headers, Body: req.Body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-" + ids.New(), Stage: "$default",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: req.Method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.10"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: AuthorizerContext(req.Caller)},
		},
	}
	resp, err := httpadapter.NewV2(rt).ProxyWithContext(context.Background(), ev)
	if err != nil {
		t.Errorf("%s %s: the adapter failed: %v", req.Method, req.Path, err)
		return Response{}
	}
	out := Response{Status: resp.StatusCode, Header: http.Header{}, Body: resp.Body}
	for k, v := range resp.Headers {
		out.Header.Set(k, v)
	}
	if resp.IsBase64Encoded {
		body, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			t.Errorf("%s %s: a base64 body that does not decode: %v", req.Method, req.Path, err)
		}
		out.Body = string(body)
	}
	if resp.StatusCode >= 400 {
		_ = json.Unmarshal([]byte(out.Body), &out.Problem)
	}
	return out
}

// ETag reads the ETag a GET of path answers caller.
func (h *Hub) ETag(function, path string, caller principal.Principal) string {
	h.t.Helper()
	resp := h.Serve(function, Request{Method: "GET", Path: path, Caller: caller})
	if resp.Status != http.StatusOK || resp.Header.Get("ETag") == "" {
		h.t.Fatalf("GET %s: %d %s without an ETag", path, resp.Status, resp.Body)
	}
	return resp.Header.Get("ETag")
}

// AuthorizerContext is p's authorizer context as API Gateway passes it to a
// function: the authorizer's response context after JSON.
func AuthorizerContext(p principal.Principal) map[string]any {
	b, _ := json.Marshal(p.Context())
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}
