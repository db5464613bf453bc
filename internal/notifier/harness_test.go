package notifier_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/email/sesmail"
	"github.com/integration-hub/hub/internal/email/sestest"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/notifier"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/embedded"
	"github.com/integration-hub/hub/internal/stream"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	org    = "o1"
	sender = "hub@example.com"
)

// fastRetries keeps the SES sender's backoff in milliseconds.
var fastRetries = email.RetryPolicy{
	MaxAttempts:    3,
	BaseDelay:      time.Millisecond,
	MaxDelay:       4 * time.Millisecond,
	MaxElapsed:     5 * time.Second,
	AttemptTimeout: 5 * time.Second,
}

// bodyPhrases are in the invitation email's body and must never be logged.
var bodyPhrases = []string{"has invited you to join", "Accept the invitation and choose"}

// harness is a notifier on a real table (the embedded adapter) that sends
// through the real SES sender to the SES emulator, behind a proxy that
// injects SES's errors.
type harness struct {
	t        *testing.T
	schema   storage.Schema
	db       *embedded.DB
	box      *secrets.Box
	emulator string
	proxy    *sestest.Proxy
	sender   *sesmail.Sender
	logs     *lockedBuffer
	notifier *notifier.Notifier

	mu      sync.Mutex
	secrets []string // tokens and links that no log line may hold
}

func newHarness(t *testing.T, opts ...notifier.Option) *harness {
	t.Helper()
	tpl, err := template.Load()
	if err != nil {
		t.Fatalf("load template.yaml: %v", err)
	}
	db, err := embedded.Open(t.TempDir()+"/t.db", tpl.Table.Schema)
	if err != nil {
		t.Fatalf("open the table: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	ring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, secrets.MinMasterSize))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, schema: tpl.Table.Schema, db: db, box: ring.Box("outbox"), logs: &lockedBuffer{}}
	h.emulator = testenv.SESLocal(t)
	h.proxy = sestest.NewProxy(t, h.emulator)
	client, err := sesmail.NewClient(context.Background(), h.proxy.URL)
	if err != nil {
		t.Fatalf("NewSESClient: %v", err)
	}
	h.sender = sesmail.New(client, sender, sesmail.WithRetryPolicy(fastRetries))
	h.notifier = h.newNotifier(h.sender, opts...)
	t.Cleanup(h.checkLogsKeepSecrets)
	return h
}

// newNotifier is another notifier on the same table and log.
func (h *harness) newNotifier(s notifier.Sender, opts ...notifier.Option) *notifier.Notifier {
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return notifier.New(h.db, s, h.box, h.schema, append([]notifier.Option{notifier.WithLogger(logger)}, opts...)...)
}

func (h *harness) checkLogsKeepSecrets() {
	logs := h.logs.String()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, secret := range append(h.secrets, bodyPhrases...) {
		if strings.Contains(logs, secret) {
			h.t.Errorf("the logs hold %q:\n%s", secret, logs)
		}
	}
}

var addressCount atomic.Int64

// address is unique to the test binary: the emulator is shared.
func address(label string) string {
	return fmt.Sprintf("%s-%d-%d@example.com", label, time.Now().UnixNano(), addressCount.Add(1))
}

// invitation writes an invitation event to the table, as the users package
// does, and returns it with its accept link and its stream record.
func (h *harness) invitation(to ...string) (outbox.Event, string, events.DynamoDBEventRecord) {
	h.t.Helper()
	ev, link := h.invitationEvent(to...)
	return ev, link, h.put(ev)
}

// invitationEvent is an invitation event, not written yet, and its link.
func (h *harness) invitationEvent(to ...string) (outbox.Event, string) {
	token := make([]byte, 32)
	rand.Read(token)
	link := "https://hub.example.com/accept-invitation#token=" + hex.EncodeToString(token)
	h.mu.Lock()
	h.secrets = append(h.secrets, hex.EncodeToString(token), link)
	h.mu.Unlock()
	ev := outbox.New(org, outbox.Invitation, time.Now())
	ev.To = to
	ev.Data = map[string]string{"org_name": "Acme", "inviter": "Ada Lovelace", "expires_at": "Tue, 10 Mar 2026 09:00:00 UTC"}
	ev.Sealed = map[string]string{"link": h.box.Seal([]byte(link), ev.SealedContext())}
	return ev, link
}

// put writes an event to the table and returns its INSERT record.
func (h *harness) put(ev outbox.Event) events.DynamoDBEventRecord {
	h.t.Helper()
	op, err := outbox.Put(ev)
	if err != nil {
		h.t.Fatalf("outbox.Put: %v", err)
	}
	if err := h.db.Write(context.Background(), op); err != nil {
		h.t.Fatalf("write event: %v", err)
	}
	return h.record(events.DynamoDBOperationTypeInsert, op.Item)
}

var sequence atomic.Int64

// record is a stream record of a change to it, as Lambda receives it.
func (h *harness) record(op events.DynamoDBOperationType, it storage.Item) events.DynamoDBEventRecord {
	seq := sequence.Add(1)
	change := events.DynamoDBStreamRecord{
		ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Now()},
		Keys:                        stream.KeysFromItem(h.schema, it.Key),
		SequenceNumber:              fmt.Sprintf("%021d", seq),
		StreamViewType:              string(events.DynamoDBStreamViewTypeNewImage),
	}
	if op != events.DynamoDBOperationTypeRemove {
		change.NewImage = stream.ImageFromItem(h.schema, it)
	}
	return events.DynamoDBEventRecord{
		AWSRegion:      "us-east-1",
		EventID:        fmt.Sprintf("record-%d", seq),
		EventName:      string(op),
		EventSource:    "aws:dynamodb",
		EventVersion:   "1.1",
		EventSourceArn: "arn:aws:dynamodb:us-east-1:123456789012:table/hub/stream/2026-01-01T00:00:00.000",
		Change:         change,
	}
}

// handle gives the records to the notifier as one batch and returns the
// sequence numbers it reported as failed.
func (h *harness) handle(records ...events.DynamoDBEventRecord) []string {
	h.t.Helper()
	return handleWith(h.t, h.notifier, records...)
}

func handleWith(t *testing.T, n *notifier.Notifier, records ...events.DynamoDBEventRecord) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := n.Handle(ctx, events.DynamoDBEvent{Records: records})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	failed := []string{}
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	return failed
}

// delivery is the event's delivery item, if any.
func (h *harness) delivery(ev outbox.Event) (notifier.Delivery, storage.Item, bool) {
	h.t.Helper()
	it, err := h.db.Get(context.Background(), keys.Delivery(ev.Org, ev.ID))
	if errors.Is(err, storage.ErrNotFound) {
		return notifier.Delivery{}, storage.Item{}, false
	}
	if err != nil {
		h.t.Fatalf("read delivery: %v", err)
	}
	d, err := notifier.DeliveryFromItem(it)
	if err != nil {
		h.t.Fatal(err)
	}
	return d, it, true
}

// inbox is what the emulator received for the address.
func (h *harness) inbox(to string) []sestest.Email {
	h.t.Helper()
	return sestest.SentTo(h.t, h.emulator, to)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
