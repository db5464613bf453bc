package users_test

import (
	"context"
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
// organization and the user the event names, and keeps the names an event
// holds.
func TestEventNamesFillInTheOrganizationAndTheInviter(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	names := users.EventNames{Table: f.table}
	event := func(kind outbox.Kind, org string, data map[string]string) outbox.Event {
		ev := outbox.New(org, kind, f.svc.Now())
		ev.Data = data
		return ev
	}
	admin := f.admin.Subject
	tests := []struct {
		name string
		ev   outbox.Event
		want map[string]string
	}{
		{"an invitation naming its inviter by id", event(outbox.Invitation, f.org, map[string]string{users.InviterField: admin}),
			map[string]string{"org_name": "Acme", "inviter": "Admin"}},
		{"the notification of it", event(outbox.UserInvited, f.org, map[string]string{users.InviterField: admin, "email": "x@acme.test"}),
			map[string]string{"organization": "Acme", "invited_by": "Admin"}},
		{"names the event holds are kept", event(outbox.Invitation, f.org, map[string]string{"org_name": "Acme Ltd", "inviter": "the hub operator"}),
			map[string]string{}},
		{"an inviter who is gone", event(outbox.Invitation, f.org, map[string]string{users.InviterField: ids.New()}),
			map[string]string{"org_name": "Acme", "inviter": "a colleague"}},
		{"an inviter id that is not an id", event(outbox.Invitation, f.org, map[string]string{users.InviterField: "../x"}),
			map[string]string{"org_name": "Acme", "inviter": "a colleague"}},
		{"no inviter named", event(outbox.Invitation, f.org, nil),
			map[string]string{"org_name": "Acme"}},
		{"an organization that is gone gives no name", event(outbox.Invitation, ids.New(), map[string]string{"inviter": "Ada"}),
			map[string]string{}},
		{"another kind of event", event(outbox.APIKeyCreated, f.org, nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := names.Fields(ctx, tt.ev)
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
		})
	}
}
