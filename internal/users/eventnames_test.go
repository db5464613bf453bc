package users_test

import (
	"context"
	"slices"
	"testing"

	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage/storagetest"
	"github.com/integration-hub/hub/internal/users"
)

// A hub user's invitation writes the user, its guard, the token and the
// events in one write and reads nothing: the email's names are read when
// it is sent. A partner user's reads the partner organization, once.
func TestAnInvitationIsOneWriteAndReadsOnlyItsPartner(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	pv, err := f.svc.CreatePartner(ctx, f.admin, users.PartnerInput{Name: "Partner One", Mode: "create", FirstUser: &users.InviteInput{Email: "one@p1.test"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      users.InviteInput
		reads   int64
		role    users.Role
		partner string
	}{
		{"a hub user", users.InviteInput{Email: "hub@acme.test"}, 0, users.RoleHubUser, ""},
		{"a partner user", users.InviteInput{Email: "two@p1.test", PartnerID: pv.ID}, 1, users.RolePartnerUser, pv.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counting := storagetest.NewCounting(f.table)
			svc := *f.svc
			svc.Table = counting
			v, err := svc.Invite(ctx, f.admin, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if v.Role != tt.role || v.Partner != tt.partner || v.Status != users.Invited {
				t.Fatalf("invited %+v", v)
			}
			if counting.Reads() != tt.reads || counting.Queries() != 0 || counting.Writes() != 1 {
				t.Fatalf("%d reads, %d queries, %d writes; want %d, 0 and 1", counting.Reads(), counting.Queries(), counting.Writes(), tt.reads)
			}
		})
	}
	if _, err := f.svc.Invite(ctx, f.admin, users.InviteInput{Email: "x@acme.test", PartnerID: ids.New()}); code(err) != "partner_not_found" {
		t.Fatalf("an unknown partner: %v, want partner_not_found", err)
	}
}

// EventNames fills in the names an invitation's events leave out, from the
// organization, the user and the partner organization the event names, and
// the partner organization's name in a partner's integration events, in
// one read (none when it needs no name), and keeps the names an event
// holds. An integration event whose partner organization is gone gets its
// partner id back: it is then the only clue. The Partner Form's event
// holds the partner's name, so nothing is read for it, and gets its
// partner id back only without the name.
func TestEventNamesFillInTheOrganizationTheInviterAndThePartner(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	pv, err := f.svc.CreatePartner(ctx, f.admin, users.PartnerInput{Name: "Partner One", Mode: "create"})
	if err != nil {
		t.Fatal(err)
	}
	event := func(kind outbox.Kind, org string, data map[string]string) outbox.Event {
		ev := outbox.New(org, kind, f.svc.Now())
		ev.Data = data
		return ev
	}
	admin, gone := f.admin.Subject, ids.New()
	tests := []struct {
		name  string
		ev    outbox.Event
		want  map[string]string
		reads int64
	}{
		{"an invitation naming its inviter by id", event(outbox.Invitation, f.org, map[string]string{users.InviterField: admin}),
			map[string]string{"org_name": "Acme", "inviter": "Admin"}, 1},
		{"the notification of it", event(outbox.UserInvited, f.org, map[string]string{users.InviterField: admin, "email": "x@acme.test"}),
			map[string]string{"organization": "Acme", "invited_by": "Admin"}, 1},
		{"the notification of a partner user's invitation", event(outbox.UserInvited, f.org, map[string]string{users.InviterField: admin, users.PartnerField: pv.ID, "email": "x@p1.test"}),
			map[string]string{"organization": "Acme", "invited_by": "Admin", "partner": "Partner One"}, 1},
		{"a notification needing only the partner's name", event(outbox.UserInvited, f.org, map[string]string{"organization": "Acme", "invited_by": "Ada", users.PartnerField: pv.ID}),
			map[string]string{"partner": "Partner One"}, 1},
		{"a partner organization that is gone gives no name", event(outbox.UserInvited, f.org, map[string]string{users.InviterField: admin, users.PartnerField: ids.New()}),
			map[string]string{"organization": "Acme", "invited_by": "Admin"}, 1},
		{"a partner id that is not an id is not read", event(outbox.UserInvited, f.org, map[string]string{"organization": "Acme", "invited_by": "Ada", users.PartnerField: "p#x"}),
			map[string]string{}, 0},
		{"a notification holding every name", event(outbox.UserInvited, f.org, map[string]string{"organization": "Acme Ltd", "invited_by": "Ada", "partner": "Globex", users.InviterField: admin, users.PartnerField: pv.ID}),
			map[string]string{}, 0},
		{"an invitation has no partner row", event(outbox.Invitation, f.org, map[string]string{"org_name": "Acme", "inviter": "Ada", users.PartnerField: pv.ID}),
			map[string]string{}, 0},
		{"names the event holds are kept", event(outbox.Invitation, f.org, map[string]string{"org_name": "Acme Ltd", "inviter": "the hub operator"}),
			map[string]string{}, 0},
		{"an inviter who is gone", event(outbox.Invitation, f.org, map[string]string{users.InviterField: ids.New()}),
			map[string]string{"org_name": "Acme", "inviter": "a colleague"}, 1},
		{"an inviter id that is not an id", event(outbox.Invitation, f.org, map[string]string{users.InviterField: "../x"}),
			map[string]string{"org_name": "Acme", "inviter": "a colleague"}, 1},
		{"no inviter named", event(outbox.Invitation, f.org, nil),
			map[string]string{"org_name": "Acme"}, 1},
		{"an organization that is gone gives no name", event(outbox.Invitation, ids.New(), map[string]string{"inviter": "Ada"}),
			map[string]string{}, 1},
		{"a partner's integration created", event(outbox.IntegrationCreated, f.org, map[string]string{"integration_id": ids.New(), "integration_name": "Billing sync", users.PartnerField: pv.ID}),
			map[string]string{"partner": "Partner One"}, 1},
		{"a partner's integration updated", event(outbox.PartnerIntegrationUpdated, f.org, map[string]string{"integration_name": "Billing sync", "action": "updated", users.PartnerField: pv.ID}),
			map[string]string{"partner": "Partner One"}, 1},
		{"a partner's integration submitted for review", event(outbox.PartnerIntegrationUpdated, f.org, map[string]string{"integration_name": "Billing sync", "action": "submitted", users.PartnerField: pv.ID}),
			map[string]string{"partner": "Partner One"}, 1},
		{"an integration whose partner organization is gone keeps its id", event(outbox.PartnerIntegrationUpdated, f.org, map[string]string{"action": "updated", users.PartnerField: gone}),
			map[string]string{users.PartnerField: gone}, 1},
		{"an integration whose partner id is not an id keeps it, unread", event(outbox.IntegrationCreated, f.org, map[string]string{users.PartnerField: "p#x"}),
			map[string]string{users.PartnerField: "p#x"}, 0},
		{"a hub integration has no partner", event(outbox.IntegrationCreated, f.org, map[string]string{"integration_id": ids.New(), "integration_name": "Billing sync"}),
			map[string]string{}, 0},
		{"an integration event holding the partner's name", event(outbox.PartnerIntegrationUpdated, f.org, map[string]string{"partner": "Globex", users.PartnerField: pv.ID}),
			map[string]string{}, 0},
		{"the Partner Form submitted holds the partner's name", event(outbox.PartnerFormSubmitted, f.org, map[string]string{users.PartnerField: pv.ID, "partner_name": "Partner One", "submitted_by": "one@p1.test"}),
			map[string]string{}, 0},
		{"a Partner Form event without the partner's name keeps its id, unread", event(outbox.PartnerFormSubmitted, f.org, map[string]string{users.PartnerField: pv.ID, "submitted_by": "one@p1.test"}),
			map[string]string{users.PartnerField: pv.ID}, 0},
		{"a Partner Form event naming no partner", event(outbox.PartnerFormSubmitted, f.org, map[string]string{"submitted_by": "one@p1.test"}),
			map[string]string{}, 0},
		{"another kind of event", event(outbox.APIKeyCreated, f.org, map[string]string{users.PartnerField: pv.ID, users.InviterField: admin}), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counting := storagetest.NewCounting(f.table)
			got, err := users.EventNames{Table: counting}.Fields(ctx, tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("fields %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("fields %v, want %v", got, tt.want)
				}
			}
			if counting.Reads() != tt.reads || counting.Queries() != 0 {
				t.Fatalf("%d reads, %d queries; want %d and 0", counting.Reads(), counting.Queries(), tt.reads)
			}
		})
	}
}

// The ids EventNames reads names by are internal to the events it reads
// them for, an integration's partner_id included, and so is the Partner
// Form's partner_id, which stands for the partner_name the event holds.
// Kinds that name no one by id have none.
func TestEventNamesHideTheIDsTheyReadNamesBy(t *testing.T) {
	names := users.EventNames{}
	tests := []struct {
		kind outbox.Kind
		want []string
	}{
		{outbox.Invitation, []string{users.InviterField}},
		{outbox.UserInvited, []string{users.InviterField, users.PartnerField}},
		{outbox.IntegrationCreated, []string{users.PartnerField}},
		{outbox.PartnerIntegrationUpdated, []string{users.PartnerField}},
		{outbox.PartnerFormSubmitted, []string{users.PartnerField}},
		{outbox.TenantCreated, nil},
		{outbox.APIKeyCreated, nil},
	}
	for _, tt := range tests {
		if got := names.Internal(tt.kind); !slices.Equal(got, tt.want) {
			t.Errorf("Internal(%s) = %v, want %v", tt.kind, got, tt.want)
		}
	}
}
