package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.etcd.io/bbolt"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/storagetest"
	"github.com/integration-hub/hub/internal/template"
)

func schema(t testing.TB) storage.Schema {
	t.Helper()
	tpl, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	return tpl.Table.Schema
}

func openTemp(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := Open(path, schema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Harness {
		db, _ := openTemp(t)
		return storagetest.Harness{Table: db, Feed: db.Feed(), Schema: db.schema}
	})
}

func item(pk, sk string) storage.Item {
	return storage.Item{Key: storage.Key{PK: pk, SK: sk}, Type: "probe", Version: 1, Data: []byte(`{}`)}
}

func mustWrite(t testing.TB, db *DB, ops ...storage.Op) {
	t.Helper()
	if err := db.Write(context.Background(), ops...); err != nil {
		t.Fatal(err)
	}
}

func poll(t testing.TB, f *Feed) []events.DynamoDBEventRecord {
	t.Helper()
	records, err := f.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return records
}

func sortKeysOf(records []events.DynamoDBEventRecord) []string {
	var sks []string
	for _, rec := range records {
		sks = append(sks, rec.EventName+" "+rec.Change.Keys["SK"].String())
	}
	return sks
}

func TestReopenKeepsItemsAndFeedPosition(t *testing.T) {
	db, path := openTemp(t)
	mustWrite(t, db, storage.Put(item("P", "1"), storage.Absent()))
	reader := db.Feed()
	if got := sortKeysOf(poll(t, reader)); fmt.Sprint(got) != "[INSERT 1]" {
		t.Fatalf("first poll: %q", got)
	}
	position := reader.Position()
	mustWrite(t, db, storage.Put(item("P", "2"), storage.Absent()))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(path, schema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Get(context.Background(), storage.Key{PK: "P", SK: "1"}); err != nil {
		t.Fatalf("get after reopening: %v", err)
	}
	resumed, err := db.FeedAfter(position)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := db.FeedFromNow()
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, db, storage.Delete(storage.Key{PK: "P", SK: "1"}, storage.Present()))
	tests := []struct {
		name string
		feed *Feed
		want string
	}{
		{"from the start", db.Feed(), "[INSERT 1 INSERT 2 REMOVE 1]"},
		{"after the saved position", resumed, "[INSERT 2 REMOVE 1]"},
		{"from now", latest, "[REMOVE 1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(sortKeysOf(poll(t, tt.feed))); got != tt.want {
				t.Errorf("poll = %s, want %s", got, tt.want)
			}
			if got := poll(t, tt.feed); len(got) != 0 {
				t.Errorf("second poll = %q, want nothing new", sortKeysOf(got))
			}
		})
	}
}

func TestFeedAfterRejectsForeignSequenceNumber(t *testing.T) {
	db, _ := openTemp(t)
	if _, err := db.FeedAfter("shardId-0001"); err == nil {
		t.Fatal("FeedAfter accepted a sequence number that is not this feed's")
	}
}

func TestPollReturnsAtMostMaxPollRecords(t *testing.T) {
	db, _ := openTemp(t)
	const total = MaxPollRecords + 150
	for start := 0; start < total; start += storage.MaxWriteOps {
		var ops []storage.Op
		for i := start; i < min(start+storage.MaxWriteOps, total); i++ {
			ops = append(ops, storage.Put(item("P", fmt.Sprintf("%05d", i)), storage.Condition{}))
		}
		mustWrite(t, db, ops...)
	}
	reader := db.Feed()
	for _, want := range []int{MaxPollRecords, total - MaxPollRecords, 0} {
		if got := len(poll(t, reader)); got != want {
			t.Fatalf("poll returned %d records, want %d", got, want)
		}
	}
}

func TestFeedTrimsRecordsOlderThanRetention(t *testing.T) {
	db, _ := openTemp(t)
	now := time.Now()
	db.now = func() time.Time { return now.Add(-FeedRetention - time.Minute) }
	mustWrite(t, db, storage.Put(item("P", "old"), storage.Condition{}))
	db.now = func() time.Time { return now }
	mustWrite(t, db, storage.Put(item("P", "new"), storage.Condition{}))
	if got := fmt.Sprint(sortKeysOf(poll(t, db.Feed()))); got != "[INSERT new]" {
		t.Fatalf("feed after trimming = %s, want [INSERT new]", got)
	}
}

func TestUnchangedPutWritesNoRecord(t *testing.T) {
	db, _ := openTemp(t)
	mustWrite(t, db, storage.Put(item("P", "1"), storage.Condition{}))
	mustWrite(t, db, storage.Put(item("P", "1"), storage.Present()))
	changed := item("P", "1")
	changed.Version = 2
	mustWrite(t, db, storage.Put(changed, storage.Present()))
	if got := fmt.Sprint(sortKeysOf(poll(t, db.Feed()))); got != "[INSERT 1 MODIFY 1]" {
		t.Fatalf("feed = %s, want [INSERT 1 MODIFY 1]", got)
	}
}

func TestSweepExpiredRemovesItemsAndIndexEntries(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	expired := item("P", "expired")
	expired.ExpiresAt = time.Now().Add(-time.Minute)
	expired.Index = map[string]storage.Key{"GSI1": {PK: "G", SK: "1"}}
	live := item("P", "live")
	live.Index = map[string]storage.Key{"GSI1": {PK: "G", SK: "2"}}
	mustWrite(t, db, storage.Put(expired, storage.Condition{}), storage.Put(live, storage.Condition{}))
	reader, err := db.FeedFromNow()
	if err != nil {
		t.Fatal(err)
	}
	removed, err := db.SweepExpired(ctx)
	if err != nil || removed != 1 {
		t.Fatalf("SweepExpired = %d, %v; want 1 removed", removed, err)
	}
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		if n := tx.Bucket(bucketItems).Stats().KeyN; n != 1 {
			return fmt.Errorf("%d items stored, want 1", n)
		}
		if n := tx.Bucket(bucketIndex).Stats().KeyN; n != 1 {
			return fmt.Errorf("%d index entries stored, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	records := poll(t, reader)
	if len(records) != 1 || records[0].EventName != "REMOVE" || records[0].UserIdentity == nil || records[0].UserIdentity.PrincipalID != "dynamodb.amazonaws.com" {
		t.Fatalf("sweep records = %+v, want one REMOVE by the TTL service", records)
	}
}

func TestRejectsWhatDynamoDBWouldReject(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	unknownIndex := item("P", "1")
	unknownIndex.Index = map[string]storage.Key{"GSI9": {PK: "G", SK: "1"}}
	if err := db.Write(ctx, storage.Put(unknownIndex, storage.Condition{})); !errors.Is(err, storage.ErrInvalidWrite) {
		t.Errorf("put on an unknown index: %v, want ErrInvalidWrite", err)
	}
	queries := map[string]storage.Query{
		"unknown index":          {Index: "GSI9", PK: "G"},
		"empty partition key":    {},
		"between upside down":    {PK: "P", Sort: storage.SortBetween, From: "b", To: "a"},
		"cancelled context":      {PK: "P"},
		"cursor of another kind": {PK: "P", Cursor: "e30"},
	}
	for name, q := range queries {
		qctx := ctx
		if name == "cancelled context" {
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			qctx = cancelled
		}
		if _, err := db.Query(qctx, q); err == nil {
			t.Errorf("query with %s succeeded", name)
		}
	}
}

func TestOpenRejectsIncompleteSchema(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "hub.db"), storage.Schema{PK: "PK", SK: "SK"}); err == nil {
		t.Fatal("Open accepted a schema without a TTL attribute")
	}
}

// TestIndexEntryKeysKeepSortKeyOrder covers what the conformance suite
// cannot reach through DynamoDB-valid data: NUL bytes inside index sort keys
// and ties broken by the table key.
func TestIndexEntryKeysKeepSortKeyOrder(t *testing.T) {
	ordered := []struct{ isk, pk, sk string }{
		{"A", "P", "9"},
		{"A", "Q", "1"},
		{"A\x00", "A", "1"},
		{"A\x00\x00", "A", "1"},
		{"A\x00\x01", "A", "1"},
		{"A\x01", "A", "1"},
		{"A#", "A", "1"},
		{"AB", "A", "1"},
		{"é", "A", "1"},
	}
	for i := 1; i < len(ordered); i++ {
		a, b := ordered[i-1], ordered[i]
		ka := indexEntryKey("GSI1", storage.Key{PK: "G", SK: a.isk}, storage.Key{PK: a.pk, SK: a.sk})
		kb := indexEntryKey("GSI1", storage.Key{PK: "G", SK: b.isk}, storage.Key{PK: b.pk, SK: b.sk})
		if bytes.Compare(ka, kb) >= 0 {
			t.Errorf("entry for %q/%s sorts at or after %q/%s", a.isk, a.pk, b.isk, b.pk)
		}
	}
}

func TestItemEncodingRoundTrip(t *testing.T) {
	tests := map[string]storage.Item{
		"minimal":     {Key: storage.Key{PK: "P", SK: "S"}, Type: "t"},
		"full":        {Key: storage.Key{PK: "P", SK: "S"}, Type: "user", Version: -3, ExpiresAt: time.Unix(1_900_000_000, 0).UTC(), Index: map[string]storage.Key{"GSI1": {PK: "G\x00", SK: "é"}, "A": {PK: "1", SK: "2"}}, Data: []byte("{\"a\":\"\xff\"}")},
		"binary data": {Key: storage.Key{PK: "P", SK: "S"}, Type: "t", Data: []byte{0, 1, 2, 0xff}},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := decodeItem(want.Key, encodeItem(want))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("decoded %+v, want %+v", got, want)
			}
		})
	}
	if _, err := decodeItem(storage.Key{PK: "P", SK: "S"}, []byte{itemFormat, 5, 'a'}); err == nil {
		t.Error("decoded a truncated item")
	}
}

func BenchmarkQueryPageOf100In10000(b *testing.B) {
	db, _ := openTemp(b)
	for start := 0; start < 10_000; start += storage.MaxWriteOps {
		var ops []storage.Op
		for i := start; i < start+storage.MaxWriteOps; i++ {
			it := item("ORG#bench", fmt.Sprintf("EVENT#%05d", i))
			it.Data = []byte(`{"kind":"user.invited","actor":"USER#01HZX","subject":"someone@example.com"}`)
			ops = append(ops, storage.Put(it, storage.Condition{}))
		}
		mustWrite(b, db, ops...)
	}
	ctx := context.Background()
	q := storage.Query{PK: "ORG#bench", Sort: storage.SortPrefix, From: "EVENT#", Limit: 100}
	first, err := db.Query(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	middle := q
	middle.Cursor = first.Cursor
	b.ReportAllocs()
	for b.Loop() {
		page, err := db.Query(ctx, middle)
		if err != nil || len(page.Items) != 100 {
			b.Fatalf("page of %d items, %v", len(page.Items), err)
		}
	}
}

func BenchmarkConditionalPut(b *testing.B) {
	db, _ := openTemp(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := db.Write(ctx, storage.Put(item("ORG#bench", fmt.Sprint("USER#", i)), storage.Absent())); err != nil {
			b.Fatal(err)
		}
	}
}
