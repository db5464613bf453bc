package notifier_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/company"
	"github.com/integration-hub/hub/internal/email/sestest"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/notifications"
	"github.com/integration-hub/hub/internal/notifier"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
)

// TestTheNotificationSettingsDecideWhoGetsEachEventsEmail runs the
// notifier as app wires it (the real notifications.Resolver and
// users.EventNames on the table) through the SES sender to the emulator.
// The primary contact is set in the Company area and the settings in the
// Notifications area, both through their services; the events are raised
// by the services that raise them in the hub. integration.created is
// switched off with an extra address: its one email goes to the primary
// contact alone. api_key.created is switched on with two extra addresses,
// one of them the primary contact in capitals: its one email goes to the
// primary contact and the other address, each once.
func TestTheNotificationSettingsDecideWhoGetsEachEventsEmail(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.notifier = h.newNotifier(h.sender,
		notifier.WithRecipients(notifications.Resolver{Table: h.db}),
		notifier.WithFields(users.EventNames{Table: h.db}))

	admin := users.User{ID: ids.New(), Org: org, Email: address("admin"), Name: "Ada Lovelace", Role: users.RoleHubUser, Status: users.Active, CreatedAt: time.Now()}
	profile, err := orgs.Organization{ID: org, Name: "Acme", Plan: principal.Standard, PrimaryAdmin: admin.ID, PrimaryContact: admin.Email, CreatedAt: time.Now()}.Item(1)
	if err != nil {
		t.Fatal(err)
	}
	puts, err := admin.PutOps(1, storage.Absent())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.Write(ctx, append(puts, storage.Put(profile, storage.Absent()))...); err != nil {
		t.Fatal(err)
	}
	hubUser := principal.Principal{Kind: principal.HubUser, Org: org, Subject: admin.ID, Plan: principal.Standard}

	// The Company area stores the primary contact as it normalizes every
	// address (lower case); the Notifications area gets it back in
	// capitals among the extra addresses.
	entered := address("Primary-Contact")
	doc, _, err := (&company.Service{Table: h.db, Now: time.Now}).Update(ctx, hubUser, 1, company.Update{PrimaryContact: &entered})
	if err != nil {
		t.Fatalf("set the primary contact: %v", err)
	}
	contact := doc.PrimaryContact
	if !strings.EqualFold(contact, entered) {
		t.Fatalf("primary contact %q, want %q", contact, entered)
	}
	ignored, extra := address("switched-off"), address("on-call")
	off, on := false, true
	if _, _, err := (&notifications.Service{Table: h.db, Now: time.Now}).Replace(ctx, hubUser, 0, notifications.Input{Events: []notifications.EventInput{
		{Name: outbox.IntegrationCreated, Enabled: &off, Addresses: []string{ignored}},
		{Name: outbox.APIKeyCreated, Enabled: &on, Addresses: []string{strings.ToUpper(contact), extra}},
	}}); err != nil {
		t.Fatalf("write the notification settings: %v", err)
	}

	table := &outboxWrites{Table: h.db}
	name := "Billing sync"
	if _, _, err := (&integrations.Service{Table: table, Now: time.Now}).CreateIntegration(ctx, hubUser, integrations.IntegrationInput{Name: &name}); err != nil {
		t.Fatalf("create an integration: %v", err)
	}
	if _, err := (&apikeys.Service{Table: table, Now: time.Now}).Create(ctx, hubUser, apikeys.CreateInput{Name: "Deploys", Scopes: []string{apikeys.ScopeRunsStart}}); err != nil {
		t.Fatalf("create an API key: %v", err)
	}
	raised := map[outbox.Kind]outbox.Event{}
	var records []events.DynamoDBEventRecord
	for _, it := range table.events {
		ev, err := outbox.FromItem(it)
		if err != nil {
			t.Fatal(err)
		}
		raised[ev.Kind] = ev
		records = append(records, h.record(events.DynamoDBOperationTypeInsert, it))
	}
	if len(records) != 2 || raised[outbox.IntegrationCreated].ID == "" || raised[outbox.APIKeyCreated].ID == "" {
		t.Fatalf("the services raised %d events (%v), want integration.created and api_key.created", len(records), raised)
	}
	if failed := h.handle(records...); len(failed) != 0 {
		t.Fatalf("failed records %v, want none", failed)
	}

	// The SendEmail requests that reached SES for any of this test's
	// addresses, with every recipient: the emulator keeps only the first
	// address of a message, so the recipients are read from the requests
	// the proxy in front of it forwarded (sestest.Proxy.Forwarded).
	ours := []string{contact, extra, ignored}
	type request struct {
		subject string
		to      []string
		copied  bool // a Cc or Bcc address
	}
	var sent []request
	for _, form := range h.proxy.Forwarded() {
		r := request{subject: form.Get("Message.Subject.Data")}
		for i := 1; form.Has(fmt.Sprintf("Destination.ToAddresses.member.%d", i)); i++ {
			r.to = append(r.to, form.Get(fmt.Sprintf("Destination.ToAddresses.member.%d", i)))
		}
		for key := range form {
			r.copied = r.copied || strings.HasPrefix(key, "Destination.CcAddresses.") || strings.HasPrefix(key, "Destination.BccAddresses.")
		}
		if slices.ContainsFunc(r.to, func(a string) bool {
			return slices.ContainsFunc(ours, func(o string) bool { return strings.EqualFold(a, o) })
		}) {
			sent = append(sent, r)
		}
	}
	// The emulator's copies, by their first recipient: the primary contact
	// heads both.
	delivered := sestest.SentTo(t, h.emulator, contact)

	tests := []struct {
		name    string
		subject string
		want    []string // the message's recipients, in the resolver's order
	}{
		{"a switched-off event reaches the primary contact and no one else", "Integration created", []string{contact}},
		{"a switched-on event reaches the primary contact and its other extra address, each once", "API key created", []string{contact, extra}},
	}
	if len(sent) != len(tests) {
		t.Errorf("%d SendEmail requests to this test's addresses, want %d (one per event): %v", len(sent), len(tests), sent)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mine []request
			for _, r := range sent {
				if r.subject == tt.subject {
					mine = append(mine, r)
				}
			}
			if len(mine) != 1 {
				t.Fatalf("%d SendEmail requests with subject %q, want 1", len(mine), tt.subject)
			}
			if mine[0].copied {
				t.Errorf("the request has Cc or Bcc addresses; want every recipient in To")
			}
			if !slices.EqualFunc(mine[0].to, tt.want, strings.EqualFold) {
				t.Errorf("sent to %v, want %v", mine[0].to, tt.want)
			}
			var copies []sestest.Email
			for _, m := range delivered {
				if m.Subject == tt.subject {
					copies = append(copies, m)
				}
			}
			if len(copies) != 1 {
				t.Fatalf("the emulator holds %d messages with subject %q to the primary contact, want 1", len(copies), tt.subject)
			}
			checkMessage(t, copies[0], tt.subject, nil, []string{ignored})
		})
	}
}
