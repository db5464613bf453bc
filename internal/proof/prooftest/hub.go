// Package prooftest is the fixture of the proof suites (issue 7): the whole
// local stack (internal/localstack) on an embedded table, driven through its
// API Gateway stand-in and the real Lambda authorizer, with organizations
// populated through the API as a client would, a table snapshot to prove
// that a request wrote nothing, the sample bodies of the event files, and
// the invariants no crash or fault may break.
//
// Routes are always read from internal/app (app.HTTPFunctionNames and each
// router's Routes), so a new route is covered without editing a suite.
package prooftest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/localstack"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/embedded"
	"github.com/integration-hub/hub/internal/web"
)

// Password of every fixture user.
const Password = "correct horse battery"

// FastHashing keeps the fixture's password hashing cheap; the cost of the
// real parameters is the benchmarks' business.
var FastHashing = passwords.Params{MemoryKiB: 64, Time: 1, Threads: 1}

// Route is one route of one HTTP function.
type Route struct {
	Function string
	web.Route
}

// Params are the {names} of the route's path, in order.
func (r Route) Params() []string {
	var out []string
	for _, seg := range strings.Split(r.Path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			out = append(out, strings.TrimSuffix(name, "}"))
		}
	}
	return out
}

// HasBody reports whether the route's method carries a request body.
func (r Route) HasBody() bool {
	return r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch
}

// Routes are every route of every HTTP function app wires, sorted by
// function and route key.
func Routes(t testing.TB, d *app.Deps) []Route {
	t.Helper()
	var out []Route
	for _, name := range app.HTTPFunctionNames() {
		rt, err := d.Router(name)
		if err != nil {
			t.Fatalf("router %s: %v", name, err)
		}
		for _, r := range rt.Routes() {
			out = append(out, Route{Function: name, Route: r})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Function != out[j].Function {
			return out[i].Function < out[j].Function
		}
		return out[i].Key() < out[j].Key()
	})
	return out
}

// Hub is the hub reached through an API Gateway stand-in in-process: the
// local stack on an embedded table (Open), or the functions on DynamoDB
// Local (OpenDynamoDB).
type Hub struct {
	t testing.TB
	// Deps are the functions' dependencies (the operator and the outbox's
	// key are read from them).
	Deps *app.Deps
	// Stack is the local stack, when the hub is one.
	Stack *localstack.Stack
	// DB is the embedded table, when the hub runs on one.
	DB      *embedded.DB
	Handler http.Handler
	routes  []Route
}

// Open starts a local stack in a fresh data folder. Source control's GitHub
// provider is a local one (githubEnv), so every route can answer and an
// organization can really connect.
func Open(t testing.TB) *Hub {
	t.Helper()
	for k, v := range githubEnv(t) {
		t.Setenv(k, v)
	}
	st, err := localstack.Open(context.Background(), localstack.Config{
		DataDir:   DataDir(t),
		BaseURL:   "https://hub.test",
		Sender:    "hub@hub.test",
		Log:       slog.New(slog.NewJSONHandler(io.Discard, nil)),
		LogOutput: io.Discard,
		Hashing:   FastHashing,
	})
	if err != nil {
		t.Fatalf("open the local stack: %v", err)
	}
	t.Cleanup(st.Close)
	db, ok := st.Deps.Table.(*embedded.DB)
	if !ok {
		t.Fatalf("the local stack's default table is %T, not the embedded one", st.Deps.Table)
	}
	h := &Hub{t: t, Deps: st.Deps, Stack: st, DB: db, Handler: st.Gateway}
	h.routes = Routes(t, st.Deps)
	return h
}

// Routes are the hub's routes.
func (h *Hub) Routes() []Route { return h.routes }

// DataDir is a fresh folder for a local stack's data, in memory (/dev/shm)
// where the machine has it: the embedded table syncs every write to disk,
// which would make the suites' thousands of writes wait on the disk.
func DataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "hub-proof-*")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// HasRoute reports whether some function serves the route key.
func (h *Hub) HasRoute(key string) bool {
	for _, r := range h.routes {
		if r.Key() == key {
			return true
		}
	}
	return false
}

// Credential is what a caller presents; the authorizer resolves it.
type Credential struct {
	// Name labels the caller in failure messages ("org A hub user").
	Name    string
	Kind    principal.Kind
	Org     string
	Subject string
	// Partner is a partner user's partner organization.
	Partner string
	// Pending: a partner user whose Partner Form is still due.
	Pending bool
	headers http.Header
	// query is added to every request (the marketplace page's token).
	query url.Values
}

// Bearer is a credential sent as a Bearer token.
func Bearer(name string, kind principal.Kind, org, subject, token string) Credential {
	return Credential{Name: name, Kind: kind, Org: org, Subject: subject, headers: http.Header{"Authorization": {"Bearer " + token}}}
}

// APIKeyCredential sends key in X-API-KEY and as a Bearer token, so it
// reaches the authorizer whichever identity source the route's authorizer
// declares; the authorizer reads X-API-KEY first.
func APIKeyCredential(name, org, id, key string) Credential {
	return Credential{Name: name, Kind: principal.APIKey, Org: org, Subject: id, headers: http.Header{
		"Authorization": {"Bearer " + key},
		"X-Api-Key":     {key},
	}}
}

// Token is the credential itself: the Bearer token, or the API key.
func (c Credential) Token() string {
	if k := c.headers.Get("X-Api-Key"); k != "" {
		return k
	}
	return strings.TrimPrefix(c.headers.Get("Authorization"), "Bearer ")
}

// Principal is who the authorizer resolves the credential to.
func (c Credential) Principal() principal.Principal {
	return principal.Principal{Kind: c.Kind, Org: c.Org, Subject: c.Subject, Partner: c.Partner, PartnerPending: c.Pending, Plan: principal.Standard}
}

// Anonymous presents nothing.
var Anonymous = Credential{Name: "anonymous"}

// Request is one HTTP request to the gateway.
type Request struct {
	Method, Path string
	Caller       Credential
	// Body is sent as is; ContentType defaults to application/json when
	// there is a body.
	Body        []byte
	ContentType string
	IfMatch     string
}

// JSONBody marshals v for a Request.
func JSONBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Response is what the gateway answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Problem is the decoded problem document when the answer is one.
	Problem   web.Problem
	IsProblem bool
}

// Field reads a top-level string field of a JSON body.
func (r Response) Field(name string) string {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	s, _ := m[name].(string)
	return s
}

// Summary is the status and, for a problem, its code: what two answers are
// compared by.
func (r Response) Summary() string {
	if r.IsProblem {
		return strconv.Itoa(r.Status) + " " + r.Problem.Code
	}
	return strconv.Itoa(r.Status)
}

// Serve sends req to handler as an HTTP client would (through the gateway,
// so the authorizer decides who calls).
func Serve(handler http.Handler, req Request) Response {
	var body io.Reader = http.NoBody
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	target := req.Path
	if len(req.Caller.query) > 0 {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + req.Caller.query.Encode()
	}
	r := httptest.NewRequest(req.Method, "http://hub.test"+target, body)
	r.RemoteAddr = "127.0.0.1:40000"
	for k, vs := range req.Caller.headers {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if req.Body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	if req.IfMatch != "" {
		r.Header.Set("If-Match", req.IfMatch)
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, r)
	out := Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
		out.IsProblem = json.Unmarshal(out.Body, &out.Problem) == nil
	}
	return out
}

// Do sends req through the hub's gateway.
func (h *Hub) Do(req Request) Response { return Serve(h.Handler, req) }

// MustDo sends req and fails the test unless the answer has status want.
func (h *Hub) MustDo(req Request, want int) Response {
	h.t.Helper()
	resp := h.Do(req)
	if resp.Status != want {
		h.t.Fatalf("%s %s as %s: %d %s, want %d", req.Method, req.Path, req.Caller.Name, resp.Status, resp.Body, want)
	}
	return resp
}

// ETag is the ETag a GET of path answers caller with, or "" when the GET
// is not a route, is refused or has none.
func (h *Hub) ETag(path string, caller Credential) string {
	resp := h.Do(Request{Method: http.MethodGet, Path: path, Caller: caller})
	if resp.Status != http.StatusOK {
		return ""
	}
	return resp.Header.Get("ETag")
}

// Get reads one item of the embedded table (the zero item when absent).
func (h *Hub) Get(k storage.Key) storage.Item {
	it, _ := h.DB.Get(context.Background(), k)
	return it
}
