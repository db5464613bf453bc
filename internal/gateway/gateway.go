// Package gateway does locally what API Gateway's HTTP API does in AWS: it
// matches a request to a route, calls the Lambda authorizer with the payload
// 2.0 authorizer event (simple responses) for protected routes, and calls the
// route's function with the payload 2.0 request event, passing the
// authorizer's context through. The local stack and the end-to-end tests run
// the deployed code path this way, not a second router.
package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/ids"
)

// Handler is an HTTP function's Lambda handler.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Authorizer is the Lambda authorizer's handler.
type Authorizer func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)

// Route binds a route key to a function.
type Route struct {
	Method, Path string
	Function     string
	Public       bool
	// Authorizer names the route's authorizer in Config.Authorizers; ""
	// is the default one, whose identity is Config.IdentityHeaders.
	Authorizer string
}

// Gateway serves HTTP like the HTTP API would.
type Gateway struct {
	mux        *http.ServeMux
	authorizer Authorizer
	log        *slog.Logger
	apiID      string
}

// Config of a gateway.
type Config struct {
	Routes     []Route
	Functions  map[string]Handler
	Authorizer Authorizer
	// IdentityHeaders of the default authorizer (template: the
	// DefaultAuthorizer's Identity.Headers).
	IdentityHeaders []string
	// Authorizers are the identity sources of the named authorizers, all of
	// them served by Authorizer (template: Auth.Authorizers.<name>.Identity).
	Authorizers map[string]Identity
	Log         *slog.Logger
}

// Identity is an authorizer's identity source: the headers and query string
// parameters that must all be present and not empty, or API Gateway answers
// 401 without calling the authorizer. An authorizer without any is always
// called.
type Identity struct {
	Headers      []string
	QueryStrings []string
}

// New builds a gateway. Every route's function must be in cfg.Functions.
func New(cfg Config) (*Gateway, error) {
	g := &Gateway{mux: http.NewServeMux(), authorizer: cfg.Authorizer, log: cfg.Log, apiID: "local"}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		gatewayMessage(w, http.StatusNotFound, "Not Found")
	})
	for _, rt := range cfg.Routes {
		fn, ok := cfg.Functions[rt.Function]
		if !ok {
			return nil, fmt.Errorf("gateway: route %s %s names function %q, which is not loaded", rt.Method, rt.Path, rt.Function)
		}
		if !rt.Public && cfg.Authorizer == nil {
			return nil, fmt.Errorf("gateway: route %s %s needs the authorizer, which is not loaded", rt.Method, rt.Path)
		}
		identity := Identity{Headers: cfg.IdentityHeaders}
		if rt.Authorizer != "" {
			var ok bool
			if identity, ok = cfg.Authorizers[rt.Authorizer]; !ok {
				return nil, fmt.Errorf("gateway: route %s %s names authorizer %q, which is not configured", rt.Method, rt.Path, rt.Authorizer)
			}
		}
		g.mux.Handle(rt.Method+" "+rt.Path, g.route(rt, fn, identity))
	}
	return g, nil
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

// MaxPayload is API Gateway's request payload limit.
const MaxPayload = 10 << 20

// route serves one route; identity is its authorizer's identity source.
func (g *Gateway) route(rt Route, fn Handler, identity Identity) http.Handler {
	routeKey := rt.Method + " " + rt.Path
	params := pathParams(rt.Path)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
		if err != nil || len(body) > MaxPayload {
			gatewayMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		values := map[string]string{}
		for _, p := range params {
			values[p] = r.PathValue(p)
		}
		ev := Event(r, body, routeKey, values)
		ctx := r.Context()
		if !rt.Public {
			authCtx, status := g.authorize(ctx, r, ev, identity)
			if status != 0 {
				gatewayMessage(w, status, http.StatusText(status))
				return
			}
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: authCtx}
		}
		start := time.Now()
		resp, err := fn(ctx, ev)
		if err != nil {
			g.log.ErrorContext(ctx, "function failed", slog.String("route", routeKey), slog.String("error", err.Error()))
			gatewayMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		g.log.InfoContext(ctx, "request", slog.String("route", routeKey), slog.String("path", r.URL.Path), slog.Int("status", resp.StatusCode), slog.Duration("took", time.Since(start)))
		WriteResponse(w, resp)
	})
}

func (g *Gateway) authorize(ctx context.Context, r *http.Request, ev events.APIGatewayV2HTTPRequest, source Identity) (map[string]any, int) {
	var identity []string
	for _, h := range source.Headers {
		v := r.Header.Get(h)
		if v == "" {
			return nil, http.StatusUnauthorized
		}
		identity = append(identity, v)
	}
	for _, q := range source.QueryStrings {
		v := r.URL.Query().Get(q)
		if v == "" {
			return nil, http.StatusUnauthorized
		}
		identity = append(identity, v)
	}
	req := events.APIGatewayV2CustomAuthorizerV2Request{
		Version:               "2.0",
		Type:                  "REQUEST",
		RouteArn:              "arn:aws:execute-api:us-east-1:000000000000:" + g.apiID + "/$default/" + ev.RequestContext.HTTP.Method + ev.RawPath,
		IdentitySource:        identity,
		RouteKey:              ev.RouteKey,
		RawPath:               ev.RawPath,
		RawQueryString:        ev.RawQueryString,
		Cookies:               ev.Cookies,
		Headers:               ev.Headers,
		QueryStringParameters: ev.QueryStringParameters,
		PathParameters:        ev.PathParameters,
		StageVariables:        ev.StageVariables,
		RequestContext:        ev.RequestContext,
	}
	resp, err := g.authorizer(ctx, req)
	if err != nil {
		// API Gateway answers 500 when the authorizer itself fails.
		g.log.ErrorContext(ctx, "authorizer failed", slog.String("error", err.Error()))
		return nil, http.StatusInternalServerError
	}
	if !resp.IsAuthorized {
		return nil, http.StatusForbidden
	}
	// The context crosses API Gateway as JSON: numbers arrive as float64.
	b, err := json.Marshal(resp.Context)
	if err != nil {
		return nil, http.StatusInternalServerError
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out, 0
}

// Event is the payload 2.0 request API Gateway sends for r on routeKey.
func Event(r *http.Request, body []byte, routeKey string, params map[string]string) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	for name, vals := range r.Header {
		lname := strings.ToLower(name)
		if lname == "cookie" {
			for _, v := range vals {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lname] = strings.Join(vals, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, v := range q {
			query[k] = strings.Join(v, ",")
		}
	}
	if len(params) == 0 {
		params = nil
	}
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	now := time.Now()
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    ids.New(),
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: strings.Split(r.Host, ".")[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if textual(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// textual reports whether API Gateway would pass a body of this type as
// text rather than base64.
func textual(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/x-www-form-urlencoded" || mt == "application/xml" || mt == "image/svg+xml"
}

// WriteResponse writes a function's payload 2.0 response to w.
func WriteResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			gatewayMessage(w, http.StatusBadGateway, "Bad Gateway")
			return
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// gatewayMessage is how API Gateway itself answers (not a function).
func gatewayMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// pathParams are the {names} of a route path.
func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"))
		}
	}
	sort.Strings(out)
	return out
}
