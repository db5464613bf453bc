// Package app wires the hub: it builds the dependencies once per process
// (at Lambda init, or when the local stack starts) and constructs each
// function's handler from them. functions/<name>/main.go and the local stack
// both go through here, so they run the same code.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/authorizer"
	"github.com/integration-hub/hub/internal/company"
	"github.com/integration-hub/hub/internal/forms"
	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/marketplace"
	"github.com/integration-hub/hub/internal/notifications"
	"github.com/integration-hub/hub/internal/notifier"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/partnerform"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sessions"
	"github.com/integration-hub/hub/internal/sourcecontrol"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
	"github.com/integration-hub/hub/internal/web"
)

// Deps are what the functions share.
type Deps struct {
	Table  storage.Table
	Schema storage.Schema
	Keys   *secrets.Keyring
	Links  users.Links
	// LogOutput receives every function's JSON log lines.
	LogOutput io.Writer
	Now       func() time.Time
	// Hashing overrides the password cost (tests); zero means the default.
	Hashing passwords.Params
	// Sender delivers the notifier's email (SES in AWS).
	Sender notifier.Sender

	// SourceControl configures the Source Control area's OAuth providers
	// (sourcecontrol.FromEnv); the zero value configures none.
	SourceControl sourcecontrol.Config
}

// Logger is a function's logger.
func (d *Deps) Logger(function string) *slog.Logger {
	out := d.LogOutput
	if out == nil {
		out = os.Stderr
	}
	return web.NewLogger(out, function)
}

func (d *Deps) now() func() time.Time {
	if d.Now != nil {
		return d.Now
	}
	return time.Now
}

// Sessions is the hub session signer.
func (d *Deps) Sessions() *sessions.Signer {
	s, err := sessions.NewSigner(d.Keys.Derive(sessions.KeyPurpose), sessions.DefaultTTL)
	if err != nil {
		panic(err) // a derived key is always 32 bytes
	}
	return s
}

// Users is the users service.
func (d *Deps) Users() *users.Service {
	h := d.Hashing
	if h == (passwords.Params{}) {
		h = passwords.Default
	}
	return &users.Service{
		Table: d.Table, Box: d.Keys.Box(OutboxPurpose), Links: d.Links,
		Sessions: d.Sessions(), Hashing: h, Now: d.now(),
	}
}

// OutboxPurpose seals the secret fields of outbox events.
const OutboxPurpose = "outbox"

// Routes registers an HTTP function's routes on its router.
type Routes func(d *Deps, rt *web.Router)

// The routes of each HTTP function. Each is a function of its own, named
// by its main, so that a function's binary links only its own area.
func AuthRoutes(d *Deps, rt *web.Router)  { users.AuthRoutes(rt, d.Users()) }
func UsersRoutes(d *Deps, rt *web.Router) { users.UsersRoutes(rt, d.Users()) }
func CompanyRoutes(d *Deps, rt *web.Router) {
	company.Routes(rt, &company.Service{Table: d.Table, Admins: d.Users(), Now: d.now()})
}
func NotificationsRoutes(d *Deps, rt *web.Router) {
	notifications.Routes(rt, &notifications.Service{Table: d.Table, Now: d.now()})
}
func IntegrationFormRoutes(d *Deps, rt *web.Router) {
	forms.IntegrationRoutes(rt, &forms.IntegrationService{Table: d.Table, Now: d.now()})
}
func PartnerFormRoutes(d *Deps, rt *web.Router) {
	partnerform.Routes(rt, &partnerform.Service{Table: d.Table, Links: d.Links, Box: d.Keys.Box(OutboxPurpose), Now: d.now()})
}
func SourceControlRoutes(d *Deps, rt *web.Router) {
	sourcecontrol.Routes(rt, sourcecontrol.New(d.Table, d.Keys, d.Links.Base, d.SourceControl, d.now()))
}
func APIAccessRoutes(d *Deps, rt *web.Router) {
	apikeys.Routes(rt, &apikeys.Service{Table: d.Table, Now: d.now()})
}
func IntegrationsRoutes(d *Deps, rt *web.Router) {
	integrations.Routes(rt, &integrations.Service{Table: d.Table, Now: d.now(), KeyUsage: &apikeys.Service{Table: d.Table, Now: d.now()}})
}
func MarketplaceRoutes(d *Deps, rt *web.Router) {
	marketplace.Routes(rt, marketplace.New(d.Table, d.Keys, d.now()))
}

// httpFunctions maps each HTTP function to its routes, for the local stack
// and the tests. It is built when called, not at init, so a Lambda main
// that uses Lambda(name, routes) does not link it (nor every area). Adding
// a function here, a functions/<name> main and its routes in template.yaml
// is all it takes; a test checks the three agree.
func httpFunctions() map[string]Routes {
	return map[string]Routes{
		"auth":             AuthRoutes,
		"users":            UsersRoutes,
		"company":          CompanyRoutes,
		"notifications":    NotificationsRoutes,
		"integration-form": IntegrationFormRoutes,
		"partner-form":     PartnerFormRoutes,
		"source-control":   SourceControlRoutes,
		"api-access":       APIAccessRoutes,
		"integrations":     IntegrationsRoutes,
		"marketplace":      MarketplaceRoutes,
	}
}

// HTTPFunctionNames are the HTTP functions, sorted.
func HTTPFunctionNames() []string {
	return slices.Sorted(maps.Keys(httpFunctions()))
}

// Router builds an HTTP function's router.
func (d *Deps) Router(function string) (*web.Router, error) {
	routes, ok := httpFunctions()[function]
	if !ok {
		return nil, fmt.Errorf("app: no HTTP function %q", function)
	}
	return d.router(function, routes), nil
}

func (d *Deps) router(function string, routes Routes) *web.Router {
	rt := web.NewRouter(d.Logger(function))
	routes(d, rt)
	return rt
}

// Lambda is the Lambda handler of one HTTP function: its routes behind the
// API Gateway V2 adapter. Mains use it with their own Routes.
func (d *Deps) Lambda(function string, routes Routes) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpadapter.NewV2(d.router(function, routes)).ProxyWithContext
}

// HTTPHandler is an HTTP function's Lambda handler: its router behind the
// API Gateway V2 adapter (ProxyWithContext, which takes the request context
// from the event, never from a client header).
func (d *Deps) HTTPHandler(function string) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	rt, err := d.Router(function)
	if err != nil {
		return nil, err
	}
	return httpadapter.NewV2(rt).ProxyWithContext, nil
}

// Authorizer is the Lambda authorizer.
func (d *Deps) Authorizer() *authorizer.Authorizer {
	return &authorizer.Authorizer{
		Table: d.Table, Sessions: d.Sessions(), Log: d.Logger("authorizer"),
		APIKeys: &apikeys.Resolver{Table: d.Table, Now: d.now()}, APIKeyPrefix: apikeys.Prefix,
		Marketplace:     marketplace.NewResolver(d.Table, d.Keys, d.now()),
		MarketplacePage: authorizer.QueryCredential{Route: marketplace.PageRouteKey, Parameter: marketplace.PageTokenParameter},
	}
}

// Operator handles operator actions.
func (d *Deps) Operator() *operator.Operator {
	return &operator.Operator{Table: d.Table, Links: d.Links, Box: d.Keys.Box(OutboxPurpose), Log: d.Logger("operator"), Now: d.now()}
}

// NotifierLease is how long a claimed delivery is held: longer than the
// notifier's 60 s timeout, so a live invocation's claim is never taken over,
// and short enough that the stream's retries outlast a crashed one's.
const NotifierLease = 90 * time.Second

// Notifier sends the outbox's email through d.Sender.
func (d *Deps) Notifier() *notifier.Notifier {
	return notifier.New(d.Table, d.Sender, d.Keys.Box(OutboxPurpose), d.Schema,
		notifier.WithLogger(d.Logger("notifier")),
		notifier.WithLease(NotifierLease),
		notifier.WithRecipients(notifications.Resolver{Table: d.Table}),
		notifier.WithFields(users.EventNames{Table: d.Table}))
}

var _ notifier.Fields = users.EventNames{}
