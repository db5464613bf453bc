package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/integration-hub/hub/internal/storage"
)

func TestCountingCountsReadsQueriesWriteAttemptsAndCommits(t *testing.T) {
	c := NewCounting(embeddedHarness(t).Table)
	ctx := context.Background()
	it := storage.Item{Key: storage.Key{PK: "P", SK: "S"}, Type: "thing", Version: 1, Data: []byte(`{}`)}
	if err := c.Write(ctx, storage.Put(it, storage.Absent())); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, storage.Put(it, storage.Absent())); !errors.Is(err, storage.ErrConditionFailed) {
		t.Fatalf("second put of the same key: %v, want a failed condition", err)
	}
	if _, err := c.Get(ctx, it.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetMany(ctx, it.Key, storage.Key{PK: "P", SK: "T"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query(ctx, storage.Query{PK: "P"}); err != nil {
		t.Fatal(err)
	}
	if c.Reads() != 2 || c.Queries() != 1 || c.Writes() != 2 || c.Committed() != 1 {
		t.Fatalf("reads %d, queries %d, writes %d, committed %d; want 2 (a Get and a GetMany), 1, 2 and 1", c.Reads(), c.Queries(), c.Writes(), c.Committed())
	}
}
