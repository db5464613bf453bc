package stream_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/stream"
	"github.com/integration-hub/hub/internal/template"
)

func schema(t *testing.T) storage.Schema {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	return tm.Table.Schema
}

func TestImageRoundTripsEveryEnvelopeField(t *testing.T) {
	s := schema(t)
	it := storage.Item{
		Key:       storage.Key{PK: "ORG#o", SK: "EVENT#1"},
		Type:      "event",
		Index:     map[string]storage.Key{"GSI1": {PK: "X", SK: "Y"}},
		Version:   7,
		ExpiresAt: time.Unix(1_900_000_000, 0).UTC(),
		Data:      []byte(`{"a":"ü"}`),
	}
	got, err := stream.ItemFromImage(s, stream.ImageFromItem(s, it))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, it) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, it)
	}
	if _, err := stream.ItemFromImage(s, map[string]events.DynamoDBAttributeValue{"PK": events.NewStringAttribute("x")}); err == nil {
		t.Fatal("an image without a sort key was accepted")
	}
}

func record(t *testing.T, seq int, name, typ string) events.DynamoDBEventRecord {
	s := schema(t)
	it := storage.Item{Key: storage.Key{PK: "P", SK: fmt.Sprint(seq)}, Type: typ, Version: 1}
	return events.DynamoDBEventRecord{
		EventID: fmt.Sprint(seq), EventName: name, EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{SequenceNumber: fmt.Sprintf("%05d", seq), NewImage: stream.ImageFromItem(s, it), Keys: stream.KeysFromItem(s, it.Key), StreamViewType: "NEW_IMAGE"},
	}
}

func TestTemplateFilterAdmitsOnlyInsertedEvents(t *testing.T) {
	tm, _ := template.Load()
	f, err := stream.ParseFilter(tm.Table.EventFilter)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, typ string
		want      bool
	}{
		{"INSERT", "event", true},
		{"MODIFY", "event", false},
		{"REMOVE", "event", false},
		{"INSERT", "user", false},
	}
	for _, tc := range cases {
		if got := f.Match(record(t, 1, tc.name, tc.typ)); got != tc.want {
			t.Errorf("%s of %s: Match = %v, want %v", tc.name, tc.typ, got, tc.want)
		}
	}
}

type fixedSource struct{ recs []events.DynamoDBEventRecord }

func (s *fixedSource) Poll(context.Context) ([]events.DynamoDBEventRecord, error) {
	r := s.recs
	s.recs = nil
	return r, nil
}

func TestPumpRetriesFromTheFirstFailedRecordThenGivesUp(t *testing.T) {
	var recs []events.DynamoDBEventRecord
	for i := 1; i <= 4; i++ {
		recs = append(recs, record(t, i, "INSERT", "event"))
	}
	var deliveries [][]string
	attemptsOf3 := 0
	handler := func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		var ids []string
		var resp events.DynamoDBEventResponse
		for _, r := range ev.Records {
			ids = append(ids, r.EventID)
			if r.EventID == "3" {
				attemptsOf3++
				if attemptsOf3 < 3 {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
				}
			}
		}
		deliveries = append(deliveries, ids)
		return resp, nil
	}
	p := &stream.Pump{Source: &fixedSource{recs: recs}, Handler: handler, MaxRetries: 5, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := p.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"1", "2", "3", "4"}, {"3", "4"}, {"3", "4"}}
	if !reflect.DeepEqual(deliveries, want) {
		t.Fatalf("deliveries = %v, want %v", deliveries, want)
	}

	deliveries, attemptsOf3 = nil, -100 // record 3 now always fails
	p = &stream.Pump{Source: &fixedSource{recs: recs}, Handler: handler, MaxRetries: 2, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	_ = p.Once(context.Background())
	if len(deliveries) != 3 {
		t.Fatalf("a record that always fails was delivered %d times, want 1 + MaxRetries = 3", len(deliveries))
	}
}
