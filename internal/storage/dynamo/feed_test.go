package dynamo_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/dynamo/dynamofeed"
	"github.com/integration-hub/hub/internal/stream"
)

// pollFor polls until it has collected want records or a deadline passes.
func pollFor(t *testing.T, src stream.Source, want int) []events.DynamoDBEventRecord {
	t.Helper()
	var records []events.DynamoDBEventRecord
	deadline := time.Now().Add(10 * time.Second)
	for len(records) < want && time.Now().Before(deadline) {
		batch, err := src.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, batch...)
		if len(batch) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if len(records) != want {
		t.Fatalf("polled %d records, want %d", len(records), want)
	}
	return records
}

func TestStreamSourceDeliversWritesAsLambdaRecords(t *testing.T) {
	f := newFixture(t)
	src := dynamofeed.NewSource(f.streams, f.streamArn, f.schema, true)

	user := storage.Item{
		Key:       storage.Key{PK: "ORG#1", SK: "USER#1"},
		Type:      "user",
		Index:     map[string]storage.Key{"GSI1": {PK: "EMAIL#a@example.com", SK: "USER#1"}},
		Version:   1,
		ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Second).UTC(),
		Data:      []byte(`{"name":"Ada"}`),
	}
	renamed := user
	renamed.Version = 2
	renamed.Data = []byte(`{"name":"Ada L."}`)
	event := storage.Item{Key: storage.Key{PK: "ORG#1", SK: "EVENT#1"}, Type: "event", Version: 1, Data: []byte(`{}`)}
	f.mustWrite(t, storage.Put(user, storage.Absent()))
	f.mustWrite(t, storage.Put(renamed, storage.VersionIs(1)))
	f.mustWrite(t, storage.Delete(renamed.Key, storage.Present()), storage.Put(event, storage.Absent()))

	records := pollFor(t, src, 4)

	type want struct {
		name string
		item storage.Item
	}
	wants := []want{{"INSERT", user}, {"MODIFY", renamed}}
	// The two operations of one transaction may come in either order.
	if records[2].EventName == "REMOVE" {
		wants = append(wants, want{"REMOVE", renamed}, want{"INSERT", event})
	} else {
		wants = append(wants, want{"INSERT", event}, want{"REMOVE", renamed})
	}
	for i, rec := range records {
		w := wants[i]
		if rec.EventName != w.name {
			t.Errorf("record %d: event %s, want %s", i, rec.EventName, w.name)
			continue
		}
		if rec.EventSource != "aws:dynamodb" || rec.EventSourceArn != f.streamArn || rec.AWSRegion == "" || rec.EventID == "" {
			t.Errorf("record %d: source %q, arn %q, region %q, id %q", i, rec.EventSource, rec.EventSourceArn, rec.AWSRegion, rec.EventID)
		}
		c := rec.Change
		if c.SequenceNumber == "" || c.SizeBytes <= 0 || c.StreamViewType != "NEW_IMAGE" || c.ApproximateCreationDateTime.IsZero() {
			t.Errorf("record %d: sequence %q, size %d, view %q, created %v", i, c.SequenceNumber, c.SizeBytes, c.StreamViewType, c.ApproximateCreationDateTime)
		}
		if !reflect.DeepEqual(c.Keys, stream.KeysFromItem(f.schema, w.item.Key)) {
			t.Errorf("record %d: keys %v", i, c.Keys)
		}
		if w.name == "REMOVE" {
			if c.NewImage != nil {
				t.Errorf("record %d: REMOVE with a new image %v", i, c.NewImage)
			}
			continue
		}
		if !reflect.DeepEqual(c.NewImage, stream.ImageFromItem(f.schema, w.item)) {
			t.Errorf("record %d: new image %v\nwant %v", i, c.NewImage, stream.ImageFromItem(f.schema, w.item))
		}
		got, err := stream.ItemFromImage(f.schema, c.NewImage)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, w.item) {
			t.Errorf("record %d: item %+v\nwant %+v", i, got, w.item)
		}
	}

	if more, err := src.Poll(context.Background()); err != nil || len(more) != 0 {
		t.Errorf("Poll after reading everything = %d records, %v; want none", len(more), err)
	}
}

func TestStreamSourceNotFromStartSkipsHistory(t *testing.T) {
	f := newFixture(t)
	f.mustWrite(t, storage.Put(item("ORG#1", "OLD", 1), storage.Absent()))
	src := dynamofeed.NewSource(f.streams, f.streamArn, f.schema, false)

	if records, err := src.Poll(context.Background()); err != nil || len(records) != 0 {
		t.Fatalf("first Poll = %d records, %v; want none", len(records), err)
	}
	f.mustWrite(t, storage.Put(item("ORG#1", "NEW", 1), storage.Absent()))
	records := pollFor(t, src, 1)
	if sk := records[0].Change.Keys[f.schema.SK].String(); sk != "NEW" {
		t.Errorf("record for %q, want NEW", sk)
	}
}
