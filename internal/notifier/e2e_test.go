package notifier_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/email/sesmail"
	"github.com/integration-hub/hub/internal/email/sestest"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/notifier"
	"github.com/integration-hub/hub/internal/onetime"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/partnerform"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/embedded"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/users"
)

// TestAnInvitationReachesTheInviteeOnce runs the path of an invitation: the
// users package writes the invited user with its outbox event, which names
// the inviter by id and leaves both names to the time of sending, the
// table's change feed carries every record of that write (the stream
// filter is not applied, so the notifier must skip the others), and the
// notifier reads the names (users.EventNames) and sends through SES to the
// emulator, given the records twice in one batch and again in a second
// batch.
func TestAnInvitationReachesTheInviteeOnce(t *testing.T) {
	ctx := context.Background()
	tpl, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	schema := tpl.Table.Schema
	db, err := embedded.Open(t.TempDir()+"/t.db", schema)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ring, err := secrets.NewKeyring(bytes.Repeat([]byte{9}, secrets.MinMasterSize))
	if err != nil {
		t.Fatal(err)
	}
	box := ring.Box("outbox")
	emulator := testenv.SESLocal(t)
	client, err := sesmail.NewClient(ctx, emulator)
	if err != nil {
		t.Fatal(err)
	}
	n := notifier.New(db, sesmail.New(client, sender, sesmail.WithRetryPolicy(fastRetries)), box, schema,
		notifier.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))),
		notifier.WithFields(users.EventNames{Table: db}))

	profile, err := orgs.Organization{ID: org, Name: "Acme"}.Item(1)
	if err != nil {
		t.Fatal(err)
	}
	inviter := users.User{ID: ids.New(), Org: org, Email: address("inviter"), Name: "Ada Lovelace", Role: users.RoleHubUser, Status: users.Active}
	inviterPuts, err := inviter.PutOps(1, storage.Absent())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, append(inviterPuts, storage.Put(profile, storage.Absent()))...); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Feed().Poll(ctx); err != nil { // past the organization and the inviter
		t.Fatal(err)
	}

	invitee := address("invitee")
	links := users.Links{Base: "https://hub.example.com"}
	u := users.User{ID: ids.New(), Org: org, Email: invitee, Name: "Grace Hopper", Role: users.RoleHubUser}
	ops, err := users.InviteOps(u, users.Invitation{InviterID: inviter.ID}, links, box, time.Now())
	if err != nil {
		t.Fatalf("InviteOps: %v", err)
	}
	if err := db.Write(ctx, ops...); err != nil {
		t.Fatalf("write the invitation: %v", err)
	}

	feed := db.Feed()
	records, err := feed.Poll(ctx)
	if err != nil || len(records) == 0 {
		t.Fatalf("feed holds %d records (%v), want the invitation's", len(records), err)
	}
	for _, batch := range [][]events.DynamoDBEventRecord{append(records, records...), records} {
		resp, err := n.Handle(ctx, events.DynamoDBEvent{Records: batch})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handle = %v, %v; want no failures", resp.BatchItemFailures, err)
		}
	}
	deliveryRecords, err := feed.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := n.Handle(ctx, events.DynamoDBEvent{Records: deliveryRecords}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle of the notifier's own writes = %v, %v; want them skipped", resp.BatchItemFailures, err)
	}

	inbox := sestest.SentTo(t, emulator, invitee)
	if len(inbox) != 1 {
		t.Fatalf("%d messages to the invitee, want 1", len(inbox))
	}
	msg := inbox[0]
	if msg.Subject != "You're invited to Acme on Integration Hub" || msg.From != sender {
		t.Errorf("message from %q with subject %q", msg.From, msg.Subject)
	}
	if !strings.Contains(msg.Body.Text, "Ada Lovelace has invited you to join Acme") {
		t.Errorf("the message does not name the inviter and the organization:\n%s", msg.Body.Text)
	}
	const acceptPrefix = "https://hub.example.com/accept-invitation#token="
	var secret string
	for _, link := range email.Links(msg.Body.Text) {
		if rest, ok := strings.CutPrefix(link, acceptPrefix); ok {
			if secret, err = url.QueryUnescape(rest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if secret == "" || !strings.Contains(msg.Body.HTML, acceptPrefix) {
		t.Fatalf("no accept link in the message:\n%s", msg.Body.Text)
	}
	if _, err := db.Get(ctx, onetime.Key(secret)); err != nil {
		t.Errorf("the link's token is not the invitation's: %v", err)
	}
}

// TestTheInvitationEmailsNameTheInviterAndThePartnerAndShowNoIDs: an
// invitation names its inviter by id (users.InviterField) in both its
// events, and a partner user's names the partner organization by id
// (partner_id, users.PartnerField) in the organization's "user invited"
// notification, for users.EventNames to read the names when the emails
// are sent. The invitee's email and the notification, which shows its
// event's fields as rows, both name the inviter; the notification of a
// partner user's invitation names the partner organization. No email
// shows either id, which is for the lookup alone.
func TestTheInvitationEmailsNameTheInviterAndThePartnerAndShowNoIDs(t *testing.T) {
	contacts := map[string]string{} // the invitee's address → who gets the notification of the invitation
	toContact := recipientsFunc(func(_ context.Context, ev outbox.Event) ([]string, error) {
		if ev.Kind == outbox.UserInvited {
			return []string{contacts[ev.Data["email"]]}, nil
		}
		return ev.To, nil
	})
	h := newHarness(t)
	h.notifier = h.newNotifier(h.sender, notifier.WithRecipients(toContact), notifier.WithFields(users.EventNames{Table: h.db}))

	partner := globex(users.PartnerActive)
	inviter := users.User{ID: ids.New(), Org: org, Email: address("inviter"), Name: "Ada Lovelace", Role: users.RoleHubUser, Status: users.Active}
	h.seedNames(partner, inviter)

	type message struct {
		name    string
		to      string
		subject string
		want    []string
	}
	var (
		records  []events.DynamoDBEventRecord
		messages []message
	)
	for _, inv := range []struct {
		name    string
		role    users.Role
		partner string
		// notice is what the notification says besides the inviter and
		// the invitee.
		notice []string
	}{
		{"a hub user's", users.RoleHubUser, "", nil},
		{"a partner user's", users.RolePartnerUser, partner.ID, []string{"Partner: Globex Partners"}},
	} {
		invitee, contact := address("invitee"), address("contact")
		contacts[invitee] = contact
		u := users.User{ID: ids.New(), Org: org, Email: invitee, Name: "Grace Hopper", Role: inv.role, Partner: inv.partner}
		ops, err := users.InviteOps(u, users.Invitation{InviterID: inviter.ID, Notify: true}, users.Links{Base: "https://hub.example.com"}, h.box, time.Now())
		if err != nil {
			t.Fatalf("InviteOps: %v", err)
		}
		raised := 0
		for _, op := range ops {
			if op.Item.Type != outbox.EntityType {
				continue
			}
			ev, err := outbox.FromItem(op.Item)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Data[users.InviterField] != inviter.ID {
				t.Fatalf("%s %s event names its inviter by %q, want the id %s", inv.name, ev.Kind, ev.Data[users.InviterField], inviter.ID)
			}
			if ev.Kind == outbox.UserInvited && ev.Data["partner_id"] != inv.partner {
				t.Fatalf("%s %s event names its partner by %q, want the id %q", inv.name, ev.Kind, ev.Data["partner_id"], inv.partner)
			}
			// The accept link is a secret that no log may hold.
			link, err := h.box.Open(ev.Sealed["link"], ev.SealedContext())
			if err == nil && len(link) > 0 {
				h.mu.Lock()
				h.secrets = append(h.secrets, string(link))
				h.mu.Unlock()
			}
			records = append(records, h.put(ev))
			raised++
		}
		if raised != 2 {
			t.Fatalf("%s invitation raised %d events, want the invitation and its notification", inv.name, raised)
		}
		messages = append(messages,
			message{inv.name + " invitation", invitee, "You're invited to Acme on Integration Hub", []string{"Ada Lovelace has invited you to join Acme"}},
			message{"the user.invited notification of " + inv.name + " invitation", contact, "User invited — Acme",
				append([]string{"Invited by: Ada Lovelace", "Email: " + invitee}, inv.notice...)})
	}
	if failed := h.handle(records...); len(failed) != 0 {
		t.Fatalf("failed records %v, want none", failed)
	}

	for _, tt := range messages {
		t.Run(tt.name, func(t *testing.T) {
			inbox := sestest.SentTo(t, h.emulator, tt.to)
			if len(inbox) != 1 {
				t.Fatalf("%d messages to %s, want 1", len(inbox), tt.to)
			}
			msg := inbox[0]
			if msg.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", msg.Subject, tt.subject)
			}
			for _, want := range tt.want {
				if !strings.Contains(msg.Body.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, msg.Body.Text)
				}
			}
			for body, got := range map[string]string{"text": msg.Body.Text, "HTML": msg.Body.HTML} {
				if strings.Contains(got, inviter.ID) || strings.Contains(strings.ToLower(got), "inviter id") {
					t.Errorf("the %s shows the inviter's id:\n%s", body, got)
				}
				if strings.Contains(got, partner.ID) || strings.Contains(strings.ToLower(got), "partner id") {
					t.Errorf("the %s shows the partner's id:\n%s", body, got)
				}
			}
		})
	}
}

// outboxWrites is the table of a service under test, keeping the outbox
// events of its writes, for the test to give the notifier as the stream
// would.
type outboxWrites struct {
	storage.Table
	events []storage.Item
}

func (w *outboxWrites) Write(ctx context.Context, ops ...storage.Op) error {
	if err := w.Table.Write(ctx, ops...); err != nil {
		return err
	}
	for _, op := range ops {
		if op.Item.Type == outbox.EntityType {
			w.events = append(w.events, op.Item)
		}
	}
	return nil
}

// TestTheIntegrationNotificationsNameThePartnerAndShowNoID: the events of
// a partner's integration (created, updated, submitted for review), which
// the integrations package raises naming the partner organization by id
// (partner_id, users.PartnerField), give notifications that name the
// partner organization (users.EventNames reads its name when the email is
// sent) and show no partner id. A hub user's integration has no partner
// row. When the partner organization is gone, its id is the only clue
// left: the notification shows it, and no partner row.
func TestTheIntegrationNotificationsNameThePartnerAndShowNoID(t *testing.T) {
	ctx := context.Background()
	h, contacts := namedHarness(t)

	partner := globex(users.PartnerActive)
	h.seedNames(partner)
	gone := ids.New() // a partner organization with no item
	hubUser := principal.Principal{Kind: principal.HubUser, Org: org, Subject: ids.New(), Plan: principal.Standard}
	partnerUser := principal.Principal{Kind: principal.PartnerUser, Org: org, Subject: ids.New(), Partner: partner.ID, Plan: principal.Standard}
	goneUser := principal.Principal{Kind: principal.PartnerUser, Org: org, Subject: ids.New(), Partner: gone, Plan: principal.Standard}

	table := &outboxWrites{Table: h.db}
	svc := &integrations.Service{Table: table, Now: time.Now}
	name := func(s string) *string { return &s }
	update := func(p principal.Principal, id string) error {
		_, _, err := svc.UpdateIntegration(ctx, p, id, 0, integrations.IntegrationInput{Description: name("Syncs invoices")})
		return err
	}
	submit := func(p principal.Principal, id string) error {
		_, _, err := svc.SubmitIntegration(ctx, p, id, integrations.SubmitInput{})
		return err
	}
	tests := []struct {
		name    string
		by      principal.Principal
		then    func(principal.Principal, string) error // after the creation; its event is the one sent
		subject string
		want    []string // lines of the text
		not     []string // in neither the text nor the HTML
	}{
		{"a partner's integration created", partnerUser, nil, "Integration created",
			[]string{"Partner: Globex Partners", "Integration name: Billing sync"}, []string{partner.ID, "Partner id"}},
		{"a partner's integration updated", partnerUser, update, "Partner integration updated",
			[]string{"Partner: Globex Partners", "Action: updated", "Integration name: Billing sync"}, []string{partner.ID, "Partner id"}},
		{"a partner's integration submitted for review", partnerUser, submit, "Partner integration updated",
			[]string{"Partner: Globex Partners", "Action: submitted", "Integration name: Billing sync"}, []string{partner.ID, "Partner id"}},
		{"a hub user's integration created", hubUser, nil, "Integration created",
			[]string{"Integration name: Billing sync"}, []string{"Partner"}},
		{"the integration of a partner organization that is gone", goneUser, update, "Partner integration updated",
			[]string{"Partner id: " + gone, "Action: updated"}, []string{"Partner:"}},
	}
	var records []events.DynamoDBEventRecord
	sent := map[string]outbox.Event{} // test name → the event whose email it checks
	for _, tt := range tests {
		d, _, err := svc.CreateIntegration(ctx, tt.by, integrations.IntegrationInput{Name: name("Billing sync")})
		if err != nil {
			t.Fatalf("%s: create: %v", tt.name, err)
		}
		if tt.then != nil {
			table.events = nil
			if err := tt.then(tt.by, d.ID); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
		}
		if len(table.events) != 1 {
			t.Fatalf("%s raised %d events, want 1", tt.name, len(table.events))
		}
		item := table.events[0]
		table.events = nil
		ev, err := outbox.FromItem(item)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Data["partner_id"] != tt.by.Partner {
			t.Fatalf("%s: the %s event names its partner by %q, want the id %q", tt.name, ev.Kind, ev.Data["partner_id"], tt.by.Partner)
		}
		contacts[ev.ID] = address("contact")
		sent[tt.name] = ev
		records = append(records, h.record(events.DynamoDBOperationTypeInsert, item))
	}
	if failed := h.handle(records...); len(failed) != 0 {
		t.Fatalf("failed records %v, want none", failed)
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inbox := sestest.SentTo(t, h.emulator, contacts[sent[tt.name].ID])
			if len(inbox) != 1 {
				t.Fatalf("%d messages, want 1", len(inbox))
			}
			checkMessage(t, inbox[0], tt.subject, tt.want, tt.not)
		})
	}
}

// TestThePartnerFormNotificationNamesThePartnerAndShowsNoID: the
// partner_form.submitted event, which the partnerform package raises with
// the partner organization's name (partner_name) and its id (partner_id,
// users.PartnerField), gives a notification that names the partner
// organization and shows no partner id. An event without the name (the
// package always writes it) keeps the id, then the only clue.
func TestThePartnerFormNotificationNamesThePartnerAndShowsNoID(t *testing.T) {
	ctx := context.Background()
	h, contacts := namedHarness(t)

	partner := globex(users.PartnerPending)
	submitter := users.User{ID: ids.New(), Org: org, Email: address("partner-user"), Name: "Hedy Lamarr", Role: users.RolePartnerUser,
		Status: users.Active, Partner: partner.ID, PartnerPending: true}
	h.seedNames(partner, submitter)

	table := &outboxWrites{Table: h.db}
	svc := &partnerform.Service{Table: table, Links: users.Links{Base: "https://hub.example.com"}, Box: h.box, Now: time.Now}
	p := principal.Principal{Kind: principal.PartnerUser, Org: org, Subject: submitter.ID, Partner: partner.ID, PartnerPending: true, Plan: principal.Standard}
	if _, err := svc.Submit(ctx, p, partnerform.SubmitInput{}); err != nil {
		t.Fatalf("submit the Partner Form: %v", err)
	}
	if len(table.events) != 1 {
		t.Fatalf("the submission raised %d events, want 1", len(table.events))
	}
	submitted, err := outbox.FromItem(table.events[0])
	if err != nil {
		t.Fatal(err)
	}
	if submitted.Kind != outbox.PartnerFormSubmitted || submitted.Data["partner_id"] != partner.ID || submitted.Data["partner_name"] != partner.Name {
		t.Fatalf("the submission raised %s with %v, want partner_form.submitted naming the partner by id and name", submitted.Kind, submitted.Data)
	}
	nameless := outbox.New(org, outbox.PartnerFormSubmitted, time.Now())
	nameless.Data = map[string]string{"partner_id": partner.ID, "submitted_by": submitter.Email}

	tests := []struct {
		name   string
		record events.DynamoDBEventRecord
		ev     outbox.Event
		want   []string // lines of the text
		not    []string // in neither the text nor the HTML
	}{
		{"the Partner Form submitted", h.record(events.DynamoDBOperationTypeInsert, table.events[0]), submitted,
			[]string{"Partner name: Globex Partners", "Submitted by: " + submitter.Email}, []string{partner.ID, "Partner id"}},
		{"an event without the partner's name", h.put(nameless), nameless,
			[]string{"Partner id: " + partner.ID, "Submitted by: " + submitter.Email}, []string{"Partner name"}},
	}
	var records []events.DynamoDBEventRecord
	for _, tt := range tests {
		contacts[tt.ev.ID] = address("contact")
		records = append(records, tt.record)
	}
	if failed := h.handle(records...); len(failed) != 0 {
		t.Fatalf("failed records %v, want none", failed)
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inbox := sestest.SentTo(t, h.emulator, contacts[tt.ev.ID])
			if len(inbox) != 1 {
				t.Fatalf("%d messages, want 1", len(inbox))
			}
			checkMessage(t, inbox[0], "Partner Form submitted", tt.want, tt.not)
		})
	}
}

// globex is a partner organization of org, by the name the emails must
// show.
func globex(status users.PartnerStatus) users.Partner {
	return users.Partner{ID: ids.New(), Org: org, Name: "Globex Partners", Status: status, CreatedAt: time.Now()}
}

// seedNames writes, in one write, what users.EventNames reads names from:
// org's profile (named Acme), partner and people.
func (h *harness) seedNames(partner users.Partner, people ...users.User) {
	h.t.Helper()
	profile, err := orgs.Organization{ID: org, Name: "Acme"}.Item(1)
	if err != nil {
		h.t.Fatal(err)
	}
	partnerItem, err := partner.Item(1)
	if err != nil {
		h.t.Fatal(err)
	}
	ops := []storage.Op{storage.Put(profile, storage.Absent()), storage.Put(partnerItem, storage.Absent())}
	for _, u := range people {
		puts, err := u.PutOps(1, storage.Absent())
		if err != nil {
			h.t.Fatal(err)
		}
		ops = append(ops, puts...)
	}
	if err := h.db.Write(context.Background(), ops...); err != nil {
		h.t.Fatal(err)
	}
}

// namedHarness is a harness whose notifier fills in names with
// users.EventNames and sends each event's notification to contacts[the
// event's id].
func namedHarness(t *testing.T) (h *harness, contacts map[string]string) {
	contacts = map[string]string{}
	toContact := recipientsFunc(func(_ context.Context, ev outbox.Event) ([]string, error) {
		return []string{contacts[ev.ID]}, nil
	})
	h = newHarness(t)
	h.notifier = h.newNotifier(h.sender, notifier.WithRecipients(toContact), notifier.WithFields(users.EventNames{Table: h.db}))
	return h, contacts
}

// checkMessage checks an email's subject, that its text has each of the
// lines want, and that neither its text nor its HTML contains any of not.
func checkMessage(t *testing.T, msg sestest.Email, subject string, want, not []string) {
	t.Helper()
	if msg.Subject != subject {
		t.Errorf("subject = %q, want %q", msg.Subject, subject)
	}
	lines := strings.Split(msg.Body.Text, "\n")
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("text lacks the line %q:\n%s", w, msg.Body.Text)
		}
	}
	for body, got := range map[string]string{"text": msg.Body.Text, "HTML": msg.Body.HTML} {
		for _, n := range not {
			if strings.Contains(got, n) {
				t.Errorf("the %s shows %q:\n%s", body, n, got)
			}
		}
	}
}
