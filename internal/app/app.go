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
	"os"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/authorizer"
	"github.com/integration-hub/hub/internal/company"
	"github.com/integration-hub/hub/internal/email"
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

// HTTPFunctions maps each HTTP function to the routes it serves. Adding a
// function here, a functions/<name> main and its routes in template.yaml is
// all it takes; a test checks the three agree.
var HTTPFunctions = map[string]func(d *Deps, rt *web.Router){
	"auth":  func(d *Deps, rt *web.Router) { users.AuthRoutes(rt, d.Users()) },
	"users": func(d *Deps, rt *web.Router) { users.UsersRoutes(rt, d.Users()) },
	"company": func(d *Deps, rt *web.Router) {
		company.Routes(rt, &company.Service{Table: d.Table, Admins: d.Users(), Now: d.now()})
	},
	"notifications": func(d *Deps, rt *web.Router) {
		notifications.Routes(rt, &notifications.Service{Table: d.Table, Now: d.now()})
	},
	"integration-form": func(d *Deps, rt *web.Router) {
		forms.IntegrationRoutes(rt, &forms.IntegrationService{Table: d.Table, Now: d.now()})
	},
	"partner-form": func(d *Deps, rt *web.Router) {
		partnerform.Routes(rt, &partnerform.Service{Table: d.Table, Links: d.Links, Box: d.Keys.Box(OutboxPurpose), Now: d.now()})
	},
	"source-control": func(d *Deps, rt *web.Router) {
		sourcecontrol.Routes(rt, sourcecontrol.New(d.Table, d.Keys, d.Links.Base, d.SourceControl, d.now()))
	},
	"api-access": func(d *Deps, rt *web.Router) {
		apikeys.Routes(rt, &apikeys.Service{Table: d.Table, Now: d.now()})
	},
	"integrations": func(d *Deps, rt *web.Router) {
		integrations.Routes(rt, &integrations.Service{Table: d.Table, Now: d.now(), KeyUsage: &apikeys.Service{Table: d.Table, Now: d.now()}})
	},
	"marketplace": func(d *Deps, rt *web.Router) {
		marketplace.Routes(rt, marketplace.New(d.Table, d.Keys, d.now()))
	},
}

// HTTPFunctionNames are the HTTP functions, sorted.
func HTTPFunctionNames() []string {
	names := make([]string, 0, len(HTTPFunctions))
	for n := range HTTPFunctions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Router builds an HTTP function's router.
func (d *Deps) Router(function string) (*web.Router, error) {
	build, ok := HTTPFunctions[function]
	if !ok {
		return nil, fmt.Errorf("app: no HTTP function %q", function)
	}
	rt := web.NewRouter(d.Logger(function))
	build(d, rt)
	return rt, nil
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
		notifier.WithRecipients(notifications.Resolver{Table: d.Table}))
}

var _ notifier.Sender = (*email.SES)(nil)
