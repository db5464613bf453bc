package bench_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/integration-hub/hub/internal/emulators"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/users"
)

// attributes is an envelope as the DynamoDB adapter stores it.
func attributes(it storage.Item, schema storage.Schema) map[string]types.AttributeValue {
	attrs := map[string]types.AttributeValue{
		schema.PK:           &types.AttributeValueMemberS{Value: it.PK},
		schema.SK:           &types.AttributeValueMemberS{Value: it.SK},
		storage.AttrType:    &types.AttributeValueMemberS{Value: it.Type},
		storage.AttrVersion: &types.AttributeValueMemberN{Value: strconv.FormatInt(it.Version, 10)},
	}
	if len(it.Data) > 0 {
		attrs[storage.AttrData] = &types.AttributeValueMemberS{Value: string(it.Data)}
	}
	for name, k := range it.Index {
		a := schema.Indexes[name]
		attrs[a.PK] = &types.AttributeValueMemberS{Value: k.PK}
		attrs[a.SK] = &types.AttributeValueMemberS{Value: k.SK}
	}
	return attrs
}

// seedUsers writes n active hub users of org straight into the table, 25
// to a BatchWriteItem, from eight writers: only the listing is measured.
func seedUsers(b *testing.B, h *routeHub, org string, n int) {
	ctx := context.Background()
	now := time.Now().UTC()
	work := make(chan []types.WriteRequest)
	var wg sync.WaitGroup
	var failed error
	var mu sync.Mutex
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				pending := map[string][]types.WriteRequest{h.Table: batch}
				for len(pending) > 0 {
					out, err := h.Clean.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
					if err != nil {
						mu.Lock()
						failed = err
						mu.Unlock()
						break
					}
					pending = out.UnprocessedItems
				}
			}
		}()
	}
	batch := make([]types.WriteRequest, 0, 25)
	for i := range n {
		u := users.User{ID: ids.At(now), Org: org, Email: fmt.Sprintf("user%07d@scale.test", i), Name: fmt.Sprintf("User %07d", i),
			Role: users.RoleHubUser, Status: users.Active, CreatedAt: now}
		it, err := u.Item(1)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: attributes(it, h.Schema)}})
		if len(batch) == 25 {
			work <- batch
			batch = make([]types.WriteRequest, 0, 25)
		}
	}
	if len(batch) > 0 {
		work <- batch
	}
	close(work)
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
}

// BenchmarkListPage lists a page of 50 users (by email and by name) of an
// organization with 100 and with 100,000 users, through the users
// function's handler on DynamoDB Local: a page is one Query on an index,
// whatever the partition holds (goal: the ratio of the medians at most
// 1.2). It also counts the DynamoDB calls of the marketplace catalog of an
// organization with 1,000 integrations for an end-user with 100 tenants
// (goal: two queries).
func BenchmarkListPage(b *testing.B) {
	// A DynamoDB Local of its own: 100,000 items (and their stream
	// records) on top of the other benchmarks' would fill the emulator's
	// 512 MB heap and measure its garbage collector.
	ddb, err := emulators.StartDynamoDBLocal()
	if err != nil {
		testenv.DynamoDBLocal(b) // skips, or fails in CI, as every emulator test does
		b.Fatal(err)
	}
	b.Cleanup(ddb.Stop)
	h := openRouteHubOn(b, ddb.Endpoint)
	ctx := context.Background()
	fn := h.handler(b, "users")
	// Both organizations are seeded, and every request warmed up, before
	// anything is measured, so neither size runs on a colder emulator.
	type list struct {
		name  string
		ev    events.APIGatewayV2HTTPRequest
		calls []call
	}
	var lists []list
	for _, size := range []int{100, 100_000} {
		org := h.NewOrg(principal.Standard)
		seedUsers(b, h, org.ID, size)
		for _, sort := range []string{"email", "name"} {
			lists = append(lists, list{name: fmt.Sprintf("sort=%s/items=%d", sort, size), ev: event("GET", "/users?limit=50&sort="+sort, org.Admin.Principal(), "", nil)})
		}
	}
	for i := range lists {
		h.functions.take()
		resp, err := fn(ctx, lists[i].ev)
		lists[i].calls = h.functions.take()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s, %v", lists[i].name, resp.StatusCode, resp.Body, err)
		}
		warmUp(b, fn, lists[i].ev)
	}
	for _, l := range lists {
		b.Run(l.name, func(b *testing.B) {
			var ts timings
			for b.Loop() {
				start := time.Now()
				if _, err := fn(ctx, l.ev); err != nil {
					b.Fatal(err)
				}
				ts = append(ts, time.Since(start))
			}
			reportMedian(b, ts)
			b.ReportMetric(float64(len(l.calls)), "ddb-calls")
		})
	}

	// The marketplace catalog at scale, through the API.
	org := h.NewOrg(principal.Standard)
	if org.EndUser.Kind == "" {
		return // no marketplace yet
	}
	// NewOrg created a few integrations of its own: the organization is
	// brought to exactly 1,000.
	existing, err := h.Deps.Table.Query(ctx, storage.Query{Index: keys.GSI1, PK: keys.IntegrationsScope(org.ID), Limit: storage.MaxPageSize})
	if err != nil {
		b.Fatal(err)
	}
	var integrations []string
	for i := range 1000 - len(existing.Items) {
		resp := h.MustDo(prooftest.Request{Method: "POST", Path: "/integrations", Caller: org.Admin,
			Body: prooftest.JSONBody(map[string]any{"name": fmt.Sprintf("Scale %04d", i), "published": true})}, http.StatusCreated)
		integrations = append(integrations, resp.Field("id"))
	}
	for _, id := range integrations[:100] {
		h.MustDo(prooftest.Request{Method: "POST", Path: "/marketplace/tenants", Caller: org.EndUser,
			Body: prooftest.JSONBody(map[string]string{"integration_id": id})}, http.StatusCreated)
	}
	mkt := h.handler(b, "marketplace")
	ev := event("GET", "/marketplace/integrations", org.EndUser.Principal(), "", nil)
	h.functions.take()
	resp, err := mkt(ctx, ev)
	calls := h.functions.take()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("catalog: %d %v", resp.StatusCode, err)
	}
	warmUp(b, mkt, ev)
	b.Logf("catalog of 1,000 integrations for an end-user with 100 tenants: %s", names(calls))
	b.Run("catalog/integrations=1000/tenants=100", func(b *testing.B) {
		var ts timings
		for b.Loop() {
			start := time.Now()
			if _, err := mkt(ctx, ev); err != nil {
				b.Fatal(err)
			}
			ts = append(ts, time.Since(start))
		}
		reportMedian(b, ts)
		b.ReportMetric(float64(len(calls)), "ddb-calls")
		queries := 0
		for _, c := range calls {
			if c.op == "Query" {
				queries++
			}
		}
		b.ReportMetric(float64(queries), "ddb-queries")
	})
}

// warmUp sends a request a few times before it is measured: DynamoDB
// Local runs on the JVM, whose first rounds of a query are slower.
func warmUp(b *testing.B, fn func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), ev events.APIGatewayV2HTTPRequest) {
	for range 200 {
		if _, err := fn(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
}
