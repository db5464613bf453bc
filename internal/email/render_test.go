package email_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/outbox"
)

func invitationFields() map[string]string {
	return map[string]string{
		"org_name":   "Acme",
		"inviter":    "Ada Lovelace",
		"expires_at": "Tue, 10 Mar 2026 09:00:00 UTC",
		"link":       "https://hub.example.com/accept-invitation#token=tok123",
	}
}

func resetFields() map[string]string {
	return map[string]string{
		"name":       "Ada",
		"expires_at": "Tue, 10 Mar 2026 09:00:00 UTC",
		"link":       "https://hub.example.com/reset-password#token=tok456",
	}
}

func TestRenderEveryKindShowsItsFieldsInBothBodies(t *testing.T) {
	tests := []struct {
		kind       outbox.Kind
		fields     map[string]string
		subject    string
		wantInText []string
		wantInHTML []string
	}{
		{
			kind:       outbox.Invitation,
			fields:     invitationFields(),
			subject:    "You're invited to Acme on Integration Hub",
			wantInText: []string{"Ada Lovelace has invited you to join Acme", "https://hub.example.com/accept-invitation#token=tok123", "expires on Tue, 10 Mar 2026 09:00:00 UTC"},
			wantInHTML: []string{`<strong>Ada Lovelace</strong> has invited you`, `href="https://hub.example.com/accept-invitation#token=tok123"`, "Tue, 10 Mar 2026 09:00:00 UTC", "<title>You&#39;re invited to Acme on Integration Hub</title>"},
		},
		{
			kind:       outbox.PasswordResetRequested,
			fields:     resetFields(),
			subject:    "Reset your Integration Hub password",
			wantInText: []string{"Hello Ada,", "https://hub.example.com/reset-password#token=tok456", "expires on Tue, 10 Mar 2026 09:00:00 UTC", "If this wasn't you, ignore this email"},
			wantInHTML: []string{"<p>Hello Ada,</p>", `href="https://hub.example.com/reset-password#token=tok456"`, "If this wasn't you, ignore this email"},
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			subject, text, html, err := email.Render(tt.kind, tt.fields)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if subject != tt.subject {
				t.Errorf("subject = %q, want %q", subject, tt.subject)
			}
			for _, want := range tt.wantInText {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, text)
				}
			}
			for _, want := range tt.wantInHTML {
				if !strings.Contains(html, want) {
					t.Errorf("HTML lacks %q:\n%s", want, html)
				}
			}
		})
	}
	personal := []outbox.Kind{outbox.Invitation, outbox.PasswordResetRequested}
	for _, n := range outbox.Notifications {
		personal = append(personal, n.Kind)
	}
	slices.Sort(personal)
	if got := email.Kinds(); !slices.Equal(got, personal) {
		t.Errorf("Kinds = %v, want the personal kinds and the notification catalog %v", got, personal)
	}
}

func TestEveryNotificationRendersItsTitleAndFields(t *testing.T) {
	for _, n := range outbox.Notifications {
		t.Run(string(n.Kind), func(t *testing.T) {
			subject, text, html, err := email.Render(n.Kind, map[string]string{
				"organization": "Acme", "partner_name": "Globex <Ltd>", "submitted_by": "ops@globex.test",
			})
			if err != nil {
				t.Fatal(err)
			}
			if subject != n.Title+" — Acme" {
				t.Errorf("subject = %q", subject)
			}
			for _, want := range []string{n.Description, "Partner name: Globex <Ltd>", "Submitted by: ops@globex.test"} {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, text)
				}
			}
			if !strings.Contains(html, "Globex &lt;Ltd&gt;") || strings.Contains(html, "<Ltd>") {
				t.Errorf("HTML does not show the escaped field:\n%s", html)
			}
		})
	}
	if _, _, _, err := email.Render(outbox.RunFailed, nil); err != nil {
		t.Fatalf("a notification without fields: %v", err)
	}
}

func TestRenderKeepsFieldsInTheirPlace(t *testing.T) {
	fields := invitationFields()
	fields["org_name"] = "Acme <script>alert(1)</script>\r\nBcc: eve@example.com"
	fields["inviter"] = ""
	subject, text, html, err := email.Render(outbox.Invitation, fields)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject spans lines: %q", subject)
	}
	if strings.Contains(html, "<script>") {
		t.Errorf("HTML body does not escape fields:\n%s", html)
	}
	if !strings.Contains(text, "You have been invited to join") {
		t.Errorf("text without an inviter:\n%s", text)
	}
}

func TestRenderRefusesUnknownKindsAndMissingFields(t *testing.T) {
	withoutLink := invitationFields()
	delete(withoutLink, "link")
	emptyExpiry := resetFields()
	emptyExpiry["expires_at"] = ""
	withoutOptional := invitationFields()
	delete(withoutOptional, "inviter")
	tests := []struct {
		name      string
		kind      outbox.Kind
		fields    map[string]string
		want      error
		missing   []string
		permanent bool
	}{
		{name: "unknown kind", kind: "org.deleted", fields: invitationFields(), want: email.ErrUnknownKind},
		{name: "missing link", kind: outbox.Invitation, fields: withoutLink, want: email.ErrMissingFields, missing: []string{"link"}, permanent: true},
		{name: "empty expiry", kind: outbox.PasswordResetRequested, fields: emptyExpiry, want: email.ErrMissingFields, missing: []string{"expires_at"}, permanent: true},
		{name: "no fields", kind: outbox.Invitation, fields: nil, want: email.ErrMissingFields, missing: []string{"org_name", "link", "expires_at"}, permanent: true},
		{name: "optional field absent", kind: outbox.Invitation, fields: withoutOptional},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := email.Render(tt.kind, tt.fields)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Render = %v, want %v", err, tt.want)
			}
			if got := email.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			var missing *email.MissingFieldsError
			if errors.As(err, &missing) && !slices.Equal(missing.Fields, tt.missing) {
				t.Errorf("missing fields = %v, want %v", missing.Fields, tt.missing)
			}
		})
	}
}
