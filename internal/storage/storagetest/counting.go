package storagetest

import (
	"context"
	"sync/atomic"

	"github.com/integration-hub/hub/internal/storage"
)

// Counting is a table that counts the calls made through it, for tests
// that prove what a service reads or writes (a refusal that writes
// nothing, a use recorded at most once a minute, a page that does not
// read the profile). It is safe for concurrent use.
type Counting struct {
	storage.Table
	reads, queries, writes, committed atomic.Int64
}

// NewCounting counts the calls made to t.
func NewCounting(t storage.Table) *Counting { return &Counting{Table: t} }

func (c *Counting) Get(ctx context.Context, k storage.Key) (storage.Item, error) {
	c.reads.Add(1)
	return c.Table.Get(ctx, k)
}

func (c *Counting) GetMany(ctx context.Context, ks ...storage.Key) (map[storage.Key]storage.Item, error) {
	c.reads.Add(1)
	return c.Table.GetMany(ctx, ks...)
}

func (c *Counting) Query(ctx context.Context, q storage.Query) (storage.Page, error) {
	c.queries.Add(1)
	return c.Table.Query(ctx, q)
}

func (c *Counting) Write(ctx context.Context, ops ...storage.Op) error {
	c.writes.Add(1)
	err := c.Table.Write(ctx, ops...)
	if err == nil {
		c.committed.Add(1)
	}
	return err
}

// Reads is the number of Get and GetMany calls.
func (c *Counting) Reads() int64 { return c.reads.Load() }

// Queries is the number of Query calls.
func (c *Counting) Queries() int64 { return c.queries.Load() }

// Writes is the number of Write calls, whether they succeeded or not.
func (c *Counting) Writes() int64 { return c.writes.Load() }

// Committed is the number of Write calls that succeeded.
func (c *Counting) Committed() int64 { return c.committed.Load() }
