package prooftest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/template"
)

// Samples are the JSON object bodies that the API Gateway event files under
// events/ send to routeKey ("POST /users"), in file-name order: the
// requests someone already wrote down for each route, valid ones and
// refused ones alike. Callers keep the ones an owner's request accepts.
func Samples(routeKey string) []map[string]any {
	loadSamples.Do(readSamples)
	var out []map[string]any
	for _, raw := range append(samples[routeKey], extraSamples[routeKey]...) {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// extraSamples are accepted bodies of routes whose event files hold none
// (their files show refusals): without one, a suite could only reach the
// route's decoding, not what comes after it.
var extraSamples = map[string][][]byte{
	"POST /partners":                  {[]byte(`{"name":"Sample Partner","mode":"create"}`)},
	"POST /integrations/{id}/review":  {[]byte(`{"decision":"approve","feedback":""}`)},
	"PATCH /marketplace/tenants/{id}": {[]byte(`{"config":{"region":"eu"}}`)},
	"POST /marketplace/settings/keys": {[]byte(`{"kid":"sample","algorithm":"EdDSA","key":` + strconvQuote(PublicJWK) + `}`)},
}

// PublicJWK is an Ed25519 public key as a JWK.
const PublicJWK = `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var (
	loadSamples sync.Once
	samples     map[string][][]byte
)

func readSamples() {
	samples = map[string][][]byte{}
	tmpl, err := template.Find()
	if err != nil {
		return
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(tmpl), "events", "*", "*.json"))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var ev events.APIGatewayV2HTTPRequest
		if json.Unmarshal(b, &ev) != nil || ev.RouteKey == "" || ev.Body == "" || ev.IsBase64Encoded {
			continue
		}
		samples[ev.RouteKey] = append(samples[ev.RouteKey], []byte(ev.Body))
	}
}

// IDCollection is the collection an id-carrying name addresses: a path
// parameter or a body field named <thing>_id addresses <thing>s
// ({trigger_id}, "integration_id"), any other path parameter the collection
// whose path segment precedes it ({id} after /users, {kid} after
// /secrets). before is that segment ("" for a body field). ok is false for
// names that are not ids.
func IDCollection(name, before string) (string, bool) {
	if base, ok := strings.CutSuffix(name, "_id"); ok && base != "" {
		return base + "s", true
	}
	return before, before != ""
}

// Fill sets, in a copy of body, every field that names an id of a known
// collection ("user_id") to idsOf's resource of that collection (a fresh,
// valid-looking id when idsOf is nil or has none), and every email address
// to a fresh one at emailDomain, so that a sample neither collides with an
// earlier use nor names anyone's data by accident. It returns the names of
// the fields that address a resource.
func Fill(body map[string]any, idsOf *Org, emailDomain string) (map[string]any, []string) {
	var addressed []string
	var walk func(key string, v any) any
	walk = func(key string, v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = walk(k, e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk(key, e)
			}
			return out
		case string:
			if collection, ok := IDCollection(key, ""); ok {
				addressed = append(addressed, key)
				if idsOf != nil {
					if id := idsOf.Resource(collection); id != "" {
						return id
					}
				}
				return ids.New()
			}
			if key == "kid" {
				// Key ids are unique in the whole deployment.
				return "proof-" + strings.ToLower(ids.New())
			}
			if looksLikeEmail(x) {
				return strings.ToLower(ids.New()) + "@" + emailDomain
			}
			return x
		}
		return v
	}
	return walk("", body).(map[string]any), addressed
}

func looksLikeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.Contains(s, "://") && !strings.ContainsAny(s, " /")
}

// LooksLikeEmail reports whether a sample's string value is an email
// address (so a suite can put an invalid one in its place).
func LooksLikeEmail(s string) bool { return looksLikeEmail(s) }

// LooksLikeURL reports whether a sample's string value is an absolute
// http(s) URL.
func LooksLikeURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// EnumParams are the path parameters that choose among fixed values rather
// than name a resource, with the value the suites use.
var EnumParams = map[string]string{"variant": "light"}

// PathFill is a route path with its parameters filled in.
type PathFill struct {
	Path string
	// Addressed: some parameter names a resource (not an enum value).
	Addressed bool
	// Invented lists the parameters whose collection the org has no
	// resource of, filled with a fresh, valid-looking id.
	Invented []string
	// IDs are the ids put in the path.
	IDs []string
}

// FillPath fills each {param} of path: an id parameter with org's first
// resource of its collection (a fresh id with fresh, or when org has none),
// an enum parameter with its value.
func FillPath(path string, org *Org, fresh bool) PathFill { return FillPathNth(path, org, fresh, 0) }

// Choices is how many resources org has of the collection a path's first
// id parameter addresses (at least 1), for FillPathNth.
func Choices(path string, org *Org) int {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		name, ok := strings.CutPrefix(seg, "{")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, "}")
		if _, enum := EnumParams[name]; enum || i == 0 {
			continue
		}
		collection, _ := IDCollection(name, segs[i-1])
		return max(1, len(org.Resources[collection]))
	}
	return 1
}

// FillPathNth is FillPath with org's n-th resource of each collection (its
// last when it has fewer).
func FillPathNth(path string, org *Org, fresh bool, n int) PathFill {
	orig := strings.Split(path, "/")
	segs := strings.Split(path, "/")
	var out PathFill
	for i, seg := range segs {
		name, ok := strings.CutPrefix(seg, "{")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, "}")
		if v, ok := EnumParams[name]; ok {
			segs[i] = v
			continue
		}
		out.Addressed = true
		before := ""
		if i > 0 {
			before = orig[i-1]
		}
		collection, _ := IDCollection(name, before)
		id := ""
		if !fresh && org != nil {
			if all := org.Resources[collection]; len(all) > 0 {
				id = all[min(n, len(all)-1)]
			}
		}
		if id == "" {
			id = ids.New()
			if !fresh {
				out.Invented = append(out.Invented, name)
			}
		}
		segs[i] = id
		out.IDs = append(out.IDs, id)
	}
	out.Path = strings.Join(segs, "/")
	return out
}

// Accepted is a request a route accepted from an organization's caller on
// its own data.
type Accepted struct {
	// Sample is the body (before Fill), nil for none.
	Sample map[string]any
	// Caller is the position of the caller in Org.Callers.
	Caller int
	// PathN is the resource position FillPathNth used.
	PathN    int
	Response Response
}

// FindAccepted tries the route's samples (or no body), on each resource of
// the collection its path addresses, as each of org's callers, until one
// is accepted (2xx, or the accepted answer of the route's flow). A route
// with a flow gets its earlier steps first, as that caller (the Source
// Control callback a real sign-in, disconnecting a connection). It writes
// whatever that request and those steps write: use an organization made
// for the purpose. The accepted request is the last one sent through do.
// tried lists the other answers. first are bodies to try before the
// samples (Hub.PublicBody's).
func FindAccepted(do func(Request) Response, route Route, org *Org, first ...map[string]any) (acc Accepted, tried []string, ok bool) {
	candidates := []map[string]any{nil}
	if samples := Samples(route.Key()); route.HasBody() && len(samples) > 0 {
		candidates = samples
	}
	if len(first) > 0 {
		candidates = append(first, candidates...)
	}
	fl := flows[route.Key()]
	for _, s := range candidates {
		var body []byte
		if s != nil {
			filled := s
			if !route.Public {
				filled, _ = Fill(s, org, org.Domain())
			}
			body = JSONBody(filled)
		}
		for n := range Choices(route.Path, org) {
			path := FillPathNth(route.Path, org, false, n).Path
			for i, caller := range org.Callers() {
				req := Request{Method: route.Method, Path: path, Caller: caller, Body: body}
				if fl.prepare != nil {
					var err error
					if req, err = fl.prepare(do, req); err != nil {
						tried = append(tried, string(caller.Kind)+" "+err.Error())
						continue
					}
				}
				if route.Method != http.MethodGet {
					req.IfMatch = IfMatchFor(do, req.Path, req.Caller)
				}
				resp := do(req)
				if fl.accepts(resp) {
					return Accepted{Sample: s, Caller: i, PathN: n, Response: resp}, tried, true
				}
				tried = append(tried, string(caller.Kind)+" "+resp.Summary())
			}
		}
	}
	slices.Sort(tried)
	return Accepted{Sample: candidates[0]}, slices.Compact(tried), false
}

// IfMatchFor is the If-Match a caller sends to change path: the ETag that a
// GET of path, or of the nearest path above it, answers; "v1" (every
// document's first version) when none does.
func IfMatchFor(do func(Request) Response, path string, caller Credential) string {
	for p := path; p != ""; p = p[:strings.LastIndex(p, "/")] {
		resp := do(Request{Method: http.MethodGet, Path: p, Caller: caller})
		if tag := resp.Header.Get("ETag"); resp.Status == http.StatusOK && tag != "" {
			return tag
		}
	}
	return `"v1"`
}

// PublicBody is an accepted body of a public route that takes a secret no
// event file can hold (a password, a one-time token), made for org: a
// sign-in of its administrator, a fresh invitation's or reset's token. It
// is nil for any other route. Making it writes (an invitation, a reset).
func (h *Hub) PublicBody(route Route, org *Org) map[string]any {
	h.t.Helper()
	switch route.Key() {
	case "POST /auth/login":
		return map[string]any{"email": org.AdminEmail(), "password": Password}
	case "POST /auth/password/forgot":
		return map[string]any{"email": org.AdminEmail()}
	case "POST /auth/invitations/accept":
		email := "accept-" + strings.ToLower(ids.New()) + "@" + org.Domain()
		h.MustDo(Request{Method: "POST", Path: "/users", Caller: org.Admin, Body: JSONBody(map[string]string{"email": email})}, http.StatusCreated)
		return map[string]any{"token": h.InvitationToken(org.ID, email), "name": "Invited Person", "password": Password}
	case "POST /auth/password/reset":
		h.MustDo(Request{Method: "POST", Path: "/auth/password/forgot", Caller: Anonymous, Body: JSONBody(map[string]string{"email": org.AdminEmail()})}, http.StatusAccepted)
		return map[string]any{"token": TokenFromOutbox(h.t, h.Deps, org.ID, org.AdminEmail(), outbox.PasswordResetRequested), "password": Password}
	}
	return nil
}
