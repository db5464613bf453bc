// Package badinput_test sends bad input to every route that takes a body
// (every POST, PUT and PATCH the hub serves, read from internal/app):
// malformed JSON, unknown fields, wrong types, oversized bodies, overlong
// strings, invalid emails and URLs, non-UTF-8, another media type. Each must
// be refused with a 4xx problem document that has a code (and names the
// field when one field is wrong), never a 5xx, and must leave the table as
// it was, byte for byte.
package badinput_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/storage/embedded"
)

// overlong is longer than any string field the hub accepts, and short
// enough that the body stays under the default body limit.
const overlong = 10_000

// oversized is over every route's body limit and under API Gateway's.
const oversized = 2 << 20

// unknownField is a field no input has.
const unknownField = "zz_not_a_field"

// variant is one bad request body and what its refusal must say.
type variant struct {
	name        string
	body        []byte
	contentType string
	// status, when set, is the one status accepted; otherwise any 4xx.
	status int
	// code, when set, is the problem code required.
	code string
	// field: "" requires nothing; otherwise the problem's field must end
	// with it (nested fields are dotted paths).
	field string
}

var (
	invalidEmails = []string{"not-an-email", "two@@at.test", "no-domain@", "a@b", "x@x.test\r\nBcc: y@y.test", "<script>@x.test"}
	invalidURLs   = []string{"javascript:alert(1)", "ftp://files.example/a", "https://user:pw@example.test/", "//example.test/no-scheme", "not a url", "https://"}
)

// generic are the variants that need no knowledge of the route's input.
func generic(base map[string]any) []variant {
	withUnknown := map[string]any{unknownField: 1}
	for k, v := range base {
		withUnknown[k] = v
	}
	nonUTF8 := []byte(`{"` + unknownField + `":"` + "\xff\xfe" + `"}`)
	if base != nil {
		// The invalid bytes inside an otherwise accepted body.
		b := prooftest.JSONBody(base)
		if i := bytes.LastIndexByte(b, '}'); i > 0 {
			nonUTF8 = append(append(append([]byte{}, b[:i]...), []byte(`,"zz":"`+"\xc3\x28"+`"`)...), '}')
			if len(base) == 0 {
				nonUTF8 = []byte(`{"zz":"` + "\xc3\x28" + `"}`)
			}
		}
	}
	huge := append(append([]byte(`{"`+unknownField+`":"`), bytes.Repeat([]byte("a"), oversized)...), '"', '}')
	return []variant{
		{name: "malformed JSON", body: []byte(`{"`), status: 400, code: "malformed_json"},
		{name: "truncated JSON", body: []byte(`{"a":[1,2`), status: 400, code: "malformed_json"},
		{name: "not an object", body: []byte(`[1,2,3]`), status: 400},
		{name: "a string", body: []byte(`"text"`), status: 400},
		{name: "trailing data", body: []byte(`{} {}`), status: 400, code: "trailing_data"},
		{name: "unknown field", body: prooftest.JSONBody(withUnknown), status: 400, code: "unknown_field", field: unknownField},
		{name: "non-UTF-8", body: nonUTF8, status: 400, code: "invalid_utf8"},
		{name: "oversized body", body: huge, status: http.StatusRequestEntityTooLarge, code: "body_too_large"},
		{name: "form encoded", body: []byte("email=a%40b.test"), contentType: "application/x-www-form-urlencoded", status: http.StatusUnsupportedMediaType},
		{name: "text/plain", body: []byte(`{}`), contentType: "text/plain", status: http.StatusUnsupportedMediaType},
	}
}

// leaf is one scalar (or empty container) of a sample body and where it is.
type leaf struct {
	path  []any // string keys and int indexes
	value any
}

// name is the field a problem about the leaf names: its nearest key.
func (l leaf) name() string {
	for i := len(l.path) - 1; i >= 0; i-- {
		if k, ok := l.path[i].(string); ok {
			return k
		}
	}
	return ""
}

func (l leaf) String() string {
	var parts []string
	for _, p := range l.path {
		parts = append(parts, fmt.Sprint(p))
	}
	return strings.Join(parts, ".")
}

// freeForm are the fields whose value is the caller's own JSON (a tenant's
// configuration): any value inside them is valid, so only the field itself
// is a leaf.
var freeForm = []string{"config"}

func leaves(v any, path []any) []leaf {
	if len(path) > 0 {
		if k, ok := path[len(path)-1].(string); ok && slices.Contains(freeForm, k) {
			return []leaf{{path: path, value: v}}
		}
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 && len(path) > 0 {
			return []leaf{{path: path, value: x}}
		}
		var out []leaf
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, leaves(x[k], append(slices.Clone(path), k))...)
		}
		return out
	case []any:
		if len(x) == 0 {
			return []leaf{{path: path, value: x}}
		}
		var out []leaf
		for i, e := range x {
			out = append(out, leaves(e, append(slices.Clone(path), i))...)
		}
		return out
	}
	return []leaf{{path: path, value: v}}
}

// with is a deep copy of v with the value at path replaced.
func with(v any, path []any, value any) any {
	if len(path) == 0 {
		return value
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		k := path[0].(string)
		out[k] = with(x[k], path[1:], value)
		return out
	case []any:
		out := slices.Clone(x)
		i := path[0].(int)
		out[i] = with(x[i], path[1:], value)
		return out
	}
	return v
}

// wrongType is a value of another JSON type than v.
func wrongType(v any) any {
	switch v.(type) {
	case string:
		return 12345
	case float64, bool:
		return "a string"
	case []any:
		return map[string]any{"an": "object"}
	}
	return []any{"an", "array"}
}

// perField are the variants of each leaf of an accepted body.
func perField(base map[string]any) []variant {
	var out []variant
	for _, l := range leaves(base, nil) {
		body := func(value any) []byte { return prooftest.JSONBody(with(base, l.path, value)) }
		out = append(out, variant{name: "wrong type at " + l.String(), body: body(wrongType(l.value)), status: 400, field: l.name()})
		s, isString := l.value.(string)
		if !isString {
			continue
		}
		out = append(out, variant{name: "overlong " + l.String(), body: body(strings.Repeat("a", overlong)), field: l.name()})
		if prooftest.LooksLikeEmail(s) {
			for _, bad := range invalidEmails {
				out = append(out, variant{name: fmt.Sprintf("invalid email %q at %s", bad, l), body: body(bad), field: l.name()})
			}
		}
		if prooftest.LooksLikeURL(s) && strings.Contains(strings.ToLower(l.name()), "url") {
			for _, bad := range invalidURLs {
				out = append(out, variant{name: fmt.Sprintf("invalid URL %q at %s", bad, l), body: body(bad), field: l.name()})
			}
		}
	}
	return out
}

// exception is how a route's refusals differ from the rule on purpose.
type exception struct {
	why string
	// noField: its refusals never name a field.
	noField bool
	// writes reports whether a change is one its refusals make.
	writes func(prooftest.Change) bool
}

// byDesign are the routes whose refusals differ from the rule on purpose,
// as the README's security section says.
var byDesign = map[string]exception{
	"POST /auth/login": {
		why:     "every failed sign-in answers the same invalid_credentials, naming nothing, and counts against the address",
		noField: true,
		writes:  func(c prooftest.Change) bool { return c.After != nil && c.After.Type == "signin_attempts" },
	},
}

// knownGaps are refusals that fall short of the rule today (route key and
// variant name). Each must still happen: when one is fixed the suite fails
// until it is removed from here.
var knownGaps = map[string]string{}

// TestEveryBodyRouteRefusesBadInputWithAProblemAndWritesNothing is the
// suite. For each route, an accepted request is found first on an
// organization of its own (which caller, which resource, which body of
// events/); the bad variants then go to the same route, as the same kind
// of caller, on the suite's organization.
func TestEveryBodyRouteRefusesBadInputWithAProblemAndWritesNothing(t *testing.T) {
	h := prooftest.Open(t)
	org := h.NewOrg(principal.Standard)
	seen := map[string]bool{}
	defer func() {
		for gap, why := range knownGaps {
			if !seen[gap] {
				t.Errorf("known gap %q (%s) no longer happens: remove it from knownGaps", gap, why)
			}
		}
	}()
	covered, sent := 0, 0
	defer func() { t.Logf("%d routes with a body, %d bad requests", covered, sent) }()
	for _, route := range h.Routes() {
		if !route.HasBody() {
			continue
		}
		covered++
		t.Run(route.Function+" "+route.Key(), func(t *testing.T) {
			probe := h.NewOrg(principal.Standard)
			if ignoresBody(h, route, probe) {
				t.Logf("%s accepts malformed JSON from its callers: it reads no body", route.Key())
				return
			}
			acc, tried, ok := prooftest.FindAccepted(h.Do, route, probe)
			if body := h.PublicBody(route, org); body != nil {
				acc, ok = prooftest.Accepted{Sample: body}, true
			}
			caller := prooftest.Anonymous
			if !route.Public {
				caller = org.Callers()[acc.Caller]
			}
			if !ok {
				// Nothing accepted: the caller is the first one the route
				// lets past its access check, and only the variants that
				// need no accepted body run.
				t.Logf("no accepted request for %s (%s): only the generic variants run", route.Key(), strings.Join(tried, ", "))
				caller = firstAdmitted(h, route, org)
			}
			path := prooftest.FillPathNth(route.Path, org, false, acc.PathN).Path
			var base map[string]any
			if route.Public && acc.Sample != nil {
				base = acc.Sample
			} else if ok && acc.Sample != nil {
				base, _ = prooftest.Fill(acc.Sample, org, org.Domain())
			}
			variants := generic(base)
			if base != nil {
				variants = append(variants, perField(base)...)
			}
			at := target{do: h.Do, db: h.DB}
			sent += len(variants)
			for _, v := range variants {
				problems := check(t, at, org, route, caller, path, v)
				if len(problems) == 0 {
					continue
				}
				if gap := route.Key() + "|" + v.name; knownGaps[gap] != "" {
					seen[gap] = true
					t.Logf("known gap, %s: %s (%s)", gap, strings.Join(problems, "; "), knownGaps[gap])
					continue
				}
				t.Errorf("%s as %s, %s: %s", route.Key(), caller.Name, v.name, strings.Join(problems, "; "))
			}
		})
	}
	if covered == 0 {
		t.Fatal("no route takes a body")
	}
}

// ignoresBody reports whether the route accepts malformed JSON from one of
// org's callers: a POST that takes no input (sign-out, resend an
// invitation, start a run) never reads its body. It may write: org is the
// route's own.
func ignoresBody(h *prooftest.Hub, route prooftest.Route, org *prooftest.Org) bool {
	callers := org.Callers()
	if route.Public {
		callers = []prooftest.Credential{prooftest.Anonymous}
	}
	for n := range prooftest.Choices(route.Path, org) {
		path := prooftest.FillPathNth(route.Path, org, false, n).Path
		for _, c := range callers {
			resp := h.Do(prooftest.Request{Method: route.Method, Path: path, Caller: c, Body: []byte(`{"`), IfMatch: prooftest.IfMatchFor(h.Do, path, c)})
			if resp.Status < 300 {
				return true
			}
		}
	}
	return false
}

// firstAdmitted is the first of org's callers that the route does not
// refuse as a caller (401/403) when sent malformed JSON.
func firstAdmitted(h *prooftest.Hub, route prooftest.Route, org *prooftest.Org) prooftest.Credential {
	if route.Public {
		return prooftest.Anonymous
	}
	path := prooftest.FillPath(route.Path, org, false).Path
	for _, c := range org.Callers() {
		resp := h.Do(prooftest.Request{Method: route.Method, Path: path, Caller: c, Body: []byte(`{"`), IfMatch: prooftest.IfMatchFor(h.Do, path, c)})
		if resp.Status != http.StatusUnauthorized && resp.Status != http.StatusForbidden {
			return c
		}
	}
	return org.Admin
}

// target is where a variant is sent and whose table it must not change.
type target struct {
	do func(prooftest.Request) prooftest.Response
	db *embedded.DB
}

// check sends one variant and returns what is wrong with the answer and
// the table afterwards (nothing, for a correct refusal).
func check(t *testing.T, at target, org *prooftest.Org, route prooftest.Route, caller prooftest.Credential, path string, v variant) []string {
	t.Helper()
	ifMatch := ""
	if !route.Public {
		ifMatch = prooftest.IfMatchFor(at.do, path, caller)
	}
	before, err := prooftest.Take(at.db)
	if err != nil {
		t.Fatal(err)
	}
	resp := at.do(prooftest.Request{Method: route.Method, Path: path, Caller: caller, Body: v.body, ContentType: v.contentType, IfMatch: ifMatch})
	after, err := prooftest.Take(at.db)
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	switch {
	case resp.Status >= 500:
		problems = append(problems, "a server error")
	case resp.Status < 400:
		problems = append(problems, "accepted")
	case v.status != 0 && resp.Status != v.status:
		problems = append(problems, fmt.Sprintf("status %d, want %d", resp.Status, v.status))
	}
	if resp.Status >= 400 {
		switch {
		case !resp.IsProblem:
			problems = append(problems, "not an application/problem+json document")
		case resp.Problem.Code == "":
			problems = append(problems, "a problem without a code")
		case v.code != "" && resp.Problem.Code != v.code:
			problems = append(problems, fmt.Sprintf("code %q, want %q", resp.Problem.Code, v.code))
		}
		if v.field != "" && resp.IsProblem && !fieldNames(resp.Problem.Field, v.field) && !byDesign[route.Key()].noField {
			problems = append(problems, fmt.Sprintf("field %q, want %q", resp.Problem.Field, v.field))
		}
	}
	changes := prooftest.WithoutKeyUse(prooftest.Diff(before, after), org.ID, org.APIKey.Subject)
	if allowed := byDesign[route.Key()].writes; allowed != nil {
		changes = slices.DeleteFunc(changes, allowed)
	}
	if len(changes) > 0 {
		problems = append(problems, "wrote: "+prooftest.Describe(changes))
	}
	if len(problems) > 0 {
		body := resp.Body
		if len(body) > 300 {
			body = body[:300]
		}
		problems = append(problems, fmt.Sprintf("(answered %s: %s)", resp.Summary(), bytes.TrimSpace(body)))
	}
	return problems
}

// fieldNames reports whether a problem's field names want: one of the
// segments of its dotted path, array indexes aside ("events[0].addresses"
// names "addresses").
func fieldNames(field, want string) bool {
	for _, seg := range strings.Split(field, ".") {
		if i := strings.IndexByte(seg, '['); i >= 0 {
			seg = seg[:i]
		}
		if seg == want {
			return true
		}
	}
	return false
}
