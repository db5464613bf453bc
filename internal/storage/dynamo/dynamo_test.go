package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/storage/dynamo/dynamofeed"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var tableCounter atomic.Int64

// fixture is a fresh table created from template.yaml.
type fixture struct {
	table     *dynamo.Table
	client    *dynamodb.Client
	streams   *dynamodbstreams.Client
	endpoint  string
	name      string
	streamArn string
	schema    storage.Schema
}

// newFixture creates a table with a name no other test uses and deletes it
// when the test ends.
func newFixture(tb testing.TB) fixture {
	tb.Helper()
	ctx := context.Background()
	endpoint := testenv.DynamoDBLocal(tb)
	tmpl, err := template.Load()
	if err != nil {
		tb.Fatal(err)
	}
	client, err := dynamo.NewClient(ctx, endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	name := fmt.Sprintf("hub-test-%d-%d", time.Now().UnixNano(), tableCounter.Add(1))
	if err := dynamo.CreateTable(ctx, client, name, tmpl.Table.Schema, tmpl.Table.StreamView); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name}); err != nil {
			tb.Errorf("delete table %s: %v", name, err)
		}
	})
	streams, err := dynamofeed.NewClient(ctx, endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	arn, err := dynamo.LatestStreamArn(ctx, client, name)
	if err != nil {
		tb.Fatal(err)
	}
	return fixture{
		table:     dynamo.New(client, name, tmpl.Table.Schema),
		client:    client,
		streams:   streams,
		endpoint:  endpoint,
		name:      name,
		streamArn: arn,
		schema:    tmpl.Table.Schema,
	}
}

// tableWith is the fixture's table behind a client built with opts.
func (f fixture) tableWith(tb testing.TB, opts ...dynamo.ClientOption) *dynamo.Table {
	tb.Helper()
	client, err := dynamo.NewClient(context.Background(), f.endpoint, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return dynamo.New(client, f.name, f.schema)
}

func (f fixture) mustWrite(tb testing.TB, ops ...storage.Op) {
	tb.Helper()
	if err := f.table.Write(context.Background(), ops...); err != nil {
		tb.Fatalf("write: %v", err)
	}
}

func item(pk, sk string, version int64) storage.Item {
	return storage.Item{
		Key:     storage.Key{PK: pk, SK: sk},
		Type:    "thing",
		Version: version,
		Data:    []byte(`{"sk":"` + sk + `"}`),
	}
}

func expired(it storage.Item) storage.Item {
	it.ExpiresAt = time.Now().Add(-time.Hour)
	return it
}

func TestGetRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	want := storage.Item{
		Key:       storage.Key{PK: "ORG#1", SK: "USER#1"},
		Type:      "user",
		Index:     map[string]storage.Key{"GSI1": {PK: "EMAIL#a@example.com", SK: "USER#1"}},
		Version:   7,
		ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Second).UTC(),
		Data:      []byte(`{"name":"Ada"}`),
	}
	f.mustWrite(t, storage.Put(want, storage.Absent()))

	got, err := f.table.Get(ctx, want.Key)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Get = %+v\nwant %+v", got, want)
	}

	if _, err := f.table.Get(ctx, storage.Key{PK: "ORG#1", SK: "USER#2"}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get of a missing key: err = %v, want ErrNotFound", err)
	}
	gone := expired(item("ORG#1", "USER#3", 1))
	f.mustWrite(t, storage.Put(gone, storage.Absent()))
	if _, err := f.table.Get(ctx, gone.Key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get of an expired item: err = %v, want ErrNotFound", err)
	}
}

func TestWriteConditions(t *testing.T) {
	const pk = "ORG#1"
	stored := item(pk, "A", 3)
	tests := []struct {
		name string
		// before is the item on the table before the write, if any.
		before *storage.Item
		op     storage.Op
		// wantFail: the write fails its condition.
		wantFail bool
		// wantAfter is the item after the write, or nil when absent.
		wantAfter *storage.Item
	}{
		{"put absent on nothing", nil, storage.Put(stored, storage.Absent()), false, &stored},
		{"put absent on live", &stored, storage.Put(item(pk, "A", 4), storage.Absent()), true, &stored},
		{"put absent on expired", ptr(expired(stored)), storage.Put(stored, storage.Absent()), false, &stored},
		{"put present on nothing", nil, storage.Put(stored, storage.Present()), true, nil},
		{"put present on live", &stored, storage.Put(item(pk, "A", 4), storage.Present()), false, ptr(item(pk, "A", 4))},
		{"put present on expired", ptr(expired(stored)), storage.Put(stored, storage.Present()), true, nil},
		{"put version on match", &stored, storage.Put(item(pk, "A", 4), storage.VersionIs(3)), false, ptr(item(pk, "A", 4))},
		{"put version on mismatch", &stored, storage.Put(item(pk, "A", 4), storage.VersionIs(2)), true, &stored},
		{"put version on nothing", nil, storage.Put(stored, storage.VersionIs(0)), true, nil},
		{"put version on expired", ptr(expired(stored)), storage.Put(stored, storage.VersionIs(3)), true, nil},
		{"put unconditional on live", &stored, storage.Put(item(pk, "A", 9), storage.Condition{}), false, ptr(item(pk, "A", 9))},
		{"delete present on live", &stored, storage.Delete(stored.Key, storage.Present()), false, nil},
		{"delete present on nothing", nil, storage.Delete(stored.Key, storage.Present()), true, nil},
		{"delete present on expired", ptr(expired(stored)), storage.Delete(stored.Key, storage.Present()), true, nil},
		{"delete version on mismatch", &stored, storage.Delete(stored.Key, storage.VersionIs(4)), true, &stored},
		{"delete unconditional on nothing", nil, storage.Delete(stored.Key, storage.Condition{}), false, nil},
		{"check absent on nothing", nil, storage.Check(stored.Key, storage.Absent()), false, nil},
		{"check absent on live", &stored, storage.Check(stored.Key, storage.Absent()), true, &stored},
		{"check present on live", &stored, storage.Check(stored.Key, storage.Present()), false, &stored},
		{"check version on match", &stored, storage.Check(stored.Key, storage.VersionIs(3)), false, &stored},
		{"check version on expired", ptr(expired(stored)), storage.Check(stored.Key, storage.VersionIs(3)), true, nil},
	}
	f := newFixture(t)
	ctx := context.Background()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case gets its own partition of the shared table.
			casePK := pk + "#" + strconv.Itoa(i)
			rekey := func(it storage.Item) storage.Item { it.PK = casePK; return it }
			op := tc.op
			if op.Kind == storage.OpPut {
				op.Item = rekey(op.Item)
			} else {
				op.Key.PK = casePK
			}
			if tc.before != nil {
				f.mustWrite(t, storage.Put(rekey(*tc.before), storage.Condition{}))
			}

			err := f.table.Write(ctx, op)

			if tc.wantFail {
				var cf *storage.ConditionFailedError
				if !errors.As(err, &cf) {
					t.Fatalf("err = %v, want a *storage.ConditionFailedError", err)
				}
				if cf.Index != 0 || cf.Key != op.Target() || cf.Cond != op.Cond.Kind {
					t.Errorf("ConditionFailedError = %+v, want index 0, key %s, cond %d", cf, op.Target(), op.Cond.Kind)
				}
			} else if err != nil {
				t.Fatalf("err = %v, want success", err)
			}
			got, err := f.table.Get(ctx, op.Target())
			switch {
			case tc.wantAfter == nil && !errors.Is(err, storage.ErrNotFound):
				t.Errorf("after the write: Get = %+v, %v; want ErrNotFound", got, err)
			case tc.wantAfter != nil && err != nil:
				t.Errorf("after the write: Get: %v", err)
			case tc.wantAfter != nil && got.Version != tc.wantAfter.Version:
				t.Errorf("after the write: version %d, want %d", got.Version, tc.wantAfter.Version)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestTransactionNamesTheFailedOperation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	guard := item("EMAIL#a@example.com", "GUARD", 1)
	f.mustWrite(t, storage.Put(guard, storage.Absent()))

	user := item("ORG#1", "USER#1", 1)
	other := item("ORG#1", "USER#2", 1)
	err := f.table.Write(ctx,
		storage.Put(user, storage.Absent()),
		storage.Put(other, storage.Condition{}),
		storage.Put(guard, storage.Absent()),
	)
	if !storage.FailedOn(err, 2) {
		t.Fatalf("err = %v, want a failed condition on operation 2", err)
	}
	var cf *storage.ConditionFailedError
	if errors.As(err, &cf); cf.Key != guard.Key || cf.Cond != storage.CondAbsent {
		t.Errorf("ConditionFailedError = %+v, want the guard's key and CondAbsent", cf)
	}
	for _, k := range []storage.Key{user.Key, other.Key} {
		if _, err := f.table.Get(ctx, k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get %s after a cancelled transaction: err = %v, want ErrNotFound", k, err)
		}
	}

	err = f.table.Write(ctx,
		storage.Put(user, storage.Absent()),
		storage.Check(guard.Key, storage.VersionIs(1)),
		storage.Delete(storage.Key{PK: "ORG#1", SK: "NOTHING"}, storage.Condition{}),
	)
	if err != nil {
		t.Fatalf("transaction whose conditions hold: %v", err)
	}
	if _, err := f.table.Get(ctx, user.Key); err != nil {
		t.Errorf("Get after a committed transaction: %v", err)
	}
}

func TestWriteRejectsMalformedWrites(t *testing.T) {
	f := newFixture(t)
	a := item("ORG#1", "A", 1)
	tooMany := make([]storage.Op, storage.MaxWriteOps+1)
	for i := range tooMany {
		tooMany[i] = storage.Put(item("ORG#1", strconv.Itoa(i), 1), storage.Condition{})
	}
	unknownIndex := a
	unknownIndex.Index = map[string]storage.Key{"NOPE": {PK: "x", SK: "y"}}
	tests := []struct {
		name string
		ops  []storage.Op
	}{
		{"empty", nil},
		{"too many", tooMany},
		{"same key twice", []storage.Op{storage.Put(a, storage.Condition{}), storage.Delete(a.Key, storage.Condition{})}},
		{"check without condition", []storage.Op{storage.Check(a.Key, storage.Condition{})}},
		{"unknown index", []storage.Op{storage.Put(unknownIndex, storage.Condition{})}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.table.Write(context.Background(), tc.ops...); !errors.Is(err, storage.ErrInvalidWrite) {
				t.Errorf("err = %v, want ErrInvalidWrite", err)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	f := newFixture(t)
	const pk = "ORG#1"
	var puts []storage.Op
	for _, sk := range []string{"EVENT#1", "EVENT#2", "EVENT#3", "USER#a", "USER#b", "USER#c", "Z"} {
		it := item(pk, sk, 1)
		it.Index = map[string]storage.Key{"GSI1": {PK: "BYNAME", SK: "N#" + sk}}
		puts = append(puts, storage.Put(it, storage.Condition{}))
	}
	puts = append(puts,
		storage.Put(expired(item(pk, "USER#aa", 1)), storage.Condition{}),
		storage.Put(item("ORG#2", "USER#x", 1), storage.Condition{}),
	)
	f.mustWrite(t, puts...)

	tests := []struct {
		name string
		q    storage.Query
		want []string
	}{
		{"whole partition", storage.Query{PK: pk}, []string{"EVENT#1", "EVENT#2", "EVENT#3", "USER#a", "USER#b", "USER#c", "Z"}},
		{"prefix", storage.Query{PK: pk, Sort: storage.SortPrefix, From: "USER#"}, []string{"USER#a", "USER#b", "USER#c"}},
		{"empty prefix", storage.Query{PK: pk, Sort: storage.SortPrefix}, []string{"EVENT#1", "EVENT#2", "EVENT#3", "USER#a", "USER#b", "USER#c", "Z"}},
		{"prefix descending", storage.Query{PK: pk, Sort: storage.SortPrefix, From: "EVENT#", Descending: true}, []string{"EVENT#3", "EVENT#2", "EVENT#1"}},
		{"between inclusive", storage.Query{PK: pk, Sort: storage.SortBetween, From: "EVENT#2", To: "USER#a"}, []string{"EVENT#2", "EVENT#3", "USER#a"}},
		{"between from the start", storage.Query{PK: pk, Sort: storage.SortBetween, To: "EVENT#2"}, []string{"EVENT#1", "EVENT#2"}},
		{"between reversed bounds", storage.Query{PK: pk, Sort: storage.SortBetween, From: "USER#", To: "EVENT#"}, nil},
		{"empty partition", storage.Query{PK: "ORG#3"}, nil},
		{"index", storage.Query{Index: "GSI1", PK: "BYNAME", Sort: storage.SortPrefix, From: "N#USER#"}, []string{"USER#a", "USER#b", "USER#c"}},
		{"index descending", storage.Query{Index: "GSI1", PK: "BYNAME", Sort: storage.SortBetween, From: "N#EVENT#2", To: "N#USER#a", Descending: true}, []string{"USER#a", "EVENT#3", "EVENT#2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := f.table.Query(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := sortKeys(page.Items); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("items = %v, want %v", got, tc.want)
			}
			if page.Cursor != "" {
				t.Errorf("cursor = %q on the only page", page.Cursor)
			}
		})
	}
}

func sortKeys(items []storage.Item) []string {
	var keys []string
	for _, it := range items {
		keys = append(keys, it.SK)
	}
	return keys
}

func TestQueryPagesReturnEveryLiveItemOnce(t *testing.T) {
	f := newFixture(t)
	const pk = "ORG#1"
	var want []string
	var puts []storage.Op
	for i := range 23 {
		sk := fmt.Sprintf("ITEM#%03d", i)
		it := item(pk, sk, 1)
		it.Index = map[string]storage.Key{"GSI1": {PK: "ALL", SK: sk}}
		// Every third item has expired; pages must fill past them.
		if i%3 == 1 {
			it = expired(it)
		} else {
			want = append(want, sk)
		}
		puts = append(puts, storage.Put(it, storage.Condition{}))
	}
	f.mustWrite(t, puts...)

	for _, index := range []string{"", "GSI1"} {
		for _, limit := range []int{1, 2, 5, 15, 16, 100} {
			for _, descending := range []bool{false, true} {
				t.Run(fmt.Sprintf("index=%q limit=%d descending=%v", index, limit, descending), func(t *testing.T) {
					q := storage.Query{Index: index, PK: pk, Limit: limit, Descending: descending}
					if index != "" {
						q.PK = "ALL"
					}
					var got []string
					pages := 0
					for {
						page, err := f.table.Query(context.Background(), q)
						if err != nil {
							t.Fatal(err)
						}
						pages++
						if len(page.Items) > limit {
							t.Fatalf("page of %d items, limit %d", len(page.Items), limit)
						}
						if page.Cursor != "" && len(page.Items) < limit {
							t.Fatalf("short page of %d items with a cursor", len(page.Items))
						}
						got = append(got, sortKeys(page.Items)...)
						if page.Cursor == "" {
							break
						}
						q.Cursor = page.Cursor
					}
					wantOrder := want
					if descending {
						wantOrder = reversed(want)
					}
					if fmt.Sprint(got) != fmt.Sprint(wantOrder) {
						t.Errorf("items = %v\nwant %v", got, wantOrder)
					}
					if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
						t.Errorf("%d pages, want %d", pages, wantPages)
					}
				})
			}
		}
	}
}

func reversed(s []string) []string {
	r := make([]string, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}

func TestQueryRejectsForeignCursor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustWrite(t,
		storage.Put(item("ORG#1", "A", 1), storage.Condition{}),
		storage.Put(item("ORG#1", "B", 1), storage.Condition{}),
	)
	page, err := f.table.Query(ctx, storage.Query{PK: "ORG#1", Limit: 1})
	if err != nil || page.Cursor == "" {
		t.Fatalf("first page: %+v, %v; want a cursor", page, err)
	}
	tests := []struct {
		name string
		q    storage.Query
	}{
		{"another partition", storage.Query{PK: "ORG#2", Cursor: page.Cursor}},
		{"an index", storage.Query{Index: "GSI1", PK: "ORG#1", Cursor: page.Cursor}},
		{"garbage", storage.Query{PK: "ORG#1", Cursor: "%%%"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.table.Query(ctx, tc.q); !errors.Is(err, storage.ErrBadCursor) {
				t.Errorf("err = %v, want ErrBadCursor", err)
			}
		})
	}
	if _, err := f.table.Query(ctx, storage.Query{Index: "NOPE", PK: "x"}); err == nil {
		t.Error("query on an unknown index succeeded")
	}
}

func BenchmarkGet(b *testing.B) {
	f := newFixture(b)
	it := item("ORG#1", "USER#1", 1)
	f.mustWrite(b, storage.Put(it, storage.Condition{}))
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.table.Get(ctx, it.Key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQueryPage(b *testing.B) {
	f := newFixture(b)
	var puts []storage.Op
	for i := range 100 {
		puts = append(puts, storage.Put(item("ORG#1", fmt.Sprintf("EVENT#%03d", i), 1), storage.Condition{}))
	}
	f.mustWrite(b, puts...)
	q := storage.Query{PK: "ORG#1", Sort: storage.SortPrefix, From: "EVENT#", Limit: 25}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		page, err := f.table.Query(ctx, q)
		if err != nil || len(page.Items) != 25 {
			b.Fatalf("page of %d items, err %v", len(page.Items), err)
		}
	}
}
