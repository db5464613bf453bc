package notifier_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/email/sestest"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/notifier"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/storage"
)

func TestARecordDeliveredAgainSendsOneEmail(t *testing.T) {
	tests := []struct {
		name    string
		batches [][]int // indexes into the records: 0 is the invitation, 1 another event
	}{
		{"twice in one batch", [][]int{{0, 0}}},
		{"in two batches", [][]int{{0}, {0}}},
		{"around another record, three times", [][]int{{0, 1, 0}, {1, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			to, other := address("twice"), address("other")
			ev, link, rec := h.invitation(to)
			_, _, otherRec := h.invitation(other)
			records := []events.DynamoDBEventRecord{rec, otherRec}
			for _, batch := range tt.batches {
				var recs []events.DynamoDBEventRecord
				for _, i := range batch {
					recs = append(recs, records[i])
				}
				if failed := h.handle(recs...); len(failed) != 0 {
					t.Fatalf("failed records %v, want none", failed)
				}
			}
			got := h.inbox(to)
			if len(got) != 1 || h.proxy.Attempts(to) != 1 {
				t.Fatalf("%d messages in the inbox after %d requests, want 1 and 1", len(got), h.proxy.Attempts(to))
			}
			if !strings.Contains(got[0].Body.Text, link) || !strings.Contains(got[0].Body.HTML, link) {
				t.Errorf("the email lacks its link:\n%s", got[0].Body.Text)
			}
			otherHandled := slices.ContainsFunc(tt.batches, func(batch []int) bool { return slices.Contains(batch, 1) })
			if otherHandled && len(h.inbox(other)) != 1 {
				t.Errorf("the other event's email went %d times, want 1", len(h.inbox(other)))
			}
			d, it, ok := h.delivery(ev)
			if !ok || d.Status != notifier.Sent || d.EventID != ev.ID || d.Kind != outbox.Invitation {
				t.Fatalf("delivery = %+v (found %v), want sent", d, ok)
			}
			if until := time.Until(it.ExpiresAt); until < outbox.Retention-time.Minute || until > outbox.Retention+time.Minute {
				t.Errorf("a sent delivery expires in %v, want the event retention %v", until, outbox.Retention)
			}
		})
	}
}

func TestAThrottledSendIsRetriedAndSucceeds(t *testing.T) {
	h := newHarness(t)
	to := address("throttled")
	ev, _, rec := h.invitation(to)
	h.proxy.FailNext(to, sestest.Throttled, sestest.Throttled)
	if failed := h.handle(rec); len(failed) != 0 {
		t.Fatalf("failed records %v, want none", failed)
	}
	if got := h.proxy.Attempts(to); got != 3 {
		t.Errorf("SES saw %d requests, want 3", got)
	}
	if got := h.inbox(to); len(got) != 1 {
		t.Errorf("%d messages in the inbox, want 1", len(got))
	}
	if d, _, _ := h.delivery(ev); d.Status != notifier.Sent {
		t.Errorf("delivery status = %q, want sent", d.Status)
	}
}

func TestAFailingSendIsReportedWhileTheOtherRecordsSucceed(t *testing.T) {
	tests := []struct {
		name     string
		fault    sestest.Fault
		attempts int
	}{
		{"SES keeps throttling", sestest.Throttled, fastRetries.MaxAttempts},
		{"SES is unavailable", sestest.Unavailable, fastRetries.MaxAttempts},
		{"the connection drops", sestest.ConnectionReset, fastRetries.MaxAttempts},
		{"sending is not allowed", sestest.AccessDenied, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			first, failing, last := address("first"), address("failing"), address("last")
			_, _, firstRec := h.invitation(first)
			failingEv, _, failingRec := h.invitation(failing)
			_, _, lastRec := h.invitation(last)
			h.proxy.FailAlways(failing, tt.fault)

			failed := h.handle(firstRec, failingRec, lastRec)
			if !slices.Equal(failed, []string{failingRec.Change.SequenceNumber}) {
				t.Fatalf("failed records %v, want [%s]", failed, failingRec.Change.SequenceNumber)
			}
			if got := h.proxy.Attempts(failing); got != tt.attempts {
				t.Errorf("SES saw %d requests for the failing record, want %d", got, tt.attempts)
			}
			if _, _, claimed := h.delivery(failingEv); claimed {
				t.Errorf("the failed event's claim was kept; a retry could not send it")
			}
			for _, to := range []string{first, last} {
				if got := h.inbox(to); len(got) != 1 {
					t.Errorf("%d messages to %s, want 1", len(got), to)
				}
			}

			// Lambda retries the batch from the failed record on.
			h.proxy.Clear(failing)
			if failed := h.handle(failingRec, lastRec); len(failed) != 0 {
				t.Fatalf("failed records on retry %v, want none", failed)
			}
			if got := h.inbox(failing); len(got) != 1 {
				t.Errorf("%d messages to the retried recipient, want 1", len(got))
			}
			if got := h.inbox(last); len(got) != 1 {
				t.Errorf("%d messages to the record after it, want still 1", len(got))
			}
		})
	}
}

func TestAnEmailThatCanNeverGoIsRejectedAndNotRetried(t *testing.T) {
	tests := []struct {
		name       string
		fault      *sestest.Fault
		modify     func(*outbox.Event)
		to         []string
		requests   int
		wantReason string
	}{
		{name: "SES rejects the message", fault: &sestest.Rejected, requests: 1, wantReason: "MessageRejected"},
		{name: "MAIL FROM domain not verified", fault: &sestest.DomainNotReady, requests: 1, wantReason: "MailFromDomainNotVerifiedException"},
		{name: "SES refuses the address", fault: &sestest.InvalidAddress, requests: 1, wantReason: "InvalidParameterValue"},
		{name: "the event has no link", modify: func(ev *outbox.Event) { ev.Sealed = nil }, wantReason: "link"},
		{name: "not an address", to: []string{"ada.example.com"}, wantReason: "ada.example.com"},
		{name: "no recipients", to: []string{}, wantReason: "no recipients"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			to := address("rejected")
			ev, _ := h.invitationEvent(to)
			if tt.to != nil {
				ev.To = tt.to
			}
			if tt.modify != nil {
				tt.modify(&ev)
			}
			if tt.fault != nil {
				h.proxy.FailAlways(to, *tt.fault)
			}
			rec := h.put(ev)

			for range 2 {
				if failed := h.handle(rec); len(failed) != 0 {
					t.Fatalf("failed records %v, want none: a rejection is not retried", failed)
				}
			}
			if got := h.proxy.Requests(); got != tt.requests {
				t.Errorf("SES saw %d requests, want %d", got, tt.requests)
			}
			d, it, ok := h.delivery(ev)
			if !ok || d.Status != notifier.Rejected || !strings.Contains(d.Reason, tt.wantReason) {
				t.Fatalf("delivery = %+v (found %v), want rejected for %q", d, ok, tt.wantReason)
			}
			if time.Until(it.ExpiresAt) < outbox.Retention-time.Minute {
				t.Errorf("a rejection expires at %v, before the event's retention", it.ExpiresAt)
			}
		})
	}
}

func TestRecordsOtherThanNewEventsAreSkipped(t *testing.T) {
	h := newHarness(t)
	ev, _, _ := h.invitation(address("skipped"))
	op, err := outbox.Put(ev)
	if err != nil {
		t.Fatal(err)
	}
	eventItem := op.Item
	userItem := storage.Item{Key: keys.User(org, "u1"), Type: "user", Version: 1, Data: []byte(`{"id":"u1"}`)}
	unknownKind := outbox.New(org, "org.renamed", time.Now())
	unknownKind.To = []string{address("unknown")}
	notJSON := eventItem
	notJSON.Key = keys.Event(org, "broken")
	notJSON.Data = []byte("{")
	noKeys := h.record(events.DynamoDBOperationTypeInsert, eventItem)
	delete(noKeys.Change.NewImage, h.schema.PK)

	tests := []struct {
		name   string
		record events.DynamoDBEventRecord
	}{
		{"an event modified", h.record(events.DynamoDBOperationTypeModify, eventItem)},
		{"an event removed by its TTL", h.record(events.DynamoDBOperationTypeRemove, eventItem)},
		{"a user inserted", h.record(events.DynamoDBOperationTypeInsert, userItem)},
		{"an event of a kind without email", h.put(unknownKind)},
		{"an event that is not JSON", h.record(events.DynamoDBOperationTypeInsert, notJSON)},
		{"an image without its key", noKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if failed := h.handle(tt.record); len(failed) != 0 {
				t.Fatalf("failed records %v, want none", failed)
			}
		})
	}
	if got := h.proxy.Requests(); got != 0 {
		t.Errorf("SES saw %d requests, want none", got)
	}
	for _, e := range []outbox.Event{ev, unknownKind} {
		if d, _, ok := h.delivery(e); ok {
			t.Errorf("a skipped record left a delivery: %+v", d)
		}
	}
}

// blockingSender holds each send until released, to keep a claim live.
type blockingSender struct {
	notifier.Sender
	entered chan struct{}
	release chan struct{}
}

func (b blockingSender) Send(ctx context.Context, m email.Message) error {
	b.entered <- struct{}{}
	<-b.release
	return b.Sender.Send(ctx, m)
}

func TestAClaimHeldByAnotherNotifierIsRetriedLater(t *testing.T) {
	h := newHarness(t)
	to := address("concurrent")
	ev, _, rec := h.invitation(to)
	slow := blockingSender{Sender: h.sender, entered: make(chan struct{}), release: make(chan struct{})}
	const lease = 3 * time.Minute
	holder := h.newNotifier(slow, notifier.WithLease(lease))
	holderFailed := make(chan []string, 1)
	go func() { holderFailed <- handleWith(t, holder, rec) }()
	<-slow.entered

	d, it, ok := h.delivery(ev)
	if !ok || d.Status != notifier.Sending {
		t.Fatalf("delivery while sending = %+v (found %v), want a sending claim", d, ok)
	}
	if until := time.Until(it.ExpiresAt); until < lease-5*time.Second || until > lease+time.Second {
		t.Errorf("the claim's lease ends in %v, want %v", until, lease)
	}
	if failed := h.handle(rec); !slices.Equal(failed, []string{rec.Change.SequenceNumber}) {
		t.Errorf("while the claim is held: failed records %v, want [%s]", failed, rec.Change.SequenceNumber)
	}

	close(slow.release)
	if failed := <-holderFailed; len(failed) != 0 {
		t.Fatalf("the holder's failed records %v, want none", failed)
	}
	if failed := h.handle(rec); len(failed) != 0 {
		t.Errorf("after the holder sent: failed records %v, want none", failed)
	}
	if got := h.inbox(to); len(got) != 1 {
		t.Errorf("%d messages in the inbox, want 1", len(got))
	}
}

func TestAClaimWhoseLeaseEndedIsTakenOver(t *testing.T) {
	h := newHarness(t)
	to := address("abandoned")
	ev, _, rec := h.invitation(to)
	abandoned, err := json.Marshal(map[string]any{"org": ev.Org, "event_id": ev.ID, "kind": ev.Kind, "status": notifier.Sending, "at": time.Now().Add(-10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	err = h.db.Write(context.Background(), storage.Put(storage.Item{
		Key:       keys.Delivery(ev.Org, ev.ID),
		Type:      notifier.DeliveryType,
		Version:   1,
		ExpiresAt: time.Now().Add(-5 * time.Minute),
		Data:      abandoned,
	}, storage.Condition{}))
	if err != nil {
		t.Fatalf("write the abandoned claim: %v", err)
	}
	if failed := h.handle(rec); len(failed) != 0 {
		t.Fatalf("failed records %v, want none", failed)
	}
	if got := h.inbox(to); len(got) != 1 {
		t.Errorf("%d messages in the inbox, want 1", len(got))
	}
	if d, _, _ := h.delivery(ev); d.Status != notifier.Sent {
		t.Errorf("delivery status = %q, want sent", d.Status)
	}
}

func TestRecipientsAreDeduplicatedWithoutRegardToCase(t *testing.T) {
	contact := address("Contact")
	resolver := recipientsFunc(func(_ context.Context, ev outbox.Event) ([]string, error) {
		return append(slices.Clone(ev.To), strings.ToUpper(contact), " "+contact, ""), nil
	})
	h := newHarness(t, notifier.WithRecipients(resolver))
	invitee := address("Invitee")
	_, _, rec := h.invitation(invitee, strings.ToLower(invitee), contact)
	if failed := h.handle(rec); len(failed) != 0 {
		t.Fatalf("failed records %v, want none", failed)
	}
	var to []string
	for _, form := range h.proxy.Forwarded() {
		for key, values := range form {
			if strings.HasPrefix(key, "Destination.ToAddresses.member.") {
				to = append(to, values...)
			}
		}
	}
	slices.Sort(to)
	want := []string{invitee, contact}
	slices.Sort(want)
	if !slices.Equal(to, want) {
		t.Errorf("sent to %v, want %v", to, want)
	}
}

type recipientsFunc func(context.Context, outbox.Event) ([]string, error)

func (f recipientsFunc) Recipients(ctx context.Context, ev outbox.Event) ([]string, error) {
	return f(ctx, ev)
}

func TestAnEndedInvocationLeavesItsRecordsForARetry(t *testing.T) {
	h := newHarness(t)
	_, _, first := h.invitation(address("late"))
	_, _, second := h.invitation(address("later"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	resp, err := h.notifier.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{first, second}})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	want := []events.DynamoDBBatchItemFailure{{ItemIdentifier: first.Change.SequenceNumber}, {ItemIdentifier: second.Change.SequenceNumber}}
	if !slices.Equal(resp.BatchItemFailures, want) {
		t.Errorf("failures = %v, want %v", resp.BatchItemFailures, want)
	}
	if got := h.proxy.Requests(); got != 0 {
		t.Errorf("SES saw %d requests, want none", got)
	}
}

func TestAFailedRecordWithoutASequenceNumberFailsTheBatch(t *testing.T) {
	h := newHarness(t)
	to := address("unnumbered")
	_, _, rec := h.invitation(to)
	rec.Change.SequenceNumber = ""
	h.proxy.FailAlways(to, sestest.Unavailable)
	if _, err := h.notifier.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}}); err == nil {
		t.Fatal("Handle = nil, want an error: the failure cannot be reported by record")
	}
}

func TestLogsNameTheEventButNeverItsTokenOrBody(t *testing.T) {
	h := newHarness(t)
	sent, rejected, failing := address("sent"), address("rejected"), address("failing")
	sentEv, _, sentRec := h.invitation(sent)
	_, _, rejectedRec := h.invitation(rejected)
	_, _, failingRec := h.invitation(failing)
	h.proxy.FailAlways(rejected, sestest.Rejected)
	h.proxy.FailAlways(failing, sestest.Unavailable)
	h.handle(sentRec, sentRec, rejectedRec, failingRec)

	outcomes := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(h.logs.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		id, _ := entry["event_id"].(string)
		if id == "" || entry["kind"] != string(outbox.Invitation) || entry["sequence_number"] == "" {
			t.Errorf("log line lacks the event id, kind or sequence number: %s", line)
		}
		if outcome, ok := entry["outcome"].(string); ok {
			outcomes[id] = append(outcomes[id], outcome)
		}
	}
	if got := outcomes[sentEv.ID]; !slices.Equal(got, []string{"sent", "duplicate"}) {
		t.Errorf("outcomes logged for the sent event = %v, want [sent duplicate]", got)
	}
	if len(outcomes) != 3 {
		t.Errorf("outcomes logged for %d events, want 3: %v", len(outcomes), outcomes)
	}
	// checkLogsKeepSecrets, run at cleanup, looks for the tokens, links and
	// body phrases.
}

func TestEachKindIsSentWithItsTemplate(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		kind    outbox.Kind
		data    map[string]string
		link    string
		subject string
		greets  string
	}{
		{
			kind:    outbox.Invitation,
			data:    map[string]string{"org_name": "Acme", "inviter": "Ada Lovelace", "expires_at": "Tue, 10 Mar 2026 09:00:00 UTC"},
			link:    "https://hub.example.com/accept-invitation#token=inv1tat10n",
			subject: "You're invited to Acme on Integration Hub",
			greets:  "Hello,",
		},
		{
			kind:    outbox.PasswordResetRequested,
			data:    map[string]string{"name": "Grace", "expires_at": "Tue, 10 Mar 2026 09:00:00 UTC"},
			link:    "https://hub.example.com/reset-password#token=r3s3t",
			subject: "Reset your Integration Hub password",
			greets:  "Hello Grace,",
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			to := address("kind")
			ev := outbox.New(org, tt.kind, time.Now())
			ev.To, ev.Data = []string{to}, tt.data
			ev.Sealed = map[string]string{"link": h.box.Seal([]byte(tt.link), ev.SealedContext())}
			h.mu.Lock()
			h.secrets = append(h.secrets, tt.link)
			h.mu.Unlock()
			if failed := h.handle(h.put(ev)); len(failed) != 0 {
				t.Fatalf("failed records %v, want none", failed)
			}
			got := h.inbox(to)
			if len(got) != 1 {
				t.Fatalf("%d messages, want 1", len(got))
			}
			if got[0].Subject != tt.subject || !strings.HasPrefix(got[0].Body.Text, tt.greets) || !strings.Contains(got[0].Body.Text, tt.link) {
				t.Errorf("message = %q:\n%s", got[0].Subject, got[0].Body.Text)
			}
		})
	}
}
