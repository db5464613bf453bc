package dynamo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/integration-hub/hub/internal/storage"
)

// BatchGetItem answers the keys it could not read (throttling, or more than
// 16 MB of items) as UnprocessedKeys, with no error, so the SDK's retryer
// never sees them. GetMany asks for them again and answers
// storage.ErrUnavailable after BatchGetStalls rounds that read none of the
// keys asked, backing off longer after each: with these delays, 1.25 s at
// most in all, well inside a Lambda's timeout. A round that reads some of
// the keys is progress: it neither counts nor lengthens the delay (there
// are at most storage.MaxGetKeys keys to make progress on).
const (
	BatchGetStalls      = 6
	batchGetBaseBackoff = 25 * time.Millisecond
	batchGetMaxBackoff  = 500 * time.Millisecond
)

// GetMany reads keys with BatchGetItem, consistently, and returns the live
// items found; missing and expired items are absent from the map.
func (t *Table) GetMany(ctx context.Context, keys ...storage.Key) (map[storage.Key]storage.Item, error) {
	if err := storage.ValidateKeys(keys); err != nil {
		return nil, fmt.Errorf("dynamo: get many: %w", err)
	}
	found := make(map[storage.Key]storage.Item, len(keys))
	if len(keys) == 0 {
		return found, nil
	}
	action := fmt.Sprintf("get %d keys", len(keys))
	pending := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		pending[i] = t.tableKey(k)
	}
	for round, stalls := 0, 0; ; round++ {
		if round > 0 {
			if err := sleep(ctx, batchGetBackoff(stalls)); err != nil {
				return nil, fmt.Errorf("dynamo: %s: %w", action, err)
			}
		}
		out, err := t.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{
				t.name: {Keys: pending, ConsistentRead: aws.Bool(true)},
			},
		})
		if err != nil {
			return nil, translateError(err, action, nil)
		}
		now := time.Now()
		for _, attrs := range out.Responses[t.name] {
			it, err := t.itemFromAttributes(attrs)
			if err != nil {
				return nil, fmt.Errorf("dynamo: %s: %w", action, err)
			}
			if !it.Expired(now) {
				found[it.Key] = it
			}
		}
		unprocessed := out.UnprocessedKeys[t.name].Keys
		if len(unprocessed) == 0 {
			return found, nil
		}
		if len(unprocessed) >= len(pending) {
			stalls++
		}
		if stalls == BatchGetStalls {
			return nil, fmt.Errorf("dynamo: %s: %w (throttled: %d keys still unprocessed after %d rounds)",
				action, storage.ErrUnavailable, len(unprocessed), round+1)
		}
		pending = unprocessed
	}
}

// batchGetBackoff is the jittered wait before a retry round, after stalls
// rounds that read nothing.
func batchGetBackoff(stalls int) time.Duration {
	ceiling := min(batchGetBaseBackoff<<min(stalls, 16), batchGetMaxBackoff)
	return ceiling/2 + rand.N(ceiling/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
