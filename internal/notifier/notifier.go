// Package notifier is the notifier Lambda's logic: for each event item the
// table's stream delivers (the transactional outbox, internal/outbox), it
// renders the event's email and sends it.
//
// The stream delivers a record at least once, and a batch is retried from
// its first failed record, so the notifier makes each event's email go out
// once through a delivery item (keys.Delivery) in three steps:
//
//  1. claim: put the delivery as "sending" only if absent, with a lease (its
//     expiry) so a notifier that dies mid-send does not block the event
//     forever. Its version is random: it names this claim, so a notifier
//     whose lease ran out cannot overwrite the claim of the one that took
//     over.
//  2. send.
//  3. settle, conditional on the claim's version: "sent" or "rejected"
//     (kept for the event's retention, so redeliveries are skipped), or
//     delete the claim after a failure that a retry may get past, and
//     report the record as a batch item failure.
//
// A record whose event is sent or rejected is skipped; one whose claim
// another notifier holds is reported as failed, to be retried after it.
//
// Logs carry the event's id and kind, never its fields, links or body.
package notifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/stream"
)

// Store is the part of the storage port the notifier uses.
type Store interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
	Write(ctx context.Context, ops ...storage.Op) error
}

// Sender delivers one email. Its errors are classified as in package email
// (email.IsPermanent); it retries transient failures itself.
type Sender interface {
	Send(ctx context.Context, m email.Message) error
}

// Opener opens the sealed fields of an event (secrets.Box of the "outbox"
// purpose).
type Opener interface {
	Open(sealed string, context []byte) ([]byte, error)
}

// DefaultLease bounds how long a claim blocks other notifiers when the one
// holding it died mid-send. It must outlast one send with its retries
// (email.DefaultRetryPolicy) and the Lambda timeout.
const DefaultLease = 5 * time.Minute

// settleTimeout bounds the writes that record an outcome: they run even when
// the invocation's context has ended, because a sent email whose delivery
// is not recorded would be sent again.
const settleTimeout = 10 * time.Second

// Notifier handles stream batches. Build it once per process.
type Notifier struct {
	table      Store
	sender     Sender
	box        Opener
	schema     storage.Schema
	recipients Recipients
	fields     Fields
	log        *slog.Logger
	now        func() time.Time
	lease      time.Duration
	sendable   map[outbox.Kind]bool
}

// Option configures a Notifier.
type Option func(*Notifier)

// WithLogger sets the logger (a JSON logger on standard error by default).
func WithLogger(l *slog.Logger) Option { return func(n *Notifier) { n.log = l } }

// WithRecipients replaces EventRecipients.
func WithRecipients(r Recipients) Option { return func(n *Notifier) { n.recipients = r } }

// WithFields sets what fills in the fields an event leaves to the time of
// sending, and which of each kind of event's fields, ids that stand for a
// name, no email shows (none by default): see Fields.
func WithFields(f Fields) Option { return func(n *Notifier) { n.fields = f } }

// WithClock sets the clock that times claims and deliveries.
func WithClock(now func() time.Time) Option { return func(n *Notifier) { n.now = now } }

// WithLease replaces DefaultLease.
func WithLease(d time.Duration) Option { return func(n *Notifier) { n.lease = d } }

// New builds a notifier. schema is the table's (template.Load), to read
// the stream's images.
func New(table Store, sender Sender, box Opener, schema storage.Schema, opts ...Option) *Notifier {
	n := &Notifier{
		table:      table,
		sender:     sender,
		box:        box,
		schema:     schema,
		recipients: EventRecipients{},
		now:        time.Now,
		lease:      DefaultLease,
		sendable:   map[outbox.Kind]bool{},
	}
	for _, opt := range opts {
		opt(n)
	}
	if n.log == nil {
		n.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	for _, kind := range email.Kinds() {
		n.sendable[kind] = true
	}
	return n
}

// outcome is what became of one record.
type outcome string

const (
	outcomeSent      outcome = "sent"
	outcomeDuplicate outcome = "duplicate"
	outcomeSkipped   outcome = "skipped"
	outcomeRejected  outcome = "rejected"
	// outcomeRetry is reported as a batch item failure.
	outcomeRetry outcome = "retry"
)

// Handle handles a batch in order. Records it could not handle yet are
// reported by sequence number, so the event source mapping retries the
// batch from the first of them; records after it that were handled are
// skipped as duplicates then. It returns an error only when it cannot
// report a failed record, which makes the whole batch retried.
func (n *Notifier) Handle(ctx context.Context, batch events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	for _, rec := range batch.Records {
		if n.handle(ctx, rec) != outcomeRetry {
			continue
		}
		seq := rec.Change.SequenceNumber
		if seq == "" {
			return events.DynamoDBEventResponse{}, fmt.Errorf("notifier: record %q failed and has no sequence number to report", rec.EventID)
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seq})
	}
	return resp, nil
}

func (n *Notifier) handle(ctx context.Context, rec events.DynamoDBEventRecord) outcome {
	log := n.log.With("sequence_number", rec.Change.SequenceNumber)
	if rec.EventName != string(events.DynamoDBOperationTypeInsert) {
		log.DebugContext(ctx, "record skipped: not an insert", "event_name", rec.EventName, "outcome", outcomeSkipped)
		return outcomeSkipped
	}
	item, err := stream.ItemFromImage(n.schema, rec.Change.NewImage)
	if err != nil {
		log.ErrorContext(ctx, "record skipped: its image cannot be read", "error", err, "outcome", outcomeSkipped)
		return outcomeSkipped
	}
	if item.Type != outbox.EntityType {
		log.DebugContext(ctx, "record skipped: not an event", "type", item.Type, "outcome", outcomeSkipped)
		return outcomeSkipped
	}
	ev, err := outbox.FromItem(item)
	if err != nil {
		log.ErrorContext(ctx, "record skipped: the event cannot be read", "key", item.Key.String(), "error", err, "outcome", outcomeSkipped)
		return outcomeSkipped
	}
	log = log.With("event_id", ev.ID, "kind", string(ev.Kind), "org", ev.Org)
	if !n.sendable[ev.Kind] {
		log.InfoContext(ctx, "event skipped: no email for its kind", "outcome", outcomeSkipped)
		return outcomeSkipped
	}
	if err := ctx.Err(); err != nil {
		log.WarnContext(ctx, "event left for a retry: the invocation is ending", "error", err, "outcome", outcomeRetry)
		return outcomeRetry
	}

	msg, err := n.compose(ctx, ev)
	switch {
	case email.IsPermanent(err):
		n.rejectUnclaimed(ctx, log, ev, err)
		return outcomeRejected
	case err != nil:
		log.WarnContext(ctx, "event left for a retry: its email cannot be made", "error", err, "outcome", outcomeRetry)
		return outcomeRetry
	}

	version, existing, err := n.claim(ctx, ev)
	switch {
	case err != nil:
		log.WarnContext(ctx, "event left for a retry: cannot claim its delivery", "error", err, "outcome", outcomeRetry)
		return outcomeRetry
	case existing != nil && existing.Status == Sending:
		log.InfoContext(ctx, "event left for a retry: another notifier is sending it", "outcome", outcomeRetry)
		return outcomeRetry
	case existing != nil:
		log.InfoContext(ctx, "event skipped: already handled", "status", string(existing.Status), "outcome", outcomeDuplicate)
		return outcomeDuplicate
	}

	err = n.sender.Send(ctx, msg)
	switch {
	case err == nil:
		n.settle(ctx, log, ev, version, Sent, "")
		log.InfoContext(ctx, "email sent", "recipients", len(msg.To), "outcome", outcomeSent)
		return outcomeSent
	case email.IsPermanent(err):
		n.settle(ctx, log, ev, version, Rejected, err.Error())
		log.ErrorContext(ctx, "email rejected; it will not be retried", "recipients", len(msg.To), "error", err, "outcome", outcomeRejected)
		return outcomeRejected
	default:
		n.release(ctx, log, ev, version)
		log.WarnContext(ctx, "event left for a retry: the email was not sent", "error", err, "transient", email.IsTransient(err), "outcome", outcomeRetry)
		return outcomeRetry
	}
}

// compose makes the event's email: its fields are its data, less the
// fields internal to the Fields resolver for the event's kind, what the
// resolver returns where that leaves none (an internal field included: the
// resolver gives one back when it is the only clue), and its opened sealed
// fields.
func (n *Notifier) compose(ctx context.Context, ev outbox.Event) (email.Message, error) {
	fields := make(map[string]string, len(ev.Data)+len(ev.Sealed))
	maps.Copy(fields, ev.Data)
	if n.fields != nil {
		resolved, err := n.fields.Fields(ctx, ev)
		if err != nil {
			return email.Message{}, fmt.Errorf("notifier: resolve fields: %w", err)
		}
		for _, name := range n.fields.Internal(ev.Kind) {
			delete(fields, name)
		}
		for name, value := range resolved {
			if fields[name] == "" {
				fields[name] = value
			}
		}
	}
	for name, sealed := range ev.Sealed {
		plain, err := n.box.Open(sealed, ev.SealedContext())
		if err != nil {
			return email.Message{}, fmt.Errorf("notifier: open sealed field %q: %w", name, err)
		}
		fields[name] = string(plain)
	}
	subject, text, html, err := email.Render(ev.Kind, fields)
	if err != nil {
		return email.Message{}, err
	}
	to, err := n.recipients.Recipients(ctx, ev)
	if err != nil {
		return email.Message{}, fmt.Errorf("notifier: resolve recipients: %w", err)
	}
	msg := email.Message{To: distinctAddresses(to), Subject: subject, Text: text, HTML: html, EventID: ev.ID}
	if err := msg.Validate(); err != nil {
		return email.Message{}, err
	}
	return msg, nil
}

// claim puts the event's delivery as "sending" if it has none. When it has
// one, existing is that delivery and nothing was written.
func (n *Notifier) claim(ctx context.Context, ev outbox.Event) (version int64, existing *Delivery, err error) {
	now := n.now()
	version = newClaimVersion()
	it, err := n.delivery(ev, Sending, "", now).item(version, now.Add(n.lease))
	if err != nil {
		return 0, nil, err
	}
	err = n.table.Write(ctx, storage.Put(it, storage.Absent()))
	if err == nil {
		return version, nil, nil
	}
	if !errors.Is(err, storage.ErrConditionFailed) {
		return 0, nil, fmt.Errorf("notifier: claim delivery: %w", err)
	}
	current, err := n.table.Get(ctx, keys.Delivery(ev.Org, ev.ID))
	if err != nil {
		// ErrNotFound too: the claim that stood in the way just expired.
		return 0, nil, fmt.Errorf("notifier: read the delivery in the way of the claim: %w", err)
	}
	d, err := DeliveryFromItem(current)
	if err != nil {
		return 0, nil, err
	}
	return 0, &d, nil
}

// settle replaces this notifier's claim with the final status.
func (n *Notifier) settle(ctx context.Context, log *slog.Logger, ev outbox.Event, claimVersion int64, status Status, reason string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	now := n.now()
	it, err := n.delivery(ev, status, reason, now).item(claimVersion+1, now.Add(outbox.Retention))
	if err == nil {
		err = n.table.Write(ctx, storage.Put(it, storage.VersionIs(claimVersion)))
	}
	if err != nil {
		log.ErrorContext(ctx, "delivery not recorded: a redelivery after the lease may send the email again",
			"status", string(status), "error", err)
	}
}

// release deletes this notifier's claim, so a retry can send.
func (n *Notifier) release(ctx context.Context, log *slog.Logger, ev outbox.Event, claimVersion int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	err := n.table.Write(ctx, storage.Delete(keys.Delivery(ev.Org, ev.ID), storage.VersionIs(claimVersion)))
	if err != nil {
		log.WarnContext(ctx, "claim not released: retries wait for its lease", "error", err)
	}
}

// rejectUnclaimed records an event whose email cannot be made, unless its
// delivery is already recorded.
func (n *Notifier) rejectUnclaimed(ctx context.Context, log *slog.Logger, ev outbox.Event, cause error) {
	log.ErrorContext(ctx, "email rejected; it will not be retried", "error", cause, "outcome", outcomeRejected)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	now := n.now()
	it, err := n.delivery(ev, Rejected, cause.Error(), now).item(newClaimVersion(), now.Add(outbox.Retention))
	if err == nil {
		err = n.table.Write(ctx, storage.Put(it, storage.Absent()))
	}
	if err != nil && !errors.Is(err, storage.ErrConditionFailed) {
		log.WarnContext(ctx, "rejection not recorded", "error", err)
	}
}

func (n *Notifier) delivery(ev outbox.Event, status Status, reason string, now time.Time) Delivery {
	return Delivery{Org: ev.Org, EventID: ev.ID, Kind: ev.Kind, Status: status, At: now.UTC(), Reason: reason}
}

// newClaimVersion is random rather than 1, so a claim is told apart from
// any other claim of the same event; the room left above it lets the
// settled delivery take the next version.
func newClaimVersion() int64 { return rand.Int64N(1<<62) + 1 }
