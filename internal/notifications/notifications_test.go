package notifications_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/notifications"
	"github.com/integration-hub/hub/internal/notifier"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings/settingstest"
)

var _ notifier.Recipients = notifications.Resolver{}

func TestNotificationRecipients(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	org := h.NewOrg(principal.Standard)
	contact := org.AdminEmail
	shouting := strings.ToUpper(contact)
	put := func(ifMatch, body string) string {
		t.Helper()
		resp := h.Serve("notifications", settingstest.Request{Method: "PUT", Path: "/notifications", Caller: org.Admin, IfMatch: ifMatch, Body: body})
		if resp.Status != 200 {
			t.Fatalf("PUT /notifications: %d %s", resp.Status, resp.Body)
		}
		return resp.Header.Get("ETag")
	}
	etag := put(`"v0"`, `{"events":[
		{"name":"tenant.created","enabled":false,"addresses":["sales@acme.test","ops@acme.test"]},
		{"name":"run.failed","enabled":true,"addresses":["ops@acme.test","OPS@Acme.test","`+shouting+`","oncall@acme.test"]}
	]}`)
	resolver := notifications.Resolver{Table: h.Table}
	cases := []struct {
		name string
		ev   outbox.Event
		want []string
	}{
		{"switched off: the primary contact alone", event(org.ID, outbox.TenantCreated), []string{contact}},
		{"switched on: the primary contact and the extra addresses, each once", event(org.ID, outbox.RunFailed), []string{contact, "ops@acme.test", "oncall@acme.test"}},
		{"never configured: on, the primary contact alone", event(org.ID, outbox.IntegrationCreated), []string{contact}},
		{"not in the catalog: the primary contact alone", event(org.ID, "tenant.renamed"), []string{contact}},
		{"a personal email: its addressee alone", personal(org.ID, "Grace@Acme.test"), []string{"Grace@Acme.test"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolver.Recipients(context.Background(), tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("recipients %v, want %v", got, tc.want)
			}
		})
	}

	// The settings are read when the notifier asks, not when the event was
	// raised.
	ev := event(org.ID, outbox.TenantCreated)
	put(etag, `{"events":[{"name":"tenant.created","enabled":true,"addresses":["sales@acme.test"]}]}`)
	got, err := resolver.Recipients(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{contact, "sales@acme.test"}; !slices.Equal(got, want) {
		t.Fatalf("after switching tenant.created on: %v, want %v", got, want)
	}
}

func event(org string, kind outbox.Kind) outbox.Event { return outbox.New(org, kind, time.Now()) }

func personal(org, to string) outbox.Event {
	ev := outbox.New(org, outbox.UserInvited, time.Now())
	ev.To = []string{to}
	return ev
}

func TestNotificationSettingsAreValidatedAndVersioned(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	org := h.NewOrg(principal.Standard)

	resp := h.Serve("notifications", settingstest.Request{Method: "GET", Path: "/notifications", Caller: org.Admin})
	var doc notifications.Document
	resp.Decode(t, &doc)
	if resp.Status != 200 || resp.Header.Get("ETag") != `"v0"` || doc.PrimaryContact != org.AdminEmail || len(doc.Events) != len(notifications.Catalog) {
		t.Fatalf("GET before any write: %d %s %s", resp.Status, resp.Header.Get("ETag"), resp.Body)
	}
	for _, e := range doc.Events {
		if !e.Enabled || e.Addresses == nil || len(e.Addresses) != 0 || e.Description == "" {
			t.Fatalf("default of %s: %+v", e.Name, e)
		}
	}
	for _, required := range []outbox.Kind{"integration.created", "tenant.created", "tenant.archived", "partner_integration.updated", "run.failed", "partner_form.submitted", "user.invited", "api_key.created"} {
		if !notifications.InCatalog(required) {
			t.Errorf("the catalog lacks %s", required)
		}
	}

	many := make([]string, notifications.MaxAddresses+1)
	for i := range many {
		many[i] = fmt.Sprintf(`"user%d@acme.test"`, i)
	}
	repeated := make([]string, 2*notifications.MaxAddresses)
	for i := range repeated {
		repeated[i] = fmt.Sprintf(`"user%d@acme.test"`, i%notifications.MaxAddresses)
	}
	cases := []struct {
		name, ifMatch, body string
		status              int
		code, field         string
	}{
		{"no If-Match", "", `{"events":[]}`, 428, "if_match_required", ""},
		{"stale If-Match", `"v3"`, `{"events":[]}`, 412, "stale_version", ""},
		{"no events", `"v0"`, `{}`, 400, "required", "events"},
		{"unknown event", `"v0"`, `{"events":[{"name":"tenant.renamed","enabled":true}]}`, 400, "unknown_event", "events[0].name"},
		{"event twice", `"v0"`, `{"events":[{"name":"run.failed","enabled":true},{"name":"run.failed","enabled":false}]}`, 400, "duplicate_event", "events[1].name"},
		{"enabled missing", `"v0"`, `{"events":[{"name":"run.failed","addresses":[]}]}`, 400, "required", "events[0].enabled"},
		{"bad address", `"v0"`, `{"events":[{"name":"run.failed","enabled":true,"addresses":["ok@acme.test","Ops <ops@acme.test>"]}]}`, 400, "invalid_email", "events[0].addresses[1]"},
		{"too many addresses", `"v0"`, `{"events":[{"name":"run.failed","enabled":true,"addresses":[` + strings.Join(many, ",") + `]}]}`, 400, "too_many_addresses", "events[0].addresses"},
		{"repeats count once", `"v0"`, `{"events":[{"name":"run.failed","enabled":true,"addresses":[` + strings.Join(repeated, ",") + `]}]}`, 200, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.Serve("notifications", settingstest.Request{Method: "PUT", Path: "/notifications", Caller: org.Admin, IfMatch: tc.ifMatch, Body: tc.body})
			if resp.Status != tc.status || resp.Problem.Code != tc.code || resp.Problem.Field != tc.field {
				t.Fatalf("got %d %s field=%q (%.300s), want %d %s field=%q", resp.Status, resp.Problem.Code, resp.Problem.Field, resp.Body, tc.status, tc.code, tc.field)
			}
		})
	}
	resp = h.Serve("notifications", settingstest.Request{Method: "GET", Path: "/notifications", Caller: org.Admin})
	resp.Decode(t, &doc)
	if resp.Header.Get("ETag") != `"v1"` {
		t.Fatalf("ETag after one write: %s", resp.Header.Get("ETag"))
	}
	for _, e := range doc.Events {
		if e.Name == outbox.RunFailed && len(e.Addresses) != notifications.MaxAddresses {
			t.Fatalf("run.failed kept %d addresses, want %d distinct", len(e.Addresses), notifications.MaxAddresses)
		}
	}
}
