package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/web"
)

func ExampleProblemFor() {
	for _, err := range []error{
		apperr.Field("email", "invalid_email", "%q is not an email address", "x"),
		fmt.Errorf("get user: %w", storage.ErrNotFound),
		fmt.Errorf("write: %w", storage.ErrUnavailable),
		errors.New("a bug with a secret in it"),
	} {
		p := web.ProblemFor(err)
		fmt.Printf("%d %s field=%q detail=%q\n", p.Status, p.Code, p.Field, p.Detail)
	}
	// Output:
	// 400 invalid_email field="email" detail="\"x\" is not an email address"
	// 404 not_found field="" detail=""
	// 503 unavailable field="" detail="a dependency is unavailable; try again"
	// 500 internal field="" detail=""
}

type signup struct {
	Email string   `json:"email"`
	Age   int      `json:"age"`
	Tags  []string `json:"tags"`
	// Until's own UnmarshalJSON fails without naming its field.
	Until *time.Time `json:"until"`
}

func TestDecodeRefusesEveryMalformedBodyNamingTheProblem(t *testing.T) {
	cases := []struct {
		name, contentType, body string
		wantCode, wantField     string
		wantKind                apperr.Kind
	}{
		{"malformed", "application/json", `{"email":`, "malformed_json", "", apperr.Invalid},
		{"syntax", "application/json", `{"email" "x"}`, "malformed_json", "", apperr.Invalid},
		{"unknown field", "application/json", `{"email":"a@b.c","admin":true}`, "unknown_field", "admin", apperr.Invalid},
		{"wrong type", "application/json", `{"age":"ten"}`, "wrong_type", "age", apperr.Invalid},
		{"wrong element type", "application/json", `{"tags":[1]}`, "wrong_type", "tags", apperr.Invalid},
		{"a time that is not a string", "application/json", `{"email":"a@b.c","until":5}`, "invalid_value", "until", apperr.Invalid},
		{"a time that is not a time", "application/json", `{"until":"tomorrow"}`, "invalid_value", "until", apperr.Invalid},
		{"trailing data", "application/json", `{"age":1} {"age":2}`, "trailing_data", "", apperr.Invalid},
		{"empty", "application/json", ``, "empty_body", "", apperr.Invalid},
		{"not utf-8", "application/json", "{\"email\":\"\xff\"}", "invalid_utf8", "", apperr.Invalid},
		{"too large", "application/json", `{"email":"` + strings.Repeat("a", web.MaxBody) + `"}`, "body_too_large", "", apperr.TooLarge},
		{"form", "application/x-www-form-urlencoded", `email=a`, "unsupported_media_type", "", apperr.UnsupportedMedia},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.contentType)
			var v signup
			err := web.Decode(r, &v, 0)
			e, ok := apperr.As(err)
			if !ok {
				t.Fatalf("err = %v, want an *apperr.Error", err)
			}
			if e.Code != tc.wantCode || e.Field != tc.wantField || e.Kind != tc.wantKind {
				t.Fatalf("got code=%s field=%q kind=%d, want %s %q %d", e.Code, e.Field, e.Kind, tc.wantCode, tc.wantField, tc.wantKind)
			}
			if p := web.ProblemFor(err); p.Status < 400 || p.Status > 499 {
				t.Fatalf("status %d, want 4xx", p.Status)
			}
		})
	}
}

func TestDecodeAcceptsOneStrictValue(t *testing.T) {
	r, _ := http.NewRequest("POST", "/", strings.NewReader(` {"email":"a@b.c","age":3} `))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	var v signup
	if err := web.Decode(r, &v, 0); err != nil || v.Email != "a@b.c" || v.Age != 3 {
		t.Fatalf("Decode = %+v, %v", v, err)
	}
}

// serve runs one request through the router behind the Lambda V2 adapter,
// the way API Gateway delivers it.
func serve(t *testing.T, rt *web.Router, method, path string, headers map[string]string, auth map[string]any) (int, web.Problem, string) {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: path, Headers: headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-1",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
	if auth != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: auth}
	}
	resp, err := httpadapter.NewV2(rt).ProxyWithContext(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var p web.Problem
	_ = json.Unmarshal([]byte(resp.Body), &p)
	return resp.StatusCode, p, resp.Body
}

func jsonContext(t *testing.T, p principal.Principal) map[string]any {
	b, _ := json.Marshal(p.Context())
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func TestRouterChecksThePrincipalFromTheGatewayContextOnly(t *testing.T) {
	rt := web.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	rt.Handle("GET", "/things/{id}", web.Allow(principal.HubUser), func(w http.ResponseWriter, r *http.Request) error {
		web.JSON(w, 200, map[string]string{"org": web.Caller(r).Org, "id": r.PathValue("id")})
		return nil
	})
	rt.Handle("GET", "/form", web.Allow(principal.HubUser, principal.PartnerUser).EvenPending(), func(w http.ResponseWriter, r *http.Request) error {
		web.NoContent(w)
		return nil
	})
	rt.Handle("GET", "/silent", web.Public, func(w http.ResponseWriter, r *http.Request) error { return nil })

	hub := principal.Principal{Kind: principal.HubUser, Org: "o1", Subject: "u1", Plan: principal.Standard}
	pending := principal.Principal{Kind: principal.PartnerUser, Org: "o1", Subject: "u2", Partner: "p1", PartnerPending: true}
	key := principal.Principal{Kind: principal.APIKey, Org: "o1", Subject: "k1"}
	cases := []struct {
		name    string
		path    string
		headers map[string]string
		auth    map[string]any
		status  int
		code    string
	}{
		{"hub user", "/things/42", nil, jsonContext(t, hub), 200, ""},
		{"no authorizer context", "/things/42", nil, nil, 401, "unauthenticated"},
		{"principal in a header is ignored", "/things/42", map[string]string{"x-org": "o2", "authorization": "Bearer x"}, nil, 401, "unauthenticated"},
		{"api key on a hub route", "/things/42", nil, jsonContext(t, key), 403, "forbidden_principal"},
		{"pending partner on a normal route", "/things/42", nil, jsonContext(t, pending), 403, "forbidden_principal"},
		{"pending partner on the form", "/form", nil, jsonContext(t, pending), 204, ""},
		{"unknown route", "/nope", nil, jsonContext(t, hub), 404, "no_route"},
		{"handler that writes nothing", "/silent", nil, nil, 500, "no_response"},
		{"refused: no credential", "/things/42", nil, principal.RefusedMissing.Context(), 401, "missing_credential"},
		{"refused: invalid credential", "/things/42", nil, principal.RefusedInvalid.Context(), 401, "invalid_credential"},
		{"refused: expired credential", "/things/42", nil, principal.RefusedExpired.Context(), 401, "credential_expired"},
		{"refused: ended session", "/things/42", nil, principal.RefusedEnded.Context(), 401, "session_ended"},
		{"refused: a reason the router does not know", "/things/42", nil, map[string]any{"refused": "other"}, 401, "invalid_credential"},
		{"refused, whatever else the context holds", "/things/42", nil, withRefusal(jsonContext(t, hub)), 401, "invalid_credential"},
		{"refused on a route open even to pending partners", "/form", nil, principal.RefusedEnded.Context(), 401, "session_ended"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, p, body := serve(t, rt, "GET", tc.path, tc.headers, tc.auth)
			if status != tc.status || p.Code != tc.code {
				t.Fatalf("got %d %q (%s), want %d %q", status, p.Code, body, tc.status, tc.code)
			}
			if status == 200 && !strings.Contains(body, `"org":"o1"`) {
				t.Fatalf("body %s does not carry the authorizer's organization", body)
			}
			if status >= 400 && p.RequestID != "req-1" {
				t.Fatalf("problem lacks the request id: %s", body)
			}
		})
	}
}

func withRefusal(c map[string]any) map[string]any {
	c["refused"] = "invalid"
	return c
}

func TestRouterRecordsItsRoutes(t *testing.T) {
	rt := web.NewRouter(slog.Default())
	noop := func(w http.ResponseWriter, r *http.Request) error { return nil }
	rt.Handle("POST", "/b", web.Public, noop)
	rt.Handle("GET", "/a/{id}", web.Allow(principal.HubUser), noop)
	got := rt.Routes()
	want := []web.Route{{Method: "GET", Path: "/a/{id}"}, {Method: "POST", Path: "/b", Public: true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Routes() = %v, want %v", got, want)
	}
}

func TestIfMatch(t *testing.T) {
	cases := map[string]struct {
		header  string
		version int64
		kind    apperr.Kind
	}{
		"current": {`"v3"`, 3, 0},
		"weak":    {`W/"v3"`, 3, 0},
		"missing": {``, 0, apperr.PreconditionNeeded},
		"foreign": {`"abc"`, 0, apperr.PreconditionFailed},
		"zero":    {`"v0"`, 0, apperr.PreconditionFailed},
	}
	for name, tc := range cases {
		r, _ := http.NewRequest("PUT", "/", nil)
		if tc.header != "" {
			r.Header.Set("If-Match", tc.header)
		}
		v, err := web.IfMatch(r)
		if tc.kind == 0 {
			if err != nil || v != tc.version {
				t.Errorf("%s: IfMatch = %d, %v", name, v, err)
			}
			continue
		}
		if apperr.KindOf(err) != tc.kind {
			t.Errorf("%s: err = %v, want kind %d", name, err, tc.kind)
		}
	}
	if web.ETag(7) != `"v7"` {
		t.Fatalf("ETag(7) = %s", web.ETag(7))
	}
}
