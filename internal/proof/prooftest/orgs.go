package prooftest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
)

// Resource collections of an organization, named as the path segment that
// precedes their id in the routes (/users/{id}, /v2/tenants/{id}), so a
// route's path says which collection its parameter addresses.
const (
	Users        = "users"
	Partners     = "partners"
	APIKeys      = "api-keys"
	Integrations = "integrations"
	Tenants      = "tenants"
	Triggers     = "triggers"
	// Secrets are marketplace HS256 secrets, by kid.
	Secrets = "secrets"
	// PublicKeys are marketplace public keys, by kid.
	PublicKeys = "keys"
)

// Org is an organization populated through the API: callers of each kind
// and at least one real resource of each collection its routes address.
type Org struct {
	ID string
	// Label is a random token in every name, address and end-user id of
	// the organization, so its data is recognised wherever it turns up.
	Label string

	Admin          Credential // primary administrator (hub user)
	HubUser        Credential // a second hub user
	Partner        Credential // user of a created (active) partner
	PendingPartner Credential // user of an invited partner whose form is due
	APIKey         Credential // an API key holding every scope
	// EndUser is a marketplace end-user's token, signed with the
	// organization's HS256 secret, MarketplaceSecret.
	EndUser           Credential
	MarketplaceSecret string

	// Resources are real ids by collection.
	Resources map[string][]string
}

// Callers are the organization's credentials, one column each.
func (o *Org) Callers() []Credential {
	out := []Credential{o.Admin, o.Partner, o.PendingPartner}
	for _, c := range []Credential{o.APIKey, o.EndUser} {
		if c.Kind != "" {
			out = append(out, c)
		}
	}
	return out
}

// Identifiers are strings that only this organization's data contains: its
// id, its label and every resource id.
func (o *Org) Identifiers() []string {
	out := []string{o.ID, o.Label}
	for _, ids := range o.Resources {
		out = append(out, ids...)
	}
	return out
}

// Resource is the first id of a collection, or "".
func (o *Org) Resource(collection string) string {
	if ids := o.Resources[collection]; len(ids) > 0 {
		return ids[0]
	}
	return ""
}

func (o *Org) add(collection, id string) {
	if id != "" {
		o.Resources[collection] = append(o.Resources[collection], id)
	}
}

func randomLabel() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return strings.ToLower(strings.NewReplacer("-", "x", "_", "y").Replace(base64.RawURLEncoding.EncodeToString(b)))
}

// SVGLogo is a logo every organization uploads.
const SVGLogo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#0a0"/></svg>`

// NewOrg creates an organization the way the operator does, its
// administrator accepts the invitation, and everything else is made through
// the API as its users would: a second hub user, a created and an invited
// partner with their first users, an invited partner that submitted the
// Partner Form, an API key, integrations, a tenant and a run, and a logo.
// Steps whose routes do not exist (a feature not landed) are left out.
func (h *Hub) NewOrg(plan principal.Plan) *Org {
	h.t.Helper()
	ctx := context.Background()
	o := &Org{Label: randomLabel(), Resources: map[string][]string{}}
	domain := o.Label + ".test"
	created, err := h.Deps.Operator().Handle(ctx, operator.Request{
		Action:       "create_organization",
		Organization: &operator.CreateInput{Name: "Org " + o.Label, Plan: plan, AdminEmail: "admin@" + domain, AdminName: "Admin " + o.Label},
	})
	if err != nil {
		h.t.Fatalf("create organization: %v", err)
	}
	o.ID = created.Organization.ID
	o.Admin = h.accept(o, "org "+o.Label+" hub user", principal.HubUser, "admin@"+domain)

	// The second hub user comes first among the users: the one a route
	// addresses can be deleted (the primary administrator cannot).
	invited := h.MustDo(Request{Method: "POST", Path: "/users", Caller: o.Admin, Body: JSONBody(map[string]string{"email": "second@" + domain})}, http.StatusCreated)
	o.HubUser = h.accept(o, "org "+o.Label+" second hub user", principal.HubUser, "second@"+domain)
	o.add(Users, invited.Field("id"))
	o.add(Users, o.Admin.Subject)

	partner := func(mode, email string) (partnerID string, c Credential) {
		resp := h.MustDo(Request{Method: "POST", Path: "/partners", Caller: o.Admin, Body: JSONBody(map[string]any{
			"name": "Partner " + mode + " " + o.Label, "mode": mode, "first_user": map[string]string{"email": email},
		})}, http.StatusCreated)
		partnerID = resp.Field("id")
		o.add(Partners, partnerID)
		c = h.accept(o, "org "+o.Label+" "+mode+"d partner user", principal.PartnerUser, email)
		c.Pending = mode == "invite"
		c.Partner = partnerID
		o.add(Users, c.Subject)
		return partnerID, c
	}
	if h.HasRoute("POST /partner-form/answers") {
		// First among the partners: the one whose answers exist.
		_, answered := partner("invite", "answered@"+domain)
		h.MustDo(Request{Method: "POST", Path: "/partner-form/answers", Caller: answered, Body: []byte(`{"answers":{},"accept_terms":true}`)}, http.StatusCreated)
	}
	_, o.Partner = partner("create", "partner@"+domain)
	_, o.PendingPartner = partner("invite", "pending@"+domain)
	// Last among the users: one who never accepted the invitation.
	pending := h.MustDo(Request{Method: "POST", Path: "/users", Caller: o.Admin, Body: JSONBody(map[string]string{"email": "invited@" + domain})}, http.StatusCreated)
	o.add(Users, pending.Field("id"))

	if etag := h.ETag("/company", o.Admin); etag != "" && h.HasRoute("PATCH /company") {
		h.MustDo(Request{Method: "PATCH", Path: "/company", Caller: o.Admin, IfMatch: etag, Body: JSONBody(map[string]string{
			"marketplace_url": "https://app." + domain + "/integrations",
		})}, http.StatusOK)
	}

	if etag := h.ETag("/company", o.Admin); etag != "" && h.HasRoute("PUT /company/logos/{variant}") {
		h.MustDo(Request{Method: "PUT", Path: "/company/logos/light", Caller: o.Admin, IfMatch: etag, Body: JSONBody(map[string]string{
			"content_type": "image/svg+xml", "data": base64.StdEncoding.EncodeToString([]byte(SVGLogo)),
		})}, http.StatusOK)
	}

	if h.HasRoute("POST /api-keys") {
		resp := h.MustDo(Request{Method: "POST", Path: "/api-keys", Caller: o.Admin, Body: JSONBody(map[string]any{
			"name": "proof " + o.Label, "scopes": apikeys.Scopes,
		})}, http.StatusCreated)
		o.APIKey = APIKeyCredential("org "+o.Label+" API key", o.ID, resp.Field("id"), resp.Field("key"))
		o.add(APIKeys, resp.Field("id"))
	}
	if h.HasRoute("POST /integrations") {
		resp := h.MustDo(Request{Method: "POST", Path: "/integrations", Caller: o.Admin, Body: JSONBody(map[string]any{
			"name": "Integration " + o.Label, "description": "of org " + o.Label, "published": true,
		})}, http.StatusCreated)
		integration := resp.Field("id")
		o.add(Integrations, integration)
		// Another published integration, the one the end-user installs:
		// the first stays available to install.
		resp = h.MustDo(Request{Method: "POST", Path: "/integrations", Caller: o.Admin, Body: JSONBody(map[string]any{
			"name": "Installed integration " + o.Label, "published": true,
		})}, http.StatusCreated)
		installed := resp.Field("id")
		// A partner's integration in review, and a draft.
		for i, submit := range []bool{true, false} {
			resp = h.MustDo(Request{Method: "POST", Path: "/integrations", Caller: o.Partner, Body: JSONBody(map[string]any{
				"name": fmt.Sprintf("Partner integration %d %s", i, o.Label),
			})}, http.StatusCreated)
			id := resp.Field("id")
			o.add(Integrations, id)
			if submit && h.HasRoute("POST /integrations/{id}/submit") {
				h.MustDo(Request{Method: "POST", Path: "/integrations/" + id + "/submit", Caller: o.Partner, Body: []byte(`{"answers":{}}`)}, http.StatusOK)
			}
		}
		if o.APIKey.Kind != "" && h.HasRoute("POST /v2/tenants") {
			resp = h.MustDo(Request{Method: "POST", Path: "/v2/tenants", Caller: o.APIKey, Body: JSONBody(map[string]any{
				"integration_id": integration, "end_user_id": "api-end-user-" + o.Label,
			})}, http.StatusCreated)
			tenant := resp.Field("id")
			o.add(Tenants, tenant)
			if h.HasRoute("POST /v2/tenants/{id}/sync") {
				resp = h.MustDo(Request{Method: "POST", Path: "/v2/tenants/" + tenant + "/sync", Caller: o.APIKey}, http.StatusAccepted)
				trigger := resp.Field("trigger_id")
				if trigger == "" {
					trigger = resp.Field("id")
				}
				o.add(Triggers, trigger)
			}
		}
		o.add(Integrations, installed)
		h.endUser(o, installed)
	}
	return o
}

// endUser gives the organization an HS256 marketplace secret and an
// end-user who installed integration, when the marketplace is served.
func (h *Hub) endUser(o *Org, integration string) {
	h.t.Helper()
	if !h.HasRoute("POST /marketplace/settings/secrets") {
		return
	}
	etag := h.ETag("/marketplace/settings", o.Admin)
	resp := h.MustDo(Request{Method: "POST", Path: "/marketplace/settings/secrets", Caller: o.Admin, IfMatch: etag}, http.StatusCreated)
	kid, secret := resp.Field("kid"), resp.Field("secret")
	o.add(Secrets, kid)
	o.MarketplaceSecret = secret
	if h.HasRoute("POST /marketplace/settings/keys") {
		pub := "proof-" + strings.ToLower(ids.New())
		h.MustDo(Request{Method: "POST", Path: "/marketplace/settings/keys", Caller: o.Admin, IfMatch: h.ETag("/marketplace/settings", o.Admin), Body: JSONBody(map[string]string{
			"kid": pub, "algorithm": "EdDSA", "key": PublicJWK,
		})}, http.StatusCreated)
		o.add(PublicKeys, pub)
	}
	subject := "end-user-" + o.Label
	o.EndUser = EndUserCredential("org "+o.Label+" end-user", o.ID, subject, kid, secret, time.Now())
	if h.HasRoute("POST /marketplace/tenants") {
		resp = h.MustDo(Request{Method: "POST", Path: "/marketplace/tenants", Caller: o.EndUser, Body: JSONBody(map[string]string{"integration_id": integration})}, http.StatusCreated)
		var l struct {
			Tenant struct {
				ID string `json:"id"`
			} `json:"tenant"`
		}
		_ = json.Unmarshal(resp.Body, &l)
		o.add(Tenants, l.Tenant.ID)
	}
}

// EndUserCredential is a marketplace token for subject, signed with an
// organization's HS256 secret (its kid in the header), valid for 30
// minutes from now.
func EndUserCredential(name, org, subject, kid, secret string, now time.Time) Credential {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject:   subject,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(30 * time.Minute)),
	})
	tok.Header["kid"] = kid
	signed, err := tok.SignedString([]byte(secret))
	if err != nil {
		panic(err)
	}
	c := Bearer(name, principal.EndUser, org, subject, signed)
	// The marketplace page is framed as /marketplace?tenant=<token>.
	c.query = url.Values{"tenant": {signed}}
	return c
}

// accept accepts the newest invitation to email and returns the session
// as a credential.
func (h *Hub) accept(o *Org, name string, kind principal.Kind, email string) Credential {
	h.t.Helper()
	token := h.InvitationToken(o.ID, email)
	resp := h.MustDo(Request{Method: "POST", Path: "/auth/invitations/accept", Caller: Anonymous, Body: JSONBody(map[string]string{
		"token": token, "name": "Someone " + o.Label, "password": Password,
	})}, http.StatusOK)
	var sess struct {
		Token string `json:"token"`
		User  struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := jsonUnmarshal(resp.Body, &sess); err != nil || sess.Token == "" {
		h.t.Fatalf("accept invitation of %s: %s", email, resp.Body)
	}
	return Bearer(name, kind, o.ID, sess.User.ID, sess.Token)
}

// InvitationToken is the token of the newest invitation to email, read
// from the organization's outbox event (its link is sealed there).
func (h *Hub) InvitationToken(org, email string) string {
	h.t.Helper()
	return TokenFromOutbox(h.t, h.Deps, org, email, outbox.Invitation)
}

// TokenFromOutbox is the one-time token in the newest event of kind sent
// to email, opened with the outbox's key.
func TokenFromOutbox(t interface {
	Helper()
	Fatalf(string, ...any)
}, d *app.Deps, org, email string, kind outbox.Kind) string {
	t.Helper()
	page, err := d.Table.Query(context.Background(), storage.Query{PK: keys.OrgPK(org), Sort: storage.SortPrefix, From: "EVENT#", Descending: true, Limit: storage.MaxPageSize})
	if err != nil {
		t.Fatalf("read the outbox of %s: %v", org, err)
	}
	box := d.Keys.Box(app.OutboxPurpose)
	for _, it := range page.Items {
		ev, err := outbox.FromItem(it)
		if err != nil {
			t.Fatalf("read event %s: %v", it.Key, err)
		}
		if ev.Kind != kind || len(ev.To) != 1 || ev.To[0] != email {
			continue
		}
		link, err := box.Open(ev.Sealed["link"], ev.SealedContext())
		if err != nil {
			t.Fatalf("open the link of event %s: %v", ev.ID, err)
		}
		u, err := url.Parse(string(link))
		if err != nil {
			t.Fatalf("link %q: %v", link, err)
		}
		v, err := url.ParseQuery(u.Fragment)
		if err != nil {
			t.Fatalf("link %q: %v", link, err)
		}
		return v.Get("token")
	}
	t.Fatalf("no %s event to %s in the outbox of %s", kind, email, org)
	return ""
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", b, err)
	}
	return nil
}

// AdminEmail is the primary administrator's address.
func (o *Org) AdminEmail() string { return "admin@" + o.Domain() }

// Domain is the org's email domain.
func (o *Org) Domain() string { return o.Label + ".test" }
