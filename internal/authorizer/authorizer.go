// Package authorizer is the HTTP API's Lambda authorizer (payload 2.0,
// simple responses). It resolves a credential to a principal and returns it
// as the response context, which API Gateway hands to the functions. It
// reads at most one item per decision.
package authorizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/sessions"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
)

// Getter reads one item.
type Getter interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
}

// CredentialResolver resolves one kind of credential (API keys,
// marketplace tokens) that its own package verifies. A credential that is
// not valid returns an error wrapping ErrDenied; any other error is a
// failure to decide (API Gateway answers 500 and caches nothing).
type CredentialResolver interface {
	Resolve(ctx context.Context, credential string, req events.APIGatewayV2CustomAuthorizerV2Request) (principal.Principal, error)
}

// Authorizer decides requests.
type Authorizer struct {
	Table    Getter
	Sessions *sessions.Signer
	// APIKeys resolves API keys (X-API-KEY, or a Bearer credential with the
	// API key prefix); nil refuses them.
	APIKeys CredentialResolver
	// APIKeyPrefix tells an API key apart from a JWT in a Bearer header.
	APIKeyPrefix string
	// Marketplace resolves marketplace end-user tokens (a Bearer JWT that
	// is not a hub session); nil refuses them.
	Marketplace CredentialResolver
	// MarketplacePage is the one route whose marketplace token comes in a
	// query parameter (the page's first load); the zero value has none.
	MarketplacePage QueryCredential
	Log             *slog.Logger

	// users keeps the decoded user items of recent sessions; each decision
	// still reads the user's item and checks its token version.
	users ItemCache[sessionUser]
	// contexts keeps the response contexts of recent principals.
	contexts contextCache
}

// sessionUser is what a session decision needs of a user's item: never its
// password hash, which ItemCache would otherwise keep.
type sessionUser struct {
	id, org, partner string
	role             users.Role
	status           users.Status
	tokenVersion     int64
	partnerPending   bool
}

func decodeSessionUser(it storage.Item) (sessionUser, error) {
	u, err := users.FromItem(it)
	if err != nil {
		return sessionUser{}, err
	}
	return sessionUser{id: u.ID, org: u.Org, partner: u.Partner, role: u.Role, status: u.Status, tokenVersion: u.TokenVersion, partnerPending: u.PartnerPending}, nil
}

// QueryCredential names a route and the query parameter that carries its
// credential.
type QueryCredential struct {
	Route     string // API Gateway route key, "GET /marketplace"
	Parameter string
}

// ErrDenied: the credential is not valid. The reason is only logged; the
// request is admitted carrying its principal.Refusal and nothing else, and
// the function answers 401 before any handler runs. (A simple response's
// deny is always a 403 from API Gateway, and an HTTP API has no gateway
// responses to change that.)
var ErrDenied = errors.New("denied")

// ErrExpired: a genuine credential (its signature or secret checked) past
// its expiry, which the caller is told. It matches ErrDenied.
var ErrExpired = fmt.Errorf("%w: expired", ErrDenied)

var (
	errDenied  = ErrDenied
	errMissing = fmt.Errorf("%w: no credential", ErrDenied)
	errEnded   = fmt.Errorf("%w: session ended", ErrDenied)
)

// refusals are the response contexts of refused requests, built once.
var refusals = map[principal.Refusal]map[string]any{
	principal.RefusedMissing: principal.RefusedMissing.Context(),
	principal.RefusedInvalid: principal.RefusedInvalid.Context(),
	principal.RefusedExpired: principal.RefusedExpired.Context(),
	principal.RefusedEnded:   principal.RefusedEnded.Context(),
}

// refusal is what the caller is told of a denial.
func refusal(err error) principal.Refusal {
	switch {
	case errors.Is(err, errMissing):
		return principal.RefusedMissing
	case errors.Is(err, ErrExpired):
		return principal.RefusedExpired
	case errors.Is(err, errEnded):
		return principal.RefusedEnded
	}
	return principal.RefusedInvalid
}

// Handle is the Lambda handler. A refusal is an admitting response that
// carries only the refusal (see ErrDenied); an error (the table
// unreachable) makes API Gateway answer 500 and is not cached.
func (a *Authorizer) Handle(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	p, err := a.resolve(ctx, req)
	if errors.Is(err, errDenied) {
		r := refusal(err)
		a.Log.InfoContext(ctx, "denied", slog.String("route", req.RouteKey), slog.String("refusal", string(r)), slog.String("reason", err.Error()))
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: refusals[r]}, nil
	}
	if err != nil {
		a.Log.ErrorContext(ctx, "authorizer failed", slog.String("route", req.RouteKey), slog.String("error", err.Error()))
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: a.contexts.context(p)}, nil
}

// header reads a header by its lower-case name, as API Gateway (payload
// 2.0) delivers names, or in any other case.
func header(req events.APIGatewayV2CustomAuthorizerV2Request, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// resolve picks the credential: the Bearer credential of the Authorization
// header, which is an API key (by its prefix), a hub session (by its
// issuer) or a marketplace token; without an Authorization header, an
// X-API-KEY header. Authorization comes first because API Gateway caches a
// decision under the Authorization header: the decision must be about that
// header's credential, whatever else the request carries.
func (a *Authorizer) resolve(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (principal.Principal, error) {
	authorization := header(req, "authorization")
	if authorization == "" {
		if key := strings.TrimSpace(header(req, "x-api-key")); key != "" {
			return a.delegate(ctx, a.APIKeys, "API key", key, req)
		}
		// The marketplace page's first load carries its end-user token in
		// the query (an iframe's address is all the SaaS controls); only
		// on that route, and only a marketplace token.
		if a.MarketplacePage.Route != "" && req.RouteKey == a.MarketplacePage.Route {
			if token := strings.TrimSpace(req.QueryStringParameters[a.MarketplacePage.Parameter]); token != "" {
				return a.delegate(ctx, a.Marketplace, "marketplace token", token, req)
			}
		}
	}
	if strings.TrimSpace(authorization) == "" {
		return principal.Principal{}, errMissing
	}
	scheme, token, ok := strings.Cut(authorization, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return principal.Principal{}, fmt.Errorf("%w: no bearer credential", errDenied)
	}
	if a.APIKeyPrefix != "" && strings.HasPrefix(token, a.APIKeyPrefix) {
		return a.delegate(ctx, a.APIKeys, "API key", token, req)
	}
	// The session verifier tells a token that is not a session (by its
	// issuer, sessions.LooksLikeSession) from its own parse, so a session
	// is parsed once.
	p, err := a.session(ctx, token)
	if errors.Is(err, sessions.ErrNotSession) {
		return a.delegate(ctx, a.Marketplace, "marketplace token", token, req)
	}
	return p, err
}

func (a *Authorizer) delegate(ctx context.Context, r CredentialResolver, kind, credential string, req events.APIGatewayV2CustomAuthorizerV2Request) (principal.Principal, error) {
	if r == nil {
		return principal.Principal{}, fmt.Errorf("%w: %s credentials are not accepted", errDenied, kind)
	}
	return r.Resolve(ctx, credential, req)
}

// session resolves a hub session: the token must verify and the user must
// still exist, be active and be at the token's version (a deleted user, a
// reset password or a sign-out ends it). A token that is not a session is
// sessions.ErrNotSession, for the caller to route elsewhere.
func (a *Authorizer) session(ctx context.Context, token string) (principal.Principal, error) {
	c, err := a.Sessions.Verify(token)
	if errors.Is(err, sessions.ErrNotSession) {
		return principal.Principal{}, err
	}
	if errors.Is(err, sessions.ErrExpired) {
		return principal.Principal{}, fmt.Errorf("%w: %v", ErrExpired, err)
	}
	if err != nil {
		return principal.Principal{}, fmt.Errorf("%w: %v", errDenied, err)
	}
	it, err := a.Table.Get(ctx, keys.User(c.Org, c.Subject))
	if errors.Is(err, storage.ErrNotFound) {
		return principal.Principal{}, fmt.Errorf("%w: user gone", errEnded)
	}
	if err != nil {
		return principal.Principal{}, fmt.Errorf("authorizer: read user: %w", err)
	}
	u, err := a.users.Decode(it, decodeSessionUser)
	if err != nil {
		return principal.Principal{}, err
	}
	if u.status != users.Active || u.tokenVersion != c.TokenVersion {
		return principal.Principal{}, errEnded
	}
	p := principal.Principal{Kind: principal.HubUser, Org: u.org, Subject: u.id, Plan: principal.Plan(c.Plan)}
	if u.role == users.RolePartnerUser {
		p.Kind, p.Partner, p.PartnerPending = principal.PartnerUser, u.partner, u.partnerPending
	}
	return p, nil
}
