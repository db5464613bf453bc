package faults_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/email/sesmail"
	"github.com/integration-hub/hub/internal/email/sestest"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/storage/dynamo/dynamofeed"
	"github.com/integration-hub/hub/internal/stream"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/testenv"
)

// streamOf reads the hub's table stream as the event source mapping does,
// keeping the records the template's filter admits.
type streamOf struct {
	source *dynamofeed.Source
	filter stream.Filter
}

func openStream(t *testing.T, h *prooftest.DynamoDBHub, endpoint string) *streamOf {
	t.Helper()
	ctx := context.Background()
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	filter, err := stream.ParseFilter(tm.Table.EventFilter)
	if err != nil {
		t.Fatal(err)
	}
	arn, err := dynamo.LatestStreamArn(ctx, h.Clean, h.Table)
	if err != nil {
		t.Fatal(err)
	}
	streams, err := dynamofeed.NewClient(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return &streamOf{source: dynamofeed.NewSource(streams, arn, h.Schema, true), filter: filter}
}

// next is every admitted record written since the last call.
func (s *streamOf) next(t *testing.T) []events.DynamoDBEventRecord {
	t.Helper()
	recs, err := s.source.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(recs, func(r events.DynamoDBEventRecord) bool { return !s.filter.Match(r) })
}

// recipient is the first address of a record's event.
func recipient(t *testing.T, h *prooftest.DynamoDBHub, r events.DynamoDBEventRecord) (outbox.Kind, string) {
	t.Helper()
	it, err := stream.ItemFromImage(h.Schema, r.Change.NewImage)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := outbox.FromItem(it)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.To) == 0 {
		return ev.Kind, ""
	}
	return ev.Kind, ev.To[0]
}

// TestSESFaultsFailOnlyTheirRecordsAndNothingIsSentTwice invites three
// people through the API, on DynamoDB Local: SES throttles one address for
// as long as the notifier retries and rejects another. The notifier, fed
// the table's stream, reports exactly the throttled invitation's record;
// redelivered from there, as the event source mapping does, it sends that
// invitation once, does not try the rejected one again, and sends nothing
// else again; a further redelivery of the whole batch sends nothing.
func TestSESFaultsFailOnlyTheirRecordsAndNothingIsSentTwice(t *testing.T) {
	endpoint := testenv.DynamoDBLocal(t)
	emulator := testenv.SESLocal(t)
	h := prooftest.OpenDynamoDB(t, endpoint, http.DefaultTransport, maxAttempts)
	src := openStream(t, h, endpoint)
	proxy := sestest.NewProxy(t, emulator)
	client, err := sesmail.NewClient(context.Background(), proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	h.Deps.Sender = sesmail.New(client, "hub@hub.test", sesmail.WithRetryPolicy(email.RetryPolicy{
		MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond, MaxElapsed: 5 * time.Second, AttemptTimeout: 5 * time.Second,
	}))
	h.Deps.LogOutput = io.Discard
	n := h.Deps.Notifier()
	handle := func(batch []events.DynamoDBEventRecord) []string {
		resp, err := n.Handle(context.Background(), events.DynamoDBEvent{Records: batch})
		if err != nil {
			t.Fatal(err)
		}
		failed := []string{}
		for _, f := range resp.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		return failed
	}

	org := h.NewOrg(principal.Standard)
	if failed := handle(src.next(t)); len(failed) > 0 {
		t.Fatalf("the organization's own email failed: %v", failed)
	}
	sentBefore := len(proxy.Forwarded())

	ok, throttled, rejected := fresh(org), fresh(org), fresh(org)
	proxy.FailAlways(throttled, sestest.Throttled)
	proxy.FailAlways(rejected, sestest.Rejected)
	for _, to := range []string{ok, throttled, rejected} {
		h.MustDo(prooftest.Request{Method: "POST", Path: "/users", Caller: org.Admin, Body: prooftest.JSONBody(map[string]string{"email": to})}, http.StatusCreated)
	}
	// The stream is read until it holds the three invitations (DynamoDB
	// Local's stream may lag the writes); whatever else it holds goes in
	// the same batch.
	var batch []events.DynamoDBEventRecord
	for poll := 0; poll < 100 && invitationsTo(t, h, batch, ok, throttled, rejected) < 3; poll++ {
		if poll > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		batch = append(batch, src.next(t)...)
	}
	var want []string
	// expected emails by address: each invitation to its invitee (none
	// to the rejected one), each notice to the primary contact.
	expected := map[string]int{}
	for _, r := range batch {
		kind, to := recipient(t, h, r)
		switch {
		case kind == outbox.Invitation:
			if to != rejected {
				expected[to]++
			}
		default:
			expected[org.AdminEmail()]++
		}
		if kind == outbox.Invitation && to == throttled {
			want = append(want, r.Change.SequenceNumber)
		}
	}
	if n := invitationsTo(t, h, batch, ok, throttled, rejected); n != 3 || len(want) != 1 {
		t.Fatalf("the stream holds %d of the three invitations (%d to the throttled address) in %d records", n, len(want), len(batch))
	}

	failed := handle(batch)
	if !slices.Equal(failed, want) {
		t.Fatalf("reported %v as failed, want only the throttled invitation's record %v", failed, want)
	}
	rejectedAttempts := proxy.Attempts(rejected)

	proxy.Clear(throttled)
	first := slices.IndexFunc(batch, func(r events.DynamoDBEventRecord) bool { return r.Change.SequenceNumber == failed[0] })
	if again := handle(batch[first:]); len(again) > 0 {
		t.Fatalf("the redelivery failed again: %v", again)
	}
	if again := handle(batch); len(again) > 0 {
		t.Fatalf("a duplicate delivery of the whole batch failed: %v", again)
	}

	sent := map[string]int{}
	for _, form := range proxy.Forwarded()[sentBefore:] {
		sent[strings.ToLower(form.Get("Destination.ToAddresses.member.1"))]++
	}
	for to, want := range map[string]int{ok: 1, throttled: 1, rejected: 0} {
		if got := len(sestest.SentTo(t, emulator, to)); got != want {
			t.Errorf("the SES emulator holds %d emails to %s, want %d", got, to, want)
		}
	}
	for to := range merge(sent, expected) {
		if sent[to] != expected[to] {
			t.Errorf("%d emails sent to %s through three deliveries of the batch, want %d", sent[to], to, expected[to])
		}
	}
	if got := proxy.Attempts(rejected); got != rejectedAttempts {
		t.Errorf("the rejected invitation was tried again: %d attempts, then %d", rejectedAttempts, got)
	}
}

// invitationsTo counts the invitation records to the addresses.
func invitationsTo(t *testing.T, h *prooftest.DynamoDBHub, batch []events.DynamoDBEventRecord, addresses ...string) int {
	n := 0
	for _, r := range batch {
		if kind, to := recipient(t, h, r); kind == outbox.Invitation && slices.Contains(addresses, to) {
			n++
		}
	}
	return n
}

func merge(a, b map[string]int) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
