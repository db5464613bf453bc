package prooftest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/gateway"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sourcecontrol"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/users"
)

// ScanItems reads a whole DynamoDB table as envelopes, expired items
// included: the suites' way to see everything after a fault or a crash.
// No request path scans.
func ScanItems(ctx context.Context, client *dynamodb.Client, table string, schema storage.Schema) ([]storage.Item, error) {
	var out []storage.Item
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, attrs := range page.Items {
			it, err := itemOf(attrs, schema)
			if err != nil {
				return nil, err
			}
			out = append(out, it)
		}
	}
	return out, nil
}

func itemOf(attrs map[string]types.AttributeValue, schema storage.Schema) (storage.Item, error) {
	str := func(name string) string {
		if v, ok := attrs[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	num := func(name string) (int64, error) {
		v, ok := attrs[name].(*types.AttributeValueMemberN)
		if !ok {
			return 0, nil
		}
		return strconv.ParseInt(v.Value, 10, 64)
	}
	it := storage.Item{Key: storage.Key{PK: str(schema.PK), SK: str(schema.SK)}, Type: str(storage.AttrType)}
	var err error
	if it.Version, err = num(storage.AttrVersion); err != nil {
		return it, fmt.Errorf("item %s: version: %w", it.Key, err)
	}
	expires, err := num(schema.TTL)
	if err != nil {
		return it, fmt.Errorf("item %s: expiry: %w", it.Key, err)
	}
	if expires != 0 {
		it.ExpiresAt = time.Unix(expires, 0).UTC()
	}
	if d := str(storage.AttrData); d != "" {
		it.Data = []byte(d)
	}
	for name, k := range schema.Indexes {
		if pk, sk := str(k.PK), str(k.SK); pk != "" && sk != "" {
			if it.Index == nil {
				it.Index = map[string]storage.Key{}
			}
			it.Index[name] = storage.Key{PK: pk, SK: sk}
		}
	}
	return it, nil
}

// DynamoDBHub is the hub's functions on a fresh DynamoDB Local table, behind
// the gateway stand-in: the functions' client sends its requests through
// transport (a fault injector), while the authorizer's and the suite's own
// client (Clean) reach DynamoDB Local directly, as separate Lambdas would.
type DynamoDBHub struct {
	*Hub
	Clean  *dynamodb.Client
	Table  string
	Schema storage.Schema

	// Functions are the functions' dependencies (their table is the one
	// whose client goes through the transport).
	Functions *app.Deps

	endpoint    string
	transport   http.RoundTripper
	maxAttempts int
	base        app.Deps
	settings    dynamoSettings
}

// DynamoDBOption adjusts OpenDynamoDB.
type DynamoDBOption func(*dynamoSettings)

type dynamoSettings struct {
	functions, authorizer []func(*dynamodb.Options)
}

// WithFunctionClient adjusts the functions' DynamoDB client (add SDK
// middleware, say).
func WithFunctionClient(fn func(*dynamodb.Options)) DynamoDBOption {
	return func(s *dynamoSettings) { s.functions = append(s.functions, fn) }
}

// WithAuthorizerClient adjusts the authorizer's DynamoDB client.
func WithAuthorizerClient(fn func(*dynamodb.Options)) DynamoDBOption {
	return func(s *dynamoSettings) { s.authorizer = append(s.authorizer, fn) }
}

// OpenDynamoDB builds a DynamoDBHub on the DynamoDB Local at endpoint. The
// functions' client makes at most maxAttempts attempts per call.
func OpenDynamoDB(t testing.TB, endpoint string, transport http.RoundTripper, maxAttempts int, opts ...DynamoDBOption) *DynamoDBHub {
	t.Helper()
	ctx := context.Background()
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	clean, err := dynamo.NewClient(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	name := "proof-" + strings.ToLower(ids.New())
	if err := dynamo.CreateTable(ctx, clean, name, tm.Table.Schema, tm.Table.StreamView); err != nil {
		t.Fatal(err)
	}
	// DynamoDB Local keeps every table in its memory, shared by the test
	// binary.
	t.Cleanup(func() {
		_, _ = clean.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	h := &DynamoDBHub{
		Clean: clean, Table: name, Schema: tm.Table.Schema,
		endpoint: endpoint, transport: transport, maxAttempts: maxAttempts,
		base: app.Deps{
			Schema: tm.Table.Schema, Keys: keyring, Links: users.Links{Base: "https://hub.test"},
			LogOutput: io.Discard, Hashing: FastHashing,
		},
	}
	for _, opt := range opts {
		opt(&h.settings)
	}
	github := githubEnv(t)
	if h.base.SourceControl, err = sourcecontrol.FromEnv(func(k string) string { return github[k] }); err != nil {
		t.Fatal(err)
	}
	h.Hub = &Hub{t: t}
	h.Reconnect()
	return h
}

// Reconnect gives the functions a new DynamoDB client (through the same
// transport), as a new Lambda execution environment has: a new SDK retry
// quota, which a client spends on the retries of failing calls and earns
// back only on successes.
func (h *DynamoDBHub) Reconnect() {
	t := h.t
	t.Helper()
	faulty, err := dynamo.NewClient(context.Background(), h.endpoint,
		dynamo.WithHTTPClient(&http.Client{Transport: h.transport}),
		dynamo.WithRetries(h.maxAttempts, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.settings.functions) > 0 {
		faulty = dynamodb.New(faulty.Options(), h.settings.functions...)
	}
	authorizerClient := h.Clean
	if len(h.settings.authorizer) > 0 {
		authorizerClient = dynamodb.New(h.Clean.Options(), h.settings.authorizer...)
	}
	authorizerDeps, functionDeps := h.base, h.base
	authorizerDeps.Table = dynamo.New(authorizerClient, h.Table, h.Schema)
	functionDeps.Table = dynamo.New(faulty, h.Table, h.Schema)
	h.Functions = &functionDeps

	cfg := gateway.Config{Functions: map[string]gateway.Handler{}, Authorizer: authorizerDeps.Authorizer().Handle,
		IdentityHeaders: []string{"Authorization"}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	routes := Routes(t, &functionDeps)
	for _, r := range routes {
		if _, ok := cfg.Functions[r.Function]; !ok {
			fn, err := functionDeps.HTTPHandler(r.Function)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Functions[r.Function] = fn
		}
		cfg.Routes = append(cfg.Routes, gateway.Route{Method: r.Method, Path: r.Path, Function: r.Function, Public: r.Public})
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Organizations are made with the clean client (Deps): the operator is
	// not under test.
	h.Hub.Deps, h.Hub.Handler, h.Hub.routes = &authorizerDeps, g, routes
}

// Scan reads the whole table with the clean client.
func (h *DynamoDBHub) Scan() []storage.Item {
	h.t.Helper()
	items, err := ScanItems(context.Background(), h.Clean, h.Table, h.Schema)
	if err != nil {
		h.t.Fatal(err)
	}
	return items
}
