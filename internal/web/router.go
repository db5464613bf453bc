package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sort"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/principal"
)

// HandlerFunc is a route's handler. It writes its success response itself
// and returns an error for everything else, which the router writes as a
// problem document.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Access says who may call a route. The authorizer already refused callers
// without a credential; this re-checks the kind of principal per route
// (defence in depth: one cached authorizer decision covers every route).
type Access struct {
	public    bool
	kinds     []principal.Kind
	pendingOK bool
}

// Public routes have no authorizer (sign-in, accept invitation, callbacks).
var Public = Access{public: true}

// Allow admits the given kinds of principal.
func Allow(kinds ...principal.Kind) Access { return Access{kinds: kinds} }

// EvenPending also admits partner users whose Partner Form is still due
// (only the routes that read and submit that form, and sign-out).
func (a Access) EvenPending() Access { a.pendingOK = true; return a }

// Route is one route a function serves, as template.yaml must declare it.
type Route struct {
	Method string
	Path   string // API Gateway syntax, the same as ServeMux's: /users/{id}
	Public bool
}

// Key is the API Gateway route key.
func (r Route) Key() string { return r.Method + " " + r.Path }

// Router is a ServeMux that records its routes.
type Router struct {
	mux    *http.ServeMux
	routes []Route
	log    *slog.Logger
}

// NewRouter makes a router whose logs go to log.
func NewRouter(log *slog.Logger) *Router {
	rt := &Router{mux: http.NewServeMux(), log: log}
	rt.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, apperr.New(apperr.NotFound, "no_route", "no such route"))
	})
	return rt
}

// Handle serves method and path with h, admitting access.
func (rt *Router) Handle(method, path string, access Access, h HandlerFunc) {
	rt.routes = append(rt.routes, Route{Method: method, Path: path, Public: access.public})
	rt.mux.Handle(method+" "+path, rt.wrap(method+" "+path, access, h))
}

// Routes are the routes registered so far, sorted by key.
func (rt *Router) Routes() []Route {
	out := slices.Clone(rt.routes)
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.mux.ServeHTTP(w, r) }

type ctxKey int

const (
	loggerKey ctxKey = iota
	callerKey
)

func (rt *Router) wrap(routeKey string, access Access, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := rt.log.With(slog.String("route", routeKey), slog.String("request_id", requestID(r)))
		ctx := context.WithValue(r.Context(), loggerKey, log)
		r = r.WithContext(ctx)
		tw := &trackingWriter{ResponseWriter: w}
		if err := admit(r, access); err != nil {
			WriteError(tw, r, err)
			return
		}
		if !access.public {
			p, _ := callerFromGateway(r)
			r = r.WithContext(context.WithValue(r.Context(), callerKey, p))
		}
		if err := h(tw, r); err != nil {
			if tw.status != 0 {
				log.ErrorContext(ctx, "handler failed after writing its response", slog.String("error", err.Error()))
				return
			}
			WriteError(tw, r, err)
			return
		}
		if tw.status == 0 {
			// Through the Lambda proxy a silent handler turns into a 504.
			WriteError(tw, r, apperr.New(apperr.Internal, "no_response", ""))
		}
	})
}

func admit(r *http.Request, access Access) error {
	if access.public {
		return nil
	}
	p, err := callerFromGateway(r)
	var refused *principal.RefusedError
	if errors.As(err, &refused) {
		if e, ok := refusedCredential[refused.Refusal]; ok {
			return e
		}
		return refusedCredential[principal.RefusedInvalid]
	}
	if err != nil {
		return apperr.Wrap(apperr.Unauthenticated, "unauthenticated", err)
	}
	if !slices.Contains(access.kinds, p.Kind) {
		return apperr.New(apperr.Forbidden, "forbidden_principal", "this route is not open to "+string(p.Kind)+" credentials")
	}
	if p.Kind == principal.PartnerUser && p.PartnerPending && !access.pendingOK {
		return apperr.New(apperr.Forbidden, "partner_form_pending", "submit the Partner Form before anything else")
	}
	return nil
}

// refusedCredential answers each refusal the authorizer hands on; what
// was wrong in detail is in the authorizer's log, never in the answer.
var refusedCredential = map[principal.Refusal]*apperr.Error{
	principal.RefusedMissing: {Kind: apperr.Unauthenticated, Code: "missing_credential", Detail: "this route needs a credential: a session or API key in Authorization: Bearer, or an API key in X-API-KEY"},
	principal.RefusedInvalid: {Kind: apperr.Unauthenticated, Code: "invalid_credential", Detail: "the credential is not valid: malformed, unknown, revoked, or not signed or issued as this hub requires"},
	principal.RefusedExpired: {Kind: apperr.Unauthenticated, Code: "credential_expired", Detail: "the credential has expired"},
	principal.RefusedEnded:   {Kind: apperr.Unauthenticated, Code: "session_ended", Detail: "the session has ended; sign in again"},
}

// callerFromGateway reads the principal the authorizer put in the API
// Gateway request context; nothing else about the caller is trusted.
func callerFromGateway(r *http.Request) (principal.Principal, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil {
		return principal.Principal{}, principal.ErrMissing
	}
	return principal.FromContext(rc.Authorizer.Lambda)
}

// Caller is the principal of a request on a non-public route.
func Caller(r *http.Request) principal.Principal {
	p, _ := r.Context().Value(callerKey).(principal.Principal)
	return p
}

// Logger is the request's logger (with its route and request id).
func Logger(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// RequestID is API Gateway's id of the request.
func RequestID(r *http.Request) string { return requestID(r) }

func requestID(r *http.Request) string {
	if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
		return rc.RequestID
	}
	return ""
}

type trackingWriter struct {
	http.ResponseWriter
	status int
}

func (t *trackingWriter) WriteHeader(code int) {
	if t.status == 0 {
		t.status = code
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	return t.ResponseWriter.Write(b)
}
