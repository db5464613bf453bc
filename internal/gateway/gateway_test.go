package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/gateway"
)

// recorder is a function that answers with what it received.
func recorder(got *events.APIGatewayV2HTTPRequest) gateway.Handler {
	return func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		*got = ev
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: base64.StdEncoding.EncodeToString([]byte("ok")), IsBase64Encoded: true, Cookies: []string{"a=1"}}, nil
	}
}

func TestGatewayRoutesAuthorizesAndBuildsPayloadV2Events(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	var authorizerCalls int
	authz := func(_ context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		authorizerCalls++
		switch req.Headers["authorization"] {
		case "Bearer good":
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"org": "o1", "n": 3}}, nil
		case "Bearer broken":
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, errors.New("table down")
		}
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
	}
	g, err := gateway.New(gateway.Config{
		Routes: []gateway.Route{
			{Method: "GET", Path: "/things/{id}", Function: "things"},
			{Method: "GET", Path: "/things/special", Function: "things"},
			{Method: "POST", Path: "/login", Function: "things", Public: true},
		},
		Functions:       map[string]gateway.Handler{"things": recorder(&got)},
		Authorizer:      authz,
		IdentityHeaders: []string{"Authorization"},
		Log:             slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	call := func(method, path, auth, contentType, body string) (*http.Response, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}

	cases := []struct {
		name, method, path, auth string
		status                   int
		authorizerCalled         bool
	}{
		{"no route", "GET", "/nope", "Bearer good", 404, false},
		{"no identity source", "GET", "/things/1", "", 401, false},
		{"denied", "GET", "/things/1", "Bearer bad", 403, true},
		{"authorizer failure", "GET", "/things/1", "Bearer broken", 500, true},
		{"allowed", "GET", "/things/1?x=1&x=2", "Bearer good", 200, true},
		{"public route skips the authorizer", "POST", "/login", "", 200, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			authorizerCalls = 0
			resp, _ := call(tc.method, tc.path, tc.auth, "", "")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if (authorizerCalls > 0) != tc.authorizerCalled {
				t.Fatalf("authorizer called %d times", authorizerCalls)
			}
		})
	}

	resp, body := call("GET", "/things/42?x=1&x=2", "Bearer good", "", "")
	if body != "ok" || resp.Header.Get("Set-Cookie") != "a=1" {
		t.Fatalf("response not decoded from base64 with its cookies: %q %v", body, resp.Header)
	}
	if got.RouteKey != "GET /things/{id}" || got.PathParameters["id"] != "42" || got.QueryStringParameters["x"] != "1,2" || got.RawQueryString != "x=1&x=2" {
		t.Fatalf("event = %+v", got)
	}
	if got.Version != "2.0" || got.RequestContext.Stage != "$default" || got.RequestContext.RequestID == "" || got.Headers["authorization"] != "Bearer good" {
		t.Fatalf("request context = %+v", got.RequestContext)
	}
	ctx, _ := json.Marshal(got.RequestContext.Authorizer.Lambda)
	if string(ctx) != `{"n":3,"org":"o1"}` {
		t.Fatalf("authorizer context = %s; it must cross as JSON", ctx)
	}
	call("GET", "/things/special", "Bearer good", "", "")
	if got.RouteKey != "GET /things/special" {
		t.Fatalf("the literal route lost to the parameter route: %s", got.RouteKey)
	}
	call("POST", "/login", "", "application/octet-stream", "\x00\x01")
	if !got.IsBase64Encoded || got.Body != base64.StdEncoding.EncodeToString([]byte("\x00\x01")) {
		t.Fatalf("a binary body was not base64-encoded: %+v", got)
	}
	call("POST", "/login", "", "application/json", `{"a":1}`)
	if got.IsBase64Encoded || got.Body != `{"a":1}` {
		t.Fatalf("a JSON body was not passed as text: %+v", got)
	}
}

func TestGatewayRefusesARouteWithoutItsFunction(t *testing.T) {
	_, err := gateway.New(gateway.Config{Routes: []gateway.Route{{Method: "GET", Path: "/x", Function: "missing", Public: true}}})
	if err == nil {
		t.Fatal("a route naming a missing function was accepted")
	}
}

// Each route checks its own authorizer's identity source: the default one
// needs Authorization, the public API's has none and is always called (an
// API key may come in X-API-KEY), the marketplace page's is a query string.
func TestGatewayChecksTheIdentitySourceOfEachRoutesAuthorizer(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	var calls int
	var identitySource []string
	authz := func(_ context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		calls++
		identitySource = req.IdentitySource
		if req.Headers["x-api-key"] == "good" || req.Headers["authorization"] == "Bearer good" || req.QueryStringParameters["tenant"] == "good" {
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"org": "o1"}}, nil
		}
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
	}
	g, err := gateway.New(gateway.Config{
		Routes: []gateway.Route{
			{Method: "GET", Path: "/hub", Function: "f"},
			{Method: "GET", Path: "/v2/things", Function: "f", Authorizer: "ApiAuthorizer"},
			{Method: "GET", Path: "/page", Function: "f", Authorizer: "PageAuthorizer"},
		},
		Functions:       map[string]gateway.Handler{"f": recorder(&got)},
		Authorizer:      authz,
		IdentityHeaders: []string{"Authorization"},
		Authorizers: map[string]gateway.Identity{
			"HubAuthorizer":  {Headers: []string{"Authorization"}},
			"ApiAuthorizer":  {},
			"PageAuthorizer": {QueryStrings: []string{"tenant"}},
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	cases := []struct {
		name, path      string
		headers         map[string]string
		status          int
		called          bool
		wantIdentitySrc []string
	}{
		{"default authorizer without its header", "/hub", map[string]string{"X-API-KEY": "good"}, 401, false, nil},
		{"default authorizer with its header", "/hub", map[string]string{"Authorization": "Bearer good"}, 200, true, []string{"Bearer good"}},
		{"no identity source: X-API-KEY alone reaches the authorizer", "/v2/things", map[string]string{"X-API-KEY": "good"}, 200, true, nil},
		{"no identity source: Authorization reaches it too", "/v2/things", map[string]string{"Authorization": "Bearer good"}, 200, true, nil},
		{"no identity source: no credential is the authorizer's to deny", "/v2/things", nil, 403, true, nil},
		{"query string identity missing", "/page", map[string]string{"Authorization": "Bearer good"}, 401, false, nil},
		{"query string identity present", "/page?tenant=good", nil, 200, true, []string{"good"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls, identitySource = 0, nil
			req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status || (calls > 0) != tc.called {
				t.Fatalf("status %d, authorizer called %d times; want %d, called %v", resp.StatusCode, calls, tc.status, tc.called)
			}
			if tc.called && !slices.Equal(identitySource, tc.wantIdentitySrc) {
				t.Fatalf("identity source %q, want %q", identitySource, tc.wantIdentitySrc)
			}
		})
	}
}

func TestGatewayRefusesARouteNamingAnUnknownAuthorizer(t *testing.T) {
	noop := func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, nil
	}
	_, err := gateway.New(gateway.Config{
		Routes:     []gateway.Route{{Method: "GET", Path: "/x", Function: "f", Authorizer: "Missing"}},
		Functions:  map[string]gateway.Handler{"f": recorder(new(events.APIGatewayV2HTTPRequest))},
		Authorizer: noop,
	})
	if err == nil {
		t.Fatal("a route naming an unconfigured authorizer was accepted")
	}
}
