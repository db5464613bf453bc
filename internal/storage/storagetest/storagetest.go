// Package storagetest is the conformance suite of the storage port: the
// executable form of the contract in package storage. Both adapters run it
// (embedded against a bbolt file, dynamo against DynamoDB Local); a
// behaviour that only one of them has is a bug.
//
// Cases return errors rather than failing a *testing.T so that a test can
// run them against a deliberately broken adapter and prove they catch it.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/stream"
)

// Harness is one fresh, empty table and its change feed.
type Harness struct {
	Table storage.Table
	// Feed delivers every write made through Table, oldest first.
	Feed   stream.Source
	Schema storage.Schema
}

// Case is one behaviour of the port.
type Case struct {
	Name string
	Run  func(ctx context.Context, h Harness) error
}

// caseTimeout bounds one case; the feed case alone waits up to feedWait.
const caseTimeout = 2 * time.Minute

// Run runs every case as a subtest; newHarness is called once per case and
// must give an empty table.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			h := newHarness(t)
			ctx, cancel := context.WithTimeout(t.Context(), caseTimeout)
			defer cancel()
			if err := c.Run(ctx, h); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Cases returns the cases in a fixed order.
func Cases() []Case {
	return []Case{
		{"SortKeyByteOrder", sortKeyByteOrder},
		{"SortPrefix", sortPrefix},
		{"SortBetween", sortBetween},
		{"DescendingPages", descendingPages},
		{"IndexQuery", indexQuery},
		{"IndexMaintenance", indexMaintenance},
		{"PaginationOverThreeThousandItems", paginationOverThreeThousandItems},
		{"CursorFromAnotherPartition", cursorFromAnotherPartition},
		{"GarbageCursor", garbageCursor},
		{"GetMissing", getMissing},
		{"GetManySeveralKeys", getManySeveralKeys},
		{"GetManyMissingKeysAbsent", getManyMissingKeysAbsent},
		{"GetManyExpiredItemsAbsent", getManyExpiredItemsAbsent},
		{"GetManyInvalidKeys", getManyInvalidKeys},
		{"GetManyNoKeys", getManyNoKeys},
		{"RoundTrip", roundTrip},
		{"ConditionsOnPut", conditionsOnPut},
		{"ConditionsOnDelete", conditionsOnDelete},
		{"ConditionsOnCheck", conditionsOnCheck},
		{"ConditionFailureNamesOperation", conditionFailureNamesOperation},
		{"FailedLastConditionWritesNothing", failedLastConditionWritesNothing},
		{"InvalidWrites", invalidWrites},
		{"ExpiredItemIsAbsent", expiredItemIsAbsent},
		{"FutureExpiryRoundTrip", futureExpiryRoundTrip},
		{"ConcurrentConditionalPuts", concurrentConditionalPuts},
		{"FeedDeliversWrites", feedDeliversWrites},
	}
}

// gsi1 is the index the cases use; template.yaml declares it.
const gsi1 = "GSI1"

func requireGSI1(h Harness) error {
	if _, ok := h.Schema.Indexes[gsi1]; !ok {
		return fmt.Errorf("harness schema has no index %s", gsi1)
	}
	return nil
}

// keyspace prefixes every partition key of one case with a random tag, so
// a case never reads another's items even if a harness shares a table, and
// a failure names keys no other case uses.
type keyspace string

func newKeyspace() keyspace {
	tag := make([]byte, 6)
	rand.Read(tag)
	return keyspace("CT" + hex.EncodeToString(tag) + "#")
}

func (ks keyspace) pk(name string) string { return string(ks) + name }

func (ks keyspace) key(pk, sk string) storage.Key {
	return storage.Key{PK: ks.pk(pk), SK: sk}
}

// probe is an item whose data names its key, so a mix-up shows.
func probe(k storage.Key) storage.Item {
	data, _ := json.Marshal(map[string]string{"pk": k.PK, "sk": k.SK})
	return storage.Item{Key: k, Type: "probe", Version: 1, Data: data}
}

func withIndex(it storage.Item, pk, sk string) storage.Item {
	it.Index = map[string]storage.Key{gsi1: {PK: pk, SK: sk}}
	return it
}

// putAll writes items unconditionally, a full transaction at a time.
func putAll(ctx context.Context, t storage.Table, items []storage.Item) error {
	for start := 0; start < len(items); start += storage.MaxWriteOps {
		batch := items[start:min(start+storage.MaxWriteOps, len(items))]
		ops := make([]storage.Op, len(batch))
		for i, it := range batch {
			ops[i] = storage.Put(it, storage.Condition{})
		}
		if err := t.Write(ctx, ops...); err != nil {
			return fmt.Errorf("writing items %d to %d: %w", start, start+len(batch)-1, err)
		}
	}
	return nil
}

// queryAll follows cursors to the end and checks every page's size.
func queryAll(ctx context.Context, t storage.Table, q storage.Query) ([]storage.Item, error) {
	maxPage := storage.MaxPageSize
	if q.Limit > 0 {
		maxPage = min(q.Limit, storage.MaxPageSize)
	}
	var all []storage.Item
	seen := map[string]bool{}
	for pages := 1; ; pages++ {
		page, err := t.Query(ctx, q)
		if err != nil {
			return all, fmt.Errorf("page %d of %s: %w", pages, describe(q), err)
		}
		if len(page.Items) > maxPage {
			return all, fmt.Errorf("page %d of %s has %d items, more than %d", pages, describe(q), len(page.Items), maxPage)
		}
		all = append(all, page.Items...)
		if page.Cursor == "" {
			return all, nil
		}
		if seen[page.Cursor] {
			return all, fmt.Errorf("page %d of %s returned a cursor already returned", pages, describe(q))
		}
		seen[page.Cursor] = true
		q.Cursor = page.Cursor
	}
}

func describe(q storage.Query) string {
	where := "table"
	if q.Index != "" {
		where = "index " + q.Index
	}
	ops := map[storage.SortOp]string{storage.SortAll: "all", storage.SortPrefix: "prefix", storage.SortBetween: "between"}
	order := "ascending"
	if q.Descending {
		order = "descending"
	}
	return fmt.Sprintf("query(%s PK=%q %s %q..%q limit %d %s)", where, q.PK, ops[q.Sort], q.From, q.To, q.Limit, order)
}

// sortKeysOf lists the items' sort keys, on the table or on an index.
func sortKeysOf(items []storage.Item, index string) []string {
	sks := make([]string, len(items))
	for i, it := range items {
		sks[i] = it.SK
		if index != "" {
			sks[i] = it.Index[index].SK
		}
	}
	return sks
}

func sameStrings(what string, got, want []string) error {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Errorf("%s: position %d is %q, want %q\n got %q\nwant %q", what, i, got[i], want[i], got, want)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d results, want %d\n got %q\nwant %q", what, len(got), len(want), got, want)
	}
	return nil
}

func reversed(s []string) []string {
	r := make([]string, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}

// sameItem compares every field the port round-trips: expiry to the
// second, nil and empty data and index alike.
func sameItem(got, want storage.Item) error {
	switch {
	case got.Key != want.Key:
		return fmt.Errorf("key %s, want %s", got.Key, want.Key)
	case got.Type != want.Type:
		return fmt.Errorf("%s: type %q, want %q", want.Key, got.Type, want.Type)
	case got.Version != want.Version:
		return fmt.Errorf("%s: version %d, want %d", want.Key, got.Version, want.Version)
	case string(got.Data) != string(want.Data):
		return fmt.Errorf("%s: data %q, want %q", want.Key, got.Data, want.Data)
	case got.ExpiresAt.IsZero() != want.ExpiresAt.IsZero() || got.ExpiresAt.Unix() != want.ExpiresAt.Unix():
		return fmt.Errorf("%s: expires at %v, want %v", want.Key, got.ExpiresAt, want.ExpiresAt)
	case len(got.Index) != len(want.Index):
		return fmt.Errorf("%s: index entries %v, want %v", want.Key, got.Index, want.Index)
	}
	for name, k := range want.Index {
		if got.Index[name] != k {
			return fmt.Errorf("%s: index entries %v, want %v", want.Key, got.Index, want.Index)
		}
	}
	return nil
}

// stored checks that Get returns want.
func stored(ctx context.Context, t storage.Table, want storage.Item) error {
	got, err := t.Get(ctx, want.Key)
	if err != nil {
		return fmt.Errorf("get %s: %w", want.Key, err)
	}
	return sameItem(got, want)
}

// missing checks that Get reports ErrNotFound.
func missing(ctx context.Context, t storage.Table, k storage.Key) error {
	got, err := t.Get(ctx, k)
	if err == nil {
		return fmt.Errorf("get %s: found %+v, want ErrNotFound", k, got)
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("get %s: %w, want ErrNotFound", k, err)
	}
	return nil
}
