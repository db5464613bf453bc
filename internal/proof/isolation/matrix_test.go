// Package isolation_test is the isolation matrix: for every route the hub
// serves (read from internal/app, never listed by hand), every kind of
// caller of one organization addresses another organization's resources by
// id, through the API Gateway stand-in and the real authorizer. Each cell
// must be refused (401, 403 or 404), look exactly like a request for an id
// that does not exist, show none of the other organization's data, and
// write nothing.
package isolation_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
)

// world is what the matrix runs against: a gateway (the real one, or the
// suite's own leaky one), its routes and two organizations.
type world struct {
	do       func(prooftest.Request) prooftest.Response
	routes   []prooftest.Route
	attacker *prooftest.Org
	victim   *prooftest.Org
	snapshot func(t *testing.T) prooftest.Snapshot
	// newOwner makes a fresh organization whose own request shows that a
	// route's filled path and body are ones the route accepts (the
	// control); nil skips the control.
	newOwner func() *prooftest.Org
}

// cell is one caller on one route.
type cell struct {
	route   prooftest.Route
	caller  string
	path    string
	got     string // status (and problem code) for the victim's ids
	control string // the same for fresh ids nobody has
	// findings are the isolation failures of the cell.
	findings []string
}

// row is what the matrix did with one route.
type row struct {
	route prooftest.Route
	// kind: "by id" (a path parameter or body field names a resource),
	// "list" (a GET that names none: checked for leaks), "public" or
	// "names nothing" (a write without ids: not a matrix row).
	kind  string
	owner string // the owner's answer to the same request on its own data
	cells []cell
}

// refused are the answers a cell may give: not authenticated, not theirs,
// or not found.
var refused = []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}

func (w *world) run(t *testing.T) []row {
	t.Helper()
	var rows []row
	for _, route := range w.routes {
		rows = append(rows, w.runRoute(t, route))
	}
	return rows
}

func (w *world) runRoute(t *testing.T, route prooftest.Route) row {
	t.Helper()
	r := row{route: route}
	if route.Public {
		r.kind = "public"
		return r
	}
	sample, owner := w.ownerSample(route)
	r.owner = owner
	controlPath := prooftest.FillPath(route.Path, nil, true)
	var attackBody, controlBody []byte
	var bodyIDs []string
	if sample != nil {
		b, addressed := prooftest.Fill(sample, w.victim, w.attacker.Domain())
		attackBody, bodyIDs = prooftest.JSONBody(b), addressed
		c, _ := prooftest.Fill(sample, nil, w.attacker.Domain())
		controlBody = prooftest.JSONBody(c)
	}
	first := prooftest.FillPath(route.Path, w.victim, false)
	switch {
	case first.Addressed || len(bodyIDs) > 0:
		r.kind = "by id"
		if len(first.Invented) > 0 {
			r.kind += " (invented " + strings.Join(first.Invented, ", ") + ")"
		}
		// Every resource of the collection the path addresses: an active
		// user and an invited one, a draft and a published integration...
		for n := range prooftest.Choices(route.Path, w.victim) {
			attackPath := prooftest.FillPathNth(route.Path, w.victim, false, n)
			for _, caller := range w.attacker.Callers() {
				r.cells = append(r.cells, w.byID(t, route, caller, attackPath, attackBody, bodyIDs, controlPath.Path, controlBody))
			}
		}
	case route.Method == http.MethodGet:
		r.kind = "list"
		own := prooftest.FillPath(route.Path, w.attacker, false).Path
		for _, caller := range w.attacker.Callers() {
			r.cells = append(r.cells, w.list(t, route, caller, own))
		}
	default:
		r.kind = "names nothing"
	}
	return r
}

// ownerSample picks the body a route's owner request succeeds with, among
// the samples of events/ filled with the owner's own ids, and reports the
// owner's answer: the control that the filled paths and bodies are ones
// the route accepts, so that the attacker's 404 means isolation and not a
// malformed request. A GET's owner is the victim itself (it changes
// nothing); any other route's a fresh organization.
func (w *world) ownerSample(route prooftest.Route) (map[string]any, string) {
	if w.newOwner == nil {
		samples := prooftest.Samples(route.Key())
		if route.HasBody() && len(samples) > 0 {
			return samples[0], "not checked"
		}
		return nil, "not checked"
	}
	owner := w.victim
	if route.Method != http.MethodGet {
		owner = w.newOwner()
	}
	acc, tried, ok := prooftest.FindAccepted(w.do, route, owner)
	if !ok {
		return acc.Sample, "none succeeded: " + strings.Join(tried, ", ")
	}
	return acc.Sample, acc.Response.Summary() + " as " + string(owner.Callers()[acc.Caller].Kind)
}

func (w *world) etag(path string, caller prooftest.Credential) string {
	return prooftest.IfMatchFor(w.do, path, caller)
}

// byID is one caller of the attacker addressing the victim's resources.
// A 400 is a refusal too when it names a body field that carries an id
// ("integration_id"): an unknown id in a body is an invalid input.
func (w *world) byID(t *testing.T, route prooftest.Route, caller prooftest.Credential, attack prooftest.PathFill, body []byte, bodyIDs []string, controlPath string, controlBody []byte) cell {
	t.Helper()
	c := cell{route: route, caller: caller.Name, path: attack.Path}
	ifMatch := ""
	if route.Method != http.MethodGet {
		ifMatch = w.etag(attack.Path, caller)
	}
	before := w.snapshot(t)
	resp := w.do(prooftest.Request{Method: route.Method, Path: attack.Path, Caller: caller, Body: body, IfMatch: ifMatch})
	after := w.snapshot(t)
	control := w.do(prooftest.Request{Method: route.Method, Path: controlPath, Caller: caller, Body: controlBody, IfMatch: ifMatch})
	c.got, c.control = resp.Summary(), control.Summary()

	refusedInBody := resp.Status == http.StatusBadRequest && resp.IsProblem && slices.Contains(bodyIDs, resp.Problem.Field)
	if !slices.Contains(refused, resp.Status) && !refusedInBody {
		c.findings = append(c.findings, fmt.Sprintf("answered %s, want 401, 403 or 404", c.got))
	}
	if resp.Status >= 400 && resp.Status != http.StatusUnauthorized && resp.Status != http.StatusForbidden && !resp.IsProblem {
		c.findings = append(c.findings, "refused without a problem document")
	}
	if c.got != c.control || resp.Problem.Field != control.Problem.Field {
		c.findings = append(c.findings, fmt.Sprintf("answered %s (field %q) for the other organization's ids but %s (field %q) for ids nobody has: the answer tells that they exist",
			c.got, resp.Problem.Field, c.control, control.Problem.Field))
	}
	if leaked := leaks(resp.Body, w.victim, append(attack.IDs, idsIn(body)...)); len(leaked) > 0 {
		c.findings = append(c.findings, "the answer holds the other organization's "+strings.Join(leaked, ", "))
	}
	if changes := prooftest.WithoutKeyUse(prooftest.Diff(before, after), w.attacker.ID, w.attacker.APIKey.Subject); len(changes) > 0 {
		c.findings = append(c.findings, "wrote: "+prooftest.Describe(changes))
	}
	return c
}

// list is one caller of the attacker on a GET that names no resource: its
// answer, and its answer to a cursor the victim's list issued, must hold
// none of the victim's data.
func (w *world) list(t *testing.T, route prooftest.Route, caller prooftest.Credential, path string) cell {
	t.Helper()
	c := cell{route: route, caller: caller.Name, path: path}
	before := w.snapshot(t)
	resp := w.do(prooftest.Request{Method: http.MethodGet, Path: path, Caller: caller})
	c.got = resp.Summary()
	if resp.Status >= 500 {
		c.findings = append(c.findings, "answered "+c.got)
	}
	if leaked := leaks(resp.Body, w.victim, nil); len(leaked) > 0 {
		c.findings = append(c.findings, "the answer holds the other organization's "+strings.Join(leaked, ", "))
	}
	if cursor := w.victimCursor(route, caller.Kind); cursor != "" {
		replay := w.do(prooftest.Request{Method: http.MethodGet, Path: withQuery(path, "limit=1&cursor="+cursor), Caller: caller})
		c.control = "cursor " + replay.Summary()
		if replay.Status < 400 || replay.Status >= 500 {
			c.findings = append(c.findings, "accepted the other organization's cursor: "+replay.Summary())
		}
		if leaked := leaks(replay.Body, w.victim, nil); len(leaked) > 0 {
			c.findings = append(c.findings, "the answer to the other organization's cursor holds its "+strings.Join(leaked, ", "))
		}
	}
	if changes := prooftest.WithoutKeyUse(prooftest.Diff(before, w.snapshot(t)), w.attacker.ID, w.attacker.APIKey.Subject); len(changes) > 0 {
		c.findings = append(c.findings, "wrote: "+prooftest.Describe(changes))
	}
	return c
}

// victimCursor is a next-page cursor of the route's list as the victim's
// caller of the same kind gets it, or "".
func (w *world) victimCursor(route prooftest.Route, kind principal.Kind) string {
	for _, vc := range w.victim.Callers() {
		if vc.Kind != kind {
			continue
		}
		path := prooftest.FillPath(route.Path, w.victim, false).Path
		resp := w.do(prooftest.Request{Method: http.MethodGet, Path: withQuery(path, "limit=1"), Caller: vc})
		if resp.Status == http.StatusOK {
			return resp.Field("next_cursor")
		}
	}
	return ""
}

func withQuery(path, query string) string {
	if strings.Contains(path, "?") {
		return path + "&" + query
	}
	return path + "?" + query
}

// leaks lists the victim's identifiers found in body, except those the
// request itself sent (an answer may echo the id it was asked for).
func leaks(body []byte, victim *prooftest.Org, sent []string) []string {
	var out []string
	for _, id := range victim.Identifiers() {
		if id == "" || slices.Contains(sent, id) {
			continue
		}
		if strings.Contains(string(body), id) {
			out = append(out, id)
		}
	}
	return out
}

// idsIn are the string values of a JSON body.
func idsIn(body []byte) []string {
	var out []string
	for _, f := range strings.FieldsFunc(string(body), func(r rune) bool { return r == '"' }) {
		out = append(out, f)
	}
	return out
}

// findings are every failing cell, one line each.
func findings(rows []row) []string {
	var out []string
	for _, r := range rows {
		for _, c := range r.cells {
			for _, f := range c.findings {
				out = append(out, fmt.Sprintf("%s %s as %s (%s): %s", r.route.Function, r.route.Key(), c.caller, c.path, f))
			}
		}
	}
	return out
}

// table is the matrix as the test log shows it.
func table(rows []row) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-16s %-44s %-14s owner: %s\n", r.route.Function, r.route.Key(), r.kind, r.owner)
		for _, c := range r.cells {
			status := "ok"
			if len(c.findings) > 0 {
				status = "FAIL"
			}
			fmt.Fprintf(&b, "    %-4s %-44s %-28s control %s\n", status, c.caller, c.got, c.control)
		}
	}
	return b.String()
}
