package dynamo_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/storage/dynamo/dynamofeed"
	"github.com/integration-hub/hub/internal/storage/storagetest"
)

// TestConformance runs the storage port's suite against DynamoDB Local, a
// fresh table per case, with the table's stream as the feed.
func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Harness {
		f := newFixture(t)
		return storagetest.Harness{
			Table:  f.table,
			Feed:   dynamofeed.NewSource(f.streams, f.streamArn, f.schema, true),
			Schema: f.schema,
		}
	})
}
