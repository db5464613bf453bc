package authorizer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/authorizer"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/sessions"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/embedded"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/users"
)

func setup(t *testing.T) (*authorizer.Authorizer, *embedded.DB, *sessions.Signer) {
	db := testenv.EmbeddedTable(t)
	signer, err := sessions.NewSigner(bytes.Repeat([]byte{3}, 32), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &authorizer.Authorizer{Table: db, Sessions: signer, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, db, signer
}

func putUser(t *testing.T, db storage.Table, u users.User) {
	ops, err := u.PutOps(1, storage.Condition{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Write(context.Background(), ops...); err != nil {
		t.Fatal(err)
	}
}

func request(authorization string) events.APIGatewayV2CustomAuthorizerV2Request {
	return events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: "GET /users", Headers: map[string]string{"authorization": authorization}}
}

// decision reads a response as the function will: the principal it admits,
// or the refusal it carries instead (then the principal is the zero value).
// A response that denies would make API Gateway answer 403 itself, which
// the authorizer never asks for.
func decision(t *testing.T, resp events.APIGatewayV2CustomAuthorizerSimpleResponse) (principal.Principal, principal.Refusal) {
	t.Helper()
	if !resp.IsAuthorized {
		t.Fatalf("the authorizer denied (API Gateway's 403) instead of handing on a refusal: %+v", resp)
	}
	p, err := principal.FromContext(resp.Context)
	var refused *principal.RefusedError
	if errors.As(err, &refused) {
		if len(resp.Context) != 1 {
			t.Fatalf("a refusal carries more than itself: %v", resp.Context)
		}
		return principal.Principal{}, refused.Refusal
	}
	if err != nil {
		t.Fatal(err)
	}
	return p, ""
}

func TestAuthorizerResolvesOnlyLiveSessionsOfCurrentUsers(t *testing.T) {
	a, db, signer := setup(t)
	now := time.Now()
	putUser(t, db, users.User{ID: "u1", Org: "o1", Email: "a@o1.test", Role: users.RoleHubUser, Status: users.Active, TokenVersion: 2})
	putUser(t, db, users.User{ID: "u2", Org: "o1", Email: "b@o1.test", Role: users.RolePartnerUser, Partner: "p1", PartnerPending: true, Status: users.Active, TokenVersion: 1})
	putUser(t, db, users.User{ID: "u3", Org: "o1", Email: "c@o1.test", Role: users.RoleHubUser, Status: users.Invited})
	issue := func(org, user string, tv int64) string {
		tok, _, err := signer.Issue(org, "standard", user, tv, now)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	other, _ := sessions.NewSigner(bytes.Repeat([]byte{4}, 32), time.Hour)
	forged, _, _ := other.Issue("o1", "standard", "u1", 2, now)
	expired, _, _ := signer.Issue("o1", "standard", "u1", 2, now.Add(-2*time.Hour))
	cases := []struct {
		name    string
		header  string
		refusal principal.Refusal // "" = admitted as want
		want    principal.Principal
	}{
		{"hub user", "Bearer " + issue("o1", "u1", 2), "", principal.Principal{Kind: principal.HubUser, Org: "o1", Subject: "u1", Plan: "standard"}},
		{"scheme is case-insensitive", "bearer " + issue("o1", "u1", 2), "", principal.Principal{Kind: principal.HubUser, Org: "o1", Subject: "u1", Plan: "standard"}},
		{"pending partner user", "Bearer " + issue("o1", "u2", 1), "", principal.Principal{Kind: principal.PartnerUser, Org: "o1", Subject: "u2", Plan: "standard", Partner: "p1", PartnerPending: true}},
		{"older token version", "Bearer " + issue("o1", "u1", 1), principal.RefusedEnded, principal.Principal{}},
		{"invited user", "Bearer " + issue("o1", "u3", 0), principal.RefusedEnded, principal.Principal{}},
		{"deleted user", "Bearer " + issue("o1", "gone", 0), principal.RefusedEnded, principal.Principal{}},
		{"user of another organization", "Bearer " + issue("o2", "u1", 2), principal.RefusedEnded, principal.Principal{}},
		{"expired session", "Bearer " + expired, principal.RefusedExpired, principal.Principal{}},
		{"other signing key", "Bearer " + forged, principal.RefusedInvalid, principal.Principal{}},
		{"basic credentials", "Basic dTE6cHc=", principal.RefusedInvalid, principal.Principal{}},
		{"no credential", "", principal.RefusedMissing, principal.Principal{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := a.Handle(context.Background(), request(tc.header))
			if err != nil {
				t.Fatal(err)
			}
			got, refusal := decision(t, resp)
			if refusal != tc.refusal {
				t.Fatalf("refusal = %q, want %q", refusal, tc.refusal)
			}
			if got.Kind != tc.want.Kind || got.Org != tc.want.Org || got.Subject != tc.want.Subject || got.Partner != tc.want.Partner || got.PartnerPending != tc.want.PartnerPending || got.Plan != tc.want.Plan {
				t.Fatalf("principal = %+v, want %+v", got, tc.want)
			}
		})
	}
}

type failingTable struct{}

func (failingTable) Get(context.Context, storage.Key) (storage.Item, error) {
	return storage.Item{}, storage.ErrUnavailable
}

func TestAuthorizerReportsATableFailureInsteadOfDenying(t *testing.T) {
	a, _, signer := setup(t)
	a.Table = failingTable{}
	tok, _, _ := signer.Issue("o1", "standard", "u1", 0, time.Now())
	if _, err := a.Handle(context.Background(), request("Bearer "+tok)); err == nil {
		t.Fatal("a table failure was answered as a decision; API Gateway would cache it")
	}
}

// recordingResolver stands for a credential kind's own package.
type recordingResolver struct {
	kind principal.Kind
	got  string
}

func (r *recordingResolver) Resolve(_ context.Context, credential string, _ events.APIGatewayV2CustomAuthorizerV2Request) (principal.Principal, error) {
	r.got = credential
	return principal.Principal{Kind: r.kind, Org: "o1", Subject: "s"}, nil
}

func TestAuthorizerHandsEachCredentialKindToItsResolver(t *testing.T) {
	a, _, signer := setup(t)
	session, _, _ := signer.Issue("o1", "standard", "u1", 0, time.Now())
	marketplaceJWT := "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJodHRwczovL3NhYXMuZXhhbXBsZSIsInN1YiI6ImV1MSJ9.c2ln"
	cases := []struct {
		name    string
		headers map[string]string
		want    principal.Kind // "" = denied
		wired   bool
	}{
		{"X-API-KEY header", map[string]string{"x-api-key": "ihk_abc_secret"}, principal.APIKey, true},
		{"API key as a bearer credential", map[string]string{"authorization": "Bearer ihk_abc_secret"}, principal.APIKey, true},
		{"header names in another case", map[string]string{"Authorization": "Bearer ihk_abc_secret"}, principal.APIKey, true},
		{"X-Api-Key in another case", map[string]string{"X-Api-Key": "ihk_abc_secret"}, principal.APIKey, true},
		{"marketplace token", map[string]string{"authorization": "Bearer " + marketplaceJWT}, principal.EndUser, true},
		{"API key without a resolver", map[string]string{"x-api-key": "ihk_abc_secret"}, "", false},
		{"marketplace token without a resolver", map[string]string{"authorization": "Bearer " + marketplaceJWT}, "", false},
		{"a hub session never reaches the marketplace resolver", map[string]string{"authorization": "Bearer " + session}, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys, market := &recordingResolver{kind: principal.APIKey}, &recordingResolver{kind: principal.EndUser}
			a.APIKeys, a.Marketplace, a.APIKeyPrefix = nil, nil, "ihk_"
			if tc.wired {
				a.APIKeys, a.Marketplace = keys, market
			}
			resp, err := a.Handle(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{Headers: tc.headers})
			if err != nil {
				t.Fatal(err)
			}
			p, refusal := decision(t, resp)
			if tc.want == "" {
				if refusal == "" {
					t.Fatalf("admitted %+v, want a refusal", p)
				}
				if market.got != "" {
					t.Fatal("the marketplace resolver saw a hub session")
				}
				return
			}
			if p.Kind != tc.want {
				t.Fatalf("principal %+v (refusal %q); want kind %s", p, refusal, tc.want)
			}
		})
	}
}

func TestAuthorizationHeaderWinsOverXAPIKey(t *testing.T) {
	a, _, _ := setup(t)
	keys := &recordingResolver{kind: principal.APIKey}
	a.APIKeys, a.APIKeyPrefix = keys, "ihk_"
	resp, err := a.Handle(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{Headers: map[string]string{
		"authorization": "Bearer not-a-valid-session", "x-api-key": "ihk_abc_secret",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, refusal := decision(t, resp); refusal != principal.RefusedInvalid || keys.got != "" {
		t.Fatalf("the X-API-KEY header decided a request that carries Authorization (decision cached under it): %+v", resp)
	}
}

func TestOnlyTheMarketplacePageRouteTakesAMarketplaceTokenFromTheQuery(t *testing.T) {
	a, _, _ := setup(t)
	page := authorizer.QueryCredential{Route: "GET /marketplace", Parameter: "tenant"}
	cases := []struct {
		name       string
		route      string
		headers    map[string]string
		configured bool
		want       string // the credential the marketplace resolver saw; "" = refused as missing
	}{
		{"the page's first load", "GET /marketplace", nil, true, "query-token"},
		{"another route", "GET /v2/tenants", nil, true, ""},
		{"no page route configured", "GET /marketplace", nil, false, ""},
		{"an Authorization header wins", "GET /marketplace", map[string]string{"authorization": "Bearer header-token"}, true, "header-token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			market := &recordingResolver{kind: principal.EndUser}
			a.Marketplace, a.MarketplacePage = market, authorizer.QueryCredential{}
			if tc.configured {
				a.MarketplacePage = page
			}
			resp, err := a.Handle(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
				RouteKey: tc.route, Headers: tc.headers, QueryStringParameters: map[string]string{"tenant": "query-token"},
			})
			if err != nil {
				t.Fatal(err)
			}
			_, refusal := decision(t, resp)
			if market.got != tc.want || (refusal == principal.RefusedMissing) != (tc.want == "") {
				t.Fatalf("resolver saw %q, refusal %q; want %q", market.got, refusal, tc.want)
			}
		})
	}
}

// TestSessionDecisionsSeeEveryWriteToTheirUser decides sessions one after
// the other, changing the user's item in between: the authorizer keeps
// decoded users, and must still decide each time on the item as it is now,
// whether or not the writer raised the item's version.
func TestSessionDecisionsSeeEveryWriteToTheirUser(t *testing.T) {
	a, db, signer := setup(t)
	now := time.Now()
	base := users.User{ID: "u1", Org: "o1", Email: "a@o1.test", Role: users.RoleHubUser, Status: users.Active, TokenVersion: 2}
	// The same user id in another organization, at another token version.
	putUser(t, db, users.User{ID: "u1", Org: "o2", Email: "a@o2.test", Role: users.RoleHubUser, Status: users.Active, TokenVersion: 7})
	write := func(u users.User, version int64) func(*testing.T) {
		return func(t *testing.T) {
			ops, err := u.PutOps(version, storage.Condition{})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Write(context.Background(), ops...); err != nil {
				t.Fatal(err)
			}
		}
	}
	with := func(f func(*users.User)) users.User { u := base; f(&u); return u }
	session := func(org string, tv int64) string {
		tok, _, err := signer.Issue(org, "standard", "u1", tv, now)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	steps := []struct {
		name  string
		write func(*testing.T) // before the decision; nil writes nothing
		token string
		allow bool
	}{
		{"a live session", write(base, 1), session("o1", 2), true},
		{"the same session again", nil, session("o1", 2), true},
		{"the other organization's user of the same id, at its own version", nil, session("o2", 7), true},
		{"a session of o2 at o1's version", nil, session("o2", 2), false},
		{"after a sign-out, the older session", write(with(func(u *users.User) { u.TokenVersion = 3 }), 2), session("o1", 2), false},
		{"after a sign-out, the new session", nil, session("o1", 3), true},
		{"after a sign-out written without a new item version", write(with(func(u *users.User) { u.TokenVersion = 4 }), 2), session("o1", 3), false},
		{"deactivated", write(with(func(u *users.User) { u.TokenVersion = 4; u.Status = users.Invited }), 3), session("o1", 4), false},
		{"active again", write(with(func(u *users.User) { u.TokenVersion = 4 }), 4), session("o1", 4), true},
		{"deleted", func(t *testing.T) {
			if err := db.Write(context.Background(), storage.Delete(keys.User("o1", "u1"), storage.Condition{})); err != nil {
				t.Fatal(err)
			}
		}, session("o1", 4), false},
	}
	for _, s := range steps {
		if s.write != nil {
			s.write(t)
		}
		resp, err := a.Handle(context.Background(), request("Bearer "+s.token))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if _, refusal := decision(t, resp); (refusal == "") != s.allow {
			t.Fatalf("%s: refusal %q, want admitted %v", s.name, refusal, s.allow)
		}
	}
}
