package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/integration-hub/hub/internal/gateway"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/web"
)

// routeHub is the hub on DynamoDB Local with the functions' and the
// authorizer's DynamoDB calls recorded.
type routeHub struct {
	*prooftest.DynamoDBHub
	functions, authorizer *recorder
	handlers              map[string]gateway.Handler
}

func openRouteHub(tb testing.TB) *routeHub { return openRouteHubOn(tb, testenv.DynamoDBLocal(tb)) }

func openRouteHubOn(tb testing.TB, endpoint string) *routeHub {
	h := &routeHub{functions: &recorder{}, authorizer: &recorder{}, handlers: map[string]gateway.Handler{}}
	h.DynamoDBHub = prooftest.OpenDynamoDB(tb, endpoint, http.DefaultTransport, 5,
		prooftest.WithFunctionClient(h.functions.middleware), prooftest.WithAuthorizerClient(h.authorizer.middleware))
	return h
}

// handler is a function's Lambda handler (its router behind the V2
// adapter), built once.
func (h *routeHub) handler(tb testing.TB, function string) gateway.Handler {
	if fn, ok := h.handlers[function]; ok {
		return fn
	}
	fn, err := h.Functions.HTTPHandler(function)
	if err != nil {
		tb.Fatal(err)
	}
	h.handlers[function] = fn
	return fn
}

// event is the payload 2.0 event API Gateway sends a function for a
// request the authorizer resolved to p.
func event(method, target string, p principal.Principal, ifMatch string, body []byte) events.APIGatewayV2HTTPRequest {
	path, query, _ := strings.Cut(target, "?")
	b, _ := json.Marshal(p.Context())
	var authCtx map[string]any
	_ = json.Unmarshal(b, &authCtx)
	headers := map[string]string{}
	if body != nil {
		headers["content-type"] = "application/json"
	}
	if ifMatch != "" {
		headers["if-match"] = ifMatch
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query, Headers: headers, Body: string(body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: ids.New(), Stage: "$default",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: authCtx},
		},
	}
}

// routeCase is one route's request as a benchmark repeats it.
type routeCase struct {
	route prooftest.Route
	// next is the request of iteration n.
	next   func(n int) events.APIGatewayV2HTTPRequest
	status int
}

// readCases are every GET route the organization's callers can read,
// with the path filled with the organization's own resources.
func (h *routeHub) readCases(b *testing.B, org *prooftest.Org) []routeCase {
	ctx := context.Background()
	var out []routeCase
	for _, r := range h.Routes() {
		if r.Method != http.MethodGet || r.Public {
			continue
		}
		path := prooftest.FillPath(r.Path, org, false).Path
		for _, c := range org.Callers() {
			p := c.Principal()
			ev := event(r.Method, path, p, "", nil)
			resp, err := h.handler(b, r.Function)(ctx, ev)
			if err == nil && resp.StatusCode == http.StatusOK {
				out = append(out, routeCase{route: r, status: http.StatusOK, next: func(int) events.APIGatewayV2HTTPRequest { return ev }})
				break
			}
		}
	}
	return out
}

// writeCases are writes of each shape, each iteration a new one.
func writeCases(h *routeHub, org *prooftest.Org) []routeCase {
	admin := org.Admin.Principal()
	fresh := func(n int) string { return fmt.Sprintf("bench-%d-%s@%s", n, strings.ToLower(ids.New()), org.Domain()) }
	route := func(key string) prooftest.Route {
		for _, r := range h.Routes() {
			if r.Key() == key {
				return r
			}
		}
		return prooftest.Route{}
	}
	// versioned sends each update with the ETag the previous one answered.
	versioned := func(method, path string, body func(n int) any) func(n int) events.APIGatewayV2HTTPRequest {
		etag := h.ETag(path, org.Admin)
		return func(n int) events.APIGatewayV2HTTPRequest {
			ev := event(method, path, admin, etag, prooftest.JSONBody(body(n)))
			etag = web.ETag(etagVersion(etag) + 1)
			return ev
		}
	}
	cases := []routeCase{
		{route("POST /users"), func(n int) events.APIGatewayV2HTTPRequest {
			return event("POST", "/users", admin, "", prooftest.JSONBody(map[string]string{"email": fresh(n)}))
		}, http.StatusCreated},
		{route("PATCH /company"), versioned("PATCH", "/company", func(n int) any { return map[string]string{"name": fmt.Sprintf("Acme %d", n)} }), http.StatusOK},
		{route("PUT /notifications"), versioned("PUT", "/notifications", func(n int) any {
			return map[string]any{"events": []map[string]any{{"name": "run.failed", "enabled": true, "addresses": []string{fresh(n)}}}}
		}), http.StatusOK},
		{route("POST /integrations"), func(n int) events.APIGatewayV2HTTPRequest {
			return event("POST", "/integrations", admin, "", prooftest.JSONBody(map[string]any{"name": fmt.Sprintf("Integration %d", n)}))
		}, http.StatusCreated},
		{route("POST /api-keys"), func(n int) events.APIGatewayV2HTTPRequest {
			return event("POST", "/api-keys", admin, "", []byte(`{"name":"bench","scopes":["tenants:read"]}`))
		}, http.StatusCreated},
		{route("POST /v2/tenants"), func(n int) events.APIGatewayV2HTTPRequest {
			return event("POST", "/v2/tenants", admin, "", prooftest.JSONBody(map[string]any{"integration_id": org.Resource(prooftest.Integrations), "end_user_id": fmt.Sprintf("bench-%d", n)}))
		}, http.StatusCreated},
	}
	var out []routeCase
	for _, c := range cases {
		if c.route.Path != "" {
			out = append(out, c)
		}
	}
	return out
}

// BenchmarkRoute runs each route's handler through the API Gateway V2
// adapter against DynamoDB Local (handler), next to the DynamoDB calls that
// one request of it makes, replayed with the bare client (bare): a read's
// calls as they were, a write's with its keys made fresh, so that each
// replay writes new items under the same conditions. The ratio of the
// medians (p50-ns to bare-p50-ns) is the hub's own cost (goal: at most
// 1.25).
func BenchmarkRoute(b *testing.B) {
	h := openRouteHub(b)
	org := h.NewOrg(principal.Standard)
	ctx := context.Background()
	cases := append(h.readCases(b, org), writeCases(h, org)...)
	for _, c := range cases {
		fn := h.handler(b, c.route.Function)
		h.functions.take()
		resp, err := fn(ctx, c.next(-1))
		calls := h.functions.take()
		if err != nil || resp.StatusCode != c.status {
			b.Fatalf("%s: %d %s, %v", c.route.Key(), resp.StatusCode, resp.Body, err)
		}
		name := "route=" + c.route.Key()
		if c.route.Method == http.MethodGet {
			warmUp(b, fn, c.next(-1))
		}
		// The handler and its bare calls take turns, in alternating
		// order, so that DynamoDB Local's drift (its JIT, its collector)
		// falls on both alike.
		b.Run(name+"/handler", func(b *testing.B) {
			var ts, bare timings
			n := 0
			for b.Loop() {
				n++
				for turn := range 2 {
					if (turn+n)%2 == 0 {
						ev := c.next(n)
						start := time.Now()
						resp, err := fn(ctx, ev)
						ts = append(ts, time.Since(start))
						if err != nil || resp.StatusCode != c.status {
							b.Fatalf("%d %s, %v", resp.StatusCode, resp.Body, err)
						}
						continue
					}
					prepared := make([]func() error, len(calls))
					for i, cl := range calls {
						var err error
						if prepared[i], err = prepareReplay(ctx, h.Clean, h.Schema.PK, h.keyAttributes(), cl, n); err != nil {
							b.Fatal(err)
						}
					}
					start := time.Now()
					for _, call := range prepared {
						if err := call(); err != nil {
							b.Fatal(err)
						}
					}
					bare = append(bare, time.Since(start))
				}
			}
			h.functions.take()
			reportMedian(b, ts)
			b.ReportMetric(float64(bare.p50().Nanoseconds()), "bare-p50-ns")
			b.ReportMetric(float64(len(calls)), "ddb-calls")
		})
	}
}

func (h *routeHub) keyAttributes() []string {
	out := []string{h.Schema.PK, h.Schema.SK}
	for _, k := range h.Schema.Indexes {
		out = append(out, k.PK, k.SK)
	}
	return out
}

// prepareReplay readies one recorded call to be made again with the bare
// client, and returns the call. A write's key attributes get a prefix of
// their own, so that it lands on new items; an item its condition expects
// (a version, or any item) is written there first, untimed, so the
// condition holds as it did for the handler and the write is as costly (a
// failed condition would skip the write and its stream record). A call it
// has no bare form of is an error: a baseline that skipped it would make
// the route look slower than it is.
func prepareReplay(ctx context.Context, client *dynamodb.Client, pkAttr string, keyAttrs []string, c call, n int) (func() error, error) {
	prefix := fmt.Sprintf("BARE#%d#%s#", n, ids.New())
	fresh := func(attrs map[string]types.AttributeValue) map[string]types.AttributeValue {
		out := make(map[string]types.AttributeValue, len(attrs))
		for k, v := range attrs {
			out[k] = v
		}
		for _, k := range keyAttrs {
			if s, ok := attrs[k].(*types.AttributeValueMemberS); ok {
				out[k] = &types.AttributeValueMemberS{Value: prefix + s.Value}
			}
		}
		return out
	}
	var seeds []map[string]types.AttributeValue
	// expect seeds the item a condition on item (fresh attributes, with at
	// least the key) requires to exist.
	expect := func(cond *string, values map[string]types.AttributeValue, item map[string]types.AttributeValue) {
		if cond == nil || !strings.Contains(*cond, "attribute_exists") {
			return
		}
		seed := make(map[string]types.AttributeValue, len(item)+1)
		for k, v := range item {
			seed[k] = v
		}
		if v, ok := values[":ver"]; ok {
			seed[storage.AttrVersion] = v
		}
		seeds = append(seeds, seed)
	}
	var run func() error
	switch in := c.params.(type) {
	case *dynamodb.GetItemInput:
		run = func() error { _, _ = client.GetItem(ctx, in); return nil }
	case *dynamodb.BatchGetItemInput:
		run = func() error { _, _ = client.BatchGetItem(ctx, in); return nil }
	case *dynamodb.QueryInput:
		run = func() error { _, _ = client.Query(ctx, in); return nil }
	case *dynamodb.PutItemInput:
		cp := *in
		cp.Item = fresh(in.Item)
		expect(in.ConditionExpression, in.ExpressionAttributeValues, cp.Item)
		run = func() error { _, _ = client.PutItem(ctx, &cp); return nil }
	case *dynamodb.DeleteItemInput:
		cp := *in
		cp.Key = fresh(in.Key)
		expect(in.ConditionExpression, in.ExpressionAttributeValues, cp.Key)
		run = func() error { _, _ = client.DeleteItem(ctx, &cp); return nil }
	case *dynamodb.TransactWriteItemsInput:
		cp := &dynamodb.TransactWriteItemsInput{}
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				p := *it.Put
				p.Item = fresh(it.Put.Item)
				expect(p.ConditionExpression, p.ExpressionAttributeValues, p.Item)
				it.Put = &p
			case it.Delete != nil:
				d := *it.Delete
				d.Key = fresh(it.Delete.Key)
				expect(d.ConditionExpression, d.ExpressionAttributeValues, d.Key)
				it.Delete = &d
			case it.ConditionCheck != nil:
				cc := *it.ConditionCheck
				cc.Key = fresh(it.ConditionCheck.Key)
				expect(cc.ConditionExpression, cc.ExpressionAttributeValues, cc.Key)
				it.ConditionCheck = &cc
			case it.Update != nil:
				u := *it.Update
				u.Key = fresh(it.Update.Key)
				it.Update = &u
			}
			cp.TransactItems = append(cp.TransactItems, it)
		}
		run = func() error { _, _ = client.TransactWriteItems(ctx, cp); return nil }
	default:
		return nil, fmt.Errorf("replay: no bare form of %T", in)
	}
	table := tableOf(c.params)
	for _, seed := range seeds {
		if _, ok := seed[pkAttr]; !ok {
			continue
		}
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: seed}); err != nil {
			return nil, fmt.Errorf("replay: seed the item a condition expects: %w", err)
		}
	}
	return run, nil
}

// tableOf is the table a recorded write addresses.
func tableOf(params any) *string {
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		return in.TableName
	case *dynamodb.DeleteItemInput:
		return in.TableName
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				return it.Put.TableName
			case it.Delete != nil:
				return it.Delete.TableName
			case it.ConditionCheck != nil:
				return it.ConditionCheck.TableName
			}
		}
	}
	return nil
}

// callsRow is one route's line of the DynamoDB calls table.
type callsRow struct {
	Function string `json:"function"`
	Route    string `json:"route"`
	// Measured: an accepted request was found and counted.
	Measured bool `json:"measured"`
	Status   int  `json:"status,omitempty"`
	// Calls are the function's DynamoDB calls, in order.
	Calls           []string `json:"calls"`
	AuthorizerCalls int      `json:"authorizer_calls"`
	Note            string   `json:"note,omitempty"`
}

// TestReportDynamoDBCallsPerRoute counts, with SDK middleware, the
// DynamoDB calls of an accepted request of every route (through the gateway
// and the authorizer, on DynamoDB Local), found as the isolation matrix
// finds its owner's request: the route's samples of events/, on a fresh
// organization, as each of its callers. A route whose accepted request
// needs earlier steps (the Source Control callback a sign-in, disconnecting
// a connection) gets them from FindAccepted through do; only the last
// request, the one measured, is counted.
func TestReportDynamoDBCallsPerRoute(t *testing.T) {
	out := needReport(t, "calls.json")
	h := openRouteHub(t)
	var rows []callsRow
	for _, r := range h.Routes() {
		row := callsRow{Function: r.Function, Route: r.Key(), Calls: []string{}}
		owner := h.NewOrg(principal.Standard)
		var last, lastAuth []call
		do := func(req prooftest.Request) prooftest.Response {
			h.functions.take()
			h.authorizer.take()
			resp := h.Do(req)
			last, lastAuth = h.functions.take(), h.authorizer.take()
			return resp
		}
		var first []map[string]any
		if body := h.PublicBody(r, owner); body != nil {
			first = append(first, body)
		}
		acc, tried, ok := prooftest.FindAccepted(do, r, owner, first...)
		if ok {
			row.Measured, row.Status = true, acc.Response.Status
			for _, c := range last {
				row.Calls = append(row.Calls, c.op)
			}
			row.AuthorizerCalls = len(lastAuth)
		} else {
			row.Note = "no accepted request: " + strings.Join(tried, ", ")
		}
		rows = append(rows, row)
		t.Logf("%-16s %-44s %v authorizer %d %s", row.Function, row.Route, row.Calls, row.AuthorizerCalls, row.Note)
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// etagVersion reads the version of an ETag ("v12").
func etagVersion(etag string) int64 {
	var v int64
	_, _ = fmt.Sscanf(strings.Trim(etag, `"`), "v%d", &v)
	return v
}
