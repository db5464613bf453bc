package storagetest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/stream"
)

const (
	// feedWait is how long the feed may take to deliver every record.
	feedWait     = 20 * time.Second
	feedInterval = 100 * time.Millisecond
)

// expectedRecord is one change the feed must deliver for a key, in order.
type expectedRecord struct {
	event string
	// image is the item a NEW_IMAGE record carries; nil for REMOVE.
	image *storage.Item
}

func feedDeliversWrites(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	const n = 50
	ks := newKeyspace()
	expected := map[storage.Key][]expectedRecord{}
	expect := func(event string, image *storage.Item, k storage.Key) {
		expected[k] = append(expected[k], expectedRecord{event: event, image: image})
	}
	items := make([]storage.Item, n)
	for i := range n {
		items[i] = probe(ks.key("FEED", fmt.Sprintf("item#%02d", i)))
		if i%3 == 0 {
			items[i] = withIndex(items[i], ks.pk("FEED-IDX"), fmt.Sprint(i))
		}
		if i%4 == 0 {
			items[i].ExpiresAt = time.Now().Add(time.Hour)
		}
		expect("INSERT", &items[i], items[i].Key)
	}
	// The first 30 one write each, the other 20 in one transaction.
	for i := range 30 {
		if err := h.Table.Write(ctx, storage.Put(items[i], storage.Absent())); err != nil {
			return fmt.Errorf("put %s: %w", items[i].Key, err)
		}
	}
	var batch []storage.Op
	for i := 30; i < n; i++ {
		batch = append(batch, storage.Put(items[i], storage.Absent()))
	}
	if err := h.Table.Write(ctx, batch...); err != nil {
		return fmt.Errorf("put items 30 to %d: %w", n-1, err)
	}
	updates := make([]storage.Item, 5)
	for i := range updates {
		updates[i] = items[i]
		updates[i].Version = 2
		updates[i].Data = fmt.Appendf(nil, `{"update":%d}`, i)
		if err := h.Table.Write(ctx, storage.Put(updates[i], storage.VersionIs(1))); err != nil {
			return fmt.Errorf("update %s: %w", updates[i].Key, err)
		}
		expect("MODIFY", &updates[i], updates[i].Key)
	}
	for i := 5; i < 10; i++ {
		if err := h.Table.Write(ctx, storage.Delete(items[i].Key, storage.Present())); err != nil {
			return fmt.Errorf("delete %s: %w", items[i].Key, err)
		}
		expect("REMOVE", nil, items[i].Key)
	}
	// A write that fails its condition must leave no record; any record of
	// these keys fails the case.
	never := probe(ks.key("FEED", "never"))
	failedCheck := ks.key("FEED", "missing")
	err := h.Table.Write(ctx, storage.Put(never, storage.Absent()), storage.Check(failedCheck, storage.Present()))
	if !errors.Is(err, storage.ErrConditionFailed) {
		return fmt.Errorf("write with a failing check: %v, want ErrConditionFailed", err)
	}
	expected[never.Key] = nil
	expected[failedCheck] = nil

	received, err := collectFeed(ctx, h, ks, expected)
	if err != nil {
		return err
	}
	return checkFeed(h, expected, received)
}

// collectFeed polls until every expected record of the case's keys has
// arrived, and returns the case's records by key.
func collectFeed(ctx context.Context, h Harness, ks keyspace, expected map[storage.Key][]expectedRecord) (map[storage.Key][]events.DynamoDBEventRecord, error) {
	deadline := time.Now().Add(feedWait)
	received := map[storage.Key][]events.DynamoDBEventRecord{}
	complete := func() bool {
		for k, want := range expected {
			if len(received[k]) < len(want) {
				return false
			}
		}
		return true
	}
	for {
		records, err := h.Feed.Poll(ctx)
		if err != nil {
			return nil, fmt.Errorf("poll: %w", err)
		}
		for _, rec := range records {
			k, err := recordKey(h.Schema, rec)
			if err != nil {
				return nil, fmt.Errorf("record %s: %w", rec.EventID, err)
			}
			if strings.HasPrefix(k.PK, string(ks)) {
				received[k] = append(received[k], rec)
			}
		}
		if complete() {
			return received, nil
		}
		if time.Now().After(deadline) {
			var late []string
			for k, want := range expected {
				if got := len(received[k]); got < len(want) {
					late = append(late, fmt.Sprintf("%s (%d of %d)", k, got, len(want)))
				}
			}
			slices.Sort(late)
			return nil, fmt.Errorf("after %s the feed has not delivered every record of: %s", feedWait, strings.Join(late, ", "))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the feed: %w", ctx.Err())
		case <-time.After(feedInterval):
		}
	}
}

func checkFeed(h Harness, expected map[storage.Key][]expectedRecord, received map[storage.Key][]events.DynamoDBEventRecord) error {
	var errs []error
	eventIDs := map[string]storage.Key{}
	for k, records := range received {
		want := expected[k]
		if len(records) != len(want) {
			errs = append(errs, fmt.Errorf("%s: %d records (%s), want %d", k, len(records), eventNames(records), len(want)))
			continue
		}
		var previous *big.Int
		for i, rec := range records {
			where := fmt.Sprintf("%s record %d (%s)", k, i, rec.EventName)
			if other, dup := eventIDs[rec.EventID]; dup || rec.EventID == "" {
				errs = append(errs, fmt.Errorf("%s: event id %q is empty or also on a record of %s", where, rec.EventID, other))
			}
			eventIDs[rec.EventID] = k
			seq, ok := new(big.Int).SetString(rec.Change.SequenceNumber, 10)
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%s: sequence number %q is not a decimal number", where, rec.Change.SequenceNumber))
			case previous != nil && seq.Cmp(previous) <= 0:
				errs = append(errs, fmt.Errorf("%s: sequence number %s does not follow %s", where, seq, previous))
			}
			previous = seq
			errs = append(errs, checkRecord(h.Schema, where, rec, want[i]))
		}
	}
	return errors.Join(errs...)
}

func checkRecord(schema storage.Schema, where string, rec events.DynamoDBEventRecord, want expectedRecord) error {
	switch {
	case rec.EventName != want.event:
		return fmt.Errorf("%s: event %q, want %q", where, rec.EventName, want.event)
	case rec.EventSource != "aws:dynamodb":
		return fmt.Errorf("%s: event source %q, want aws:dynamodb", where, rec.EventSource)
	case rec.Change.StreamViewType != string(events.DynamoDBStreamViewTypeNewImage):
		return fmt.Errorf("%s: stream view type %q, want NEW_IMAGE", where, rec.Change.StreamViewType)
	}
	if want.image == nil {
		if len(rec.Change.NewImage) > 0 {
			return fmt.Errorf("%s: a REMOVE record with a new image", where)
		}
		return nil
	}
	got, err := stream.ItemFromImage(schema, rec.Change.NewImage)
	if err != nil {
		return fmt.Errorf("%s: new image: %w", where, err)
	}
	if err := sameItem(got, *want.image); err != nil {
		return fmt.Errorf("%s: new image: %w", where, err)
	}
	return nil
}

// recordKey reads a record's Keys without panicking on a malformed one, as
// DynamoDBAttributeValue.String would.
func recordKey(schema storage.Schema, rec events.DynamoDBEventRecord) (storage.Key, error) {
	var k storage.Key
	for name, dst := range map[string]*string{schema.PK: &k.PK, schema.SK: &k.SK} {
		v, ok := rec.Change.Keys[name]
		if !ok || v.DataType() != events.DataTypeString {
			return k, fmt.Errorf("keys lack the string attribute %q", name)
		}
		*dst = v.String()
	}
	return k, nil
}

func eventNames(records []events.DynamoDBEventRecord) string {
	names := make([]string, len(records))
	for i, rec := range records {
		names[i] = rec.EventName
	}
	return strings.Join(names, ", ")
}
