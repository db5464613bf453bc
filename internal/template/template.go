// Package template reads the SAM template (template.yaml), the one source of
// the table's schema, the functions and their routes. Tests create the
// DynamoDB Local table from it, the local stack routes by it, and a test
// checks it against the routes the code serves.
package template

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	hub "github.com/integration-hub/hub"
	"github.com/integration-hub/hub/internal/storage"
)

// FileName is the template's name at the repository root.
const FileName = "template.yaml"

// Template is what the hub's code needs to know of template.yaml.
type Template struct {
	Table     Table
	Functions []Function
	// Authorizer is the logical id of the HTTP API's default authorizer's
	// function, or "" when the API has none.
	Authorizer string
	// AuthorizerCacheSeconds is the default authorizer's result TTL.
	AuthorizerCacheSeconds int
	// DefaultAuthorizer is the name of the HTTP API's default authorizer
	// (Auth.DefaultAuthorizer), or "" when the API has none.
	DefaultAuthorizer string
	// Authorizers are the HTTP API's Lambda authorizers by name
	// (Auth.Authorizers).
	Authorizers map[string]Authorizer
}

// Authorizer is one Lambda authorizer of the HTTP API.
type Authorizer struct {
	Name string
	// Function is the logical id of the authorizer's function.
	Function string
	// IdentityHeaders and IdentityQueryStrings are its identity source
	// (Identity.Headers, Identity.QueryStrings): API Gateway answers 401
	// without calling the authorizer when one of them is missing. None: it
	// is always called.
	IdentityHeaders      []string
	IdentityQueryStrings []string
	// CacheSeconds is its result TTL (Identity.ReauthorizeEvery, else API
	// Gateway's 300).
	CacheSeconds int
}

// Table is the DynamoDB table resource.
type Table struct {
	LogicalID string
	Schema    storage.Schema
	// StreamView is the StreamSpecification's StreamViewType.
	StreamView string
	// EventFilter is the notifier's stream event filter pattern (JSON).
	EventFilter string
}

// Function is one AWS::Serverless::Function.
type Function struct {
	LogicalID string
	// Name is the folder under functions/ (from CodeUri).
	Name   string
	Routes []Route
	// Policies are the SAM policy template names the function is granted
	// ("Statement" for an inline policy).
	Policies []string
	// Actions are the IAM actions its inline policy statements allow.
	Actions []string

	streamFilters []string
}

// Route is an HttpApi event of a function.
type Route struct {
	Method string
	Path   string
	// Public routes have Auth: {Authorizer: NONE}.
	Public bool
	// Authorizer is the name of the route's authorizer: its Auth.Authorizer,
	// else the API's default; "" on a public route.
	Authorizer string
}

// Key is the API Gateway route key, "GET /users/{id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Find walks up from the working directory to the template, so tests in any
// package and the local stack started from the repository find it.
func Find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, FileName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("template: %s not found above the working directory", FileName)
		}
		dir = parent
	}
}

// Load parses the template embedded in the binary (see hub.TemplateYAML):
// the one the code was built with, in Lambda as in tests.
func Load() (*Template, error) { return Parse(hub.TemplateYAML) }

// Parse reads a SAM template. CloudFormation's short-form tags (!Ref, !GetAtt)
// are kept as node tags and never needed here.
func Parse(b []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, errors.New("template: empty document")
	}
	doc := root.Content[0]
	if err := checkIntrinsics(doc); err != nil {
		return nil, err
	}
	resources := child(doc, "Resources")
	if resources == nil {
		return nil, errors.New("template: no Resources")
	}
	t := &Template{}
	var tableFound bool
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		props := child(res, "Properties")
		switch scalar(child(res, "Type")) {
		case "AWS::DynamoDB::Table":
			if tableFound {
				return nil, errors.New("template: more than one table; the hub uses one")
			}
			tableFound = true
			tbl, err := parseTable(id, props)
			if err != nil {
				return nil, err
			}
			t.Table = tbl
		case "AWS::Serverless::Function":
			fn, err := parseFunction(id, props)
			if err != nil {
				return nil, err
			}
			t.Functions = append(t.Functions, fn)
		case "AWS::Serverless::HttpApi":
			if err := t.parseAuth(child(props, "Auth")); err != nil {
				return nil, err
			}
		}
	}
	if !tableFound {
		return nil, errors.New("template: no AWS::DynamoDB::Table")
	}
	if err := t.resolveRouteAuthorizers(); err != nil {
		return nil, err
	}
	for i := range t.Functions {
		for _, ev := range t.Functions[i].streamFilters {
			t.Table.EventFilter = ev
		}
	}
	sort.Slice(t.Functions, func(i, j int) bool { return t.Functions[i].Name < t.Functions[j].Name })
	return t, nil
}

// defaultAuthorizerCacheSeconds is API Gateway's result TTL for a Lambda
// authorizer that sets none.
const defaultAuthorizerCacheSeconds = 300

// lambdaAuthorizerKeys and lambdaIdentityKeys are the properties SAM reads
// of an HttpApi Lambda authorizer and of its Identity; SAM passes nothing
// else on, so another key is a setting that silently does not apply.
var (
	lambdaAuthorizerKeys = []string{"AuthorizerPayloadFormatVersion", "EnableFunctionDefaultPermissions", "EnableSimpleResponses", "FunctionArn", "FunctionInvokeRole", "Identity"}
	lambdaIdentityKeys   = []string{"Context", "Headers", "QueryStrings", "ReauthorizeEvery", "StageVariables"}
)

// onlyKeys refuses a mapping with a key that is not one of keys.
func onlyKeys(n *yaml.Node, what string, keys []string) error {
	if n == nil {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(keys, k) {
			return fmt.Errorf("template: line %d: %s has %s, which SAM does not read (it reads %s)", n.Content[i].Line, what, k, strings.Join(keys, ", "))
		}
	}
	return nil
}

// parseAuth reads the HTTP API's authorizers and its default one.
func (t *Template) parseAuth(auth *yaml.Node) error {
	t.Authorizers = map[string]Authorizer{}
	authorizers := child(auth, "Authorizers")
	for i := 0; authorizers != nil && i+1 < len(authorizers.Content); i += 2 {
		name, a := authorizers.Content[i].Value, authorizers.Content[i+1]
		// FunctionArn: !GetAtt Fn.Arn
		fn, _, _ := strings.Cut(scalar(child(a, "FunctionArn")), ".")
		az := Authorizer{Name: name, Function: fn}
		identity := child(a, "Identity")
		for _, h := range seq(child(identity, "Headers")) {
			az.IdentityHeaders = append(az.IdentityHeaders, scalar(h))
		}
		for _, q := range seq(child(identity, "QueryStrings")) {
			az.IdentityQueryStrings = append(az.IdentityQueryStrings, scalar(q))
		}
		if err := onlyKeys(a, "authorizer "+name, lambdaAuthorizerKeys); err != nil {
			return err
		}
		if err := onlyKeys(identity, "authorizer "+name+" Identity", lambdaIdentityKeys); err != nil {
			return err
		}
		// API Gateway caches a Lambda authorizer's results for 300 s
		// unless told otherwise; SAM tells it through
		// Identity.ReauthorizeEvery, and through nothing else.
		az.CacheSeconds = defaultAuthorizerCacheSeconds
		if ttl := scalar(child(identity, "ReauthorizeEvery")); ttl != "" {
			if _, err := fmt.Sscan(ttl, &az.CacheSeconds); err != nil {
				return fmt.Errorf("template: authorizer %s: Identity.ReauthorizeEvery %q: %w", name, ttl, err)
			}
		}
		if len(az.IdentityHeaders)+len(az.IdentityQueryStrings) == 0 && az.CacheSeconds != 0 {
			return fmt.Errorf("template: authorizer %s has no identity source, so API Gateway cannot cache its results: set Identity.ReauthorizeEvery to 0 (the default is %d s)", name, defaultAuthorizerCacheSeconds)
		}
		t.Authorizers[name] = az
	}
	t.DefaultAuthorizer = scalar(child(auth, "DefaultAuthorizer"))
	if t.DefaultAuthorizer == "" {
		return nil
	}
	def, ok := t.Authorizers[t.DefaultAuthorizer]
	if !ok {
		return fmt.Errorf("template: the default authorizer %s is not declared in Auth.Authorizers", t.DefaultAuthorizer)
	}
	t.Authorizer, t.AuthorizerCacheSeconds = def.Function, def.CacheSeconds
	return nil
}

// resolveRouteAuthorizers gives each protected route its authorizer's name:
// the one it names, else the API's default ("" on an API without one).
func (t *Template) resolveRouteAuthorizers() error {
	for i := range t.Functions {
		for j := range t.Functions[i].Routes {
			r := &t.Functions[i].Routes[j]
			switch {
			case r.Public:
				r.Authorizer = ""
			case r.Authorizer == "":
				r.Authorizer = t.DefaultAuthorizer
			}
			if _, ok := t.Authorizers[r.Authorizer]; r.Authorizer != "" && !ok {
				return fmt.Errorf("template: route %s names authorizer %q, which the HTTP API does not declare", r.Key(), r.Authorizer)
			}
		}
	}
	return nil
}

// Routes are every function's routes by route key ("GET /users/{id}").
func (t *Template) Routes() map[string]Route {
	out := map[string]Route{}
	for _, fn := range t.Functions {
		for _, r := range fn.Routes {
			out[r.Key()] = r
		}
	}
	return out
}

func parseTable(id string, props *yaml.Node) (Table, error) {
	tbl := Table{LogicalID: id, Schema: storage.Schema{Indexes: map[string]storage.Key{}}}
	keys := func(n *yaml.Node) (storage.Key, error) {
		var k storage.Key
		for _, e := range seq(n) {
			switch scalar(child(e, "KeyType")) {
			case "HASH":
				k.PK = scalar(child(e, "AttributeName"))
			case "RANGE":
				k.SK = scalar(child(e, "AttributeName"))
			}
		}
		if k.PK == "" || k.SK == "" {
			return k, errors.New("template: a key schema needs HASH and RANGE string keys")
		}
		return k, nil
	}
	k, err := keys(child(props, "KeySchema"))
	if err != nil {
		return tbl, err
	}
	tbl.Schema.PK, tbl.Schema.SK = k.PK, k.SK
	for _, g := range seq(child(props, "GlobalSecondaryIndexes")) {
		gk, err := keys(child(g, "KeySchema"))
		if err != nil {
			return tbl, err
		}
		if p := scalar(child(child(g, "Projection"), "ProjectionType")); p != "ALL" {
			return tbl, fmt.Errorf("template: index %s projects %s; the storage port reads whole items from indexes, so it must be ALL", scalar(child(g, "IndexName")), p)
		}
		tbl.Schema.Indexes[scalar(child(g, "IndexName"))] = gk
	}
	tbl.Schema.TTL = scalar(child(child(props, "TimeToLiveSpecification"), "AttributeName"))
	if tbl.Schema.TTL == "" {
		return tbl, errors.New("template: the table needs a TimeToLiveSpecification")
	}
	tbl.StreamView = scalar(child(child(props, "StreamSpecification"), "StreamViewType"))
	return tbl, nil
}

func parseFunction(id string, props *yaml.Node) (Function, error) {
	fn := Function{LogicalID: id}
	uri := scalar(child(props, "CodeUri"))
	name, ok := strings.CutPrefix(uri, "functions/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return fn, fmt.Errorf("template: function %s has CodeUri %q; want functions/<name>", id, uri)
	}
	fn.Name = name
	for _, p := range seq(child(props, "Policies")) {
		switch p.Kind {
		case yaml.ScalarNode:
			fn.Policies = append(fn.Policies, p.Value)
		case yaml.MappingNode:
			if len(p.Content) > 0 {
				fn.Policies = append(fn.Policies, p.Content[0].Value)
			}
			for _, st := range seq(child(p, "Statement")) {
				action := child(st, "Action")
				if a := scalar(action); a != "" {
					fn.Actions = append(fn.Actions, a)
				}
				for _, a := range seq(action) {
					fn.Actions = append(fn.Actions, scalar(a))
				}
			}
		}
	}
	events := child(props, "Events")
	for i := 0; events != nil && i+1 < len(events.Content); i += 2 {
		ev := events.Content[i+1]
		ep := child(ev, "Properties")
		switch scalar(child(ev, "Type")) {
		case "HttpApi":
			authorizer := scalar(child(child(ep, "Auth"), "Authorizer"))
			r := Route{
				Method:     strings.ToUpper(scalar(child(ep, "Method"))),
				Path:       scalar(child(ep, "Path")),
				Public:     authorizer == "NONE",
				Authorizer: authorizer,
			}
			if r.Method == "" || r.Path == "" {
				return fn, fmt.Errorf("template: function %s has an HttpApi event without Method and Path", id)
			}
			fn.Routes = append(fn.Routes, r)
		case "DynamoDB":
			for _, f := range seq(child(child(ep, "FilterCriteria"), "Filters")) {
				fn.streamFilters = append(fn.streamFilters, scalar(child(f, "Pattern")))
			}
		}
	}
	return fn, nil
}

// child is the value of key in a mapping node, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func seq(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}
