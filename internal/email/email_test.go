package email_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/integration-hub/hub/internal/email"
)

func TestValidateRefusesMessagesNoProviderWouldAccept(t *testing.T) {
	valid := email.Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "Hello"}
	tests := []struct {
		name   string
		modify func(*email.Message)
		ok     bool
	}{
		{"valid", func(*email.Message) {}, true},
		{"HTML body only", func(m *email.Message) { m.Text, m.HTML = "", "<p>Hello</p>" }, true},
		{"several recipients", func(m *email.Message) { m.To = append(m.To, "bob@example.org") }, true},
		{"no recipients", func(m *email.Message) { m.To = nil }, false},
		{"not an address", func(m *email.Message) { m.To = []string{"ada"} }, false},
		{"display name", func(m *email.Message) { m.To = []string{"Ada <ada@example.com>"} }, false},
		{"spaces around", func(m *email.Message) { m.To = []string{" ada@example.com"} }, false},
		{"no subject", func(m *email.Message) { m.Subject = " " }, false},
		{"subject with a line break", func(m *email.Message) { m.Subject = "Hi\r\nBcc: eve@example.com" }, false},
		{"no body", func(m *email.Message) { m.Text = "" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid
			m.To = append([]string(nil), valid.To...)
			tt.modify(&m)
			err := m.Validate()
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !email.IsPermanent(err) {
				t.Fatalf("Validate = %v, want a permanent error", err)
			}
			var sendErr *email.SendError
			if !errors.As(err, &sendErr) || sendErr.Code != email.CodeInvalidMessage {
				t.Fatalf("Validate = %#v, want a SendError with code %s", err, email.CodeInvalidMessage)
			}
		})
	}
}

func TestSendErrorMatchesItsClassOnly(t *testing.T) {
	cause := errors.New("boom")
	tests := []struct {
		class                email.Class
		permanent, transient bool
	}{
		{email.Permanent, true, false},
		{email.Transient, false, true},
		{email.Unclassified, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.class.String(), func(t *testing.T) {
			err := fmt.Errorf("notify: %w", &email.SendError{Class: tt.class, Code: "X", Attempts: 2, Err: cause})
			if got := email.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			if got := email.IsTransient(err); got != tt.transient {
				t.Errorf("IsTransient = %v, want %v", got, tt.transient)
			}
			if !errors.Is(err, cause) {
				t.Errorf("the cause is not wrapped: %v", err)
			}
		})
	}
}

func ExampleSendError() {
	err := &email.SendError{Class: email.Transient, Code: "Throttling", Attempts: 5, Err: errors.New("Maximum sending rate exceeded.")}
	fmt.Println(err)
	fmt.Println(email.IsTransient(err), email.IsPermanent(err))
	// Output:
	// email: send failed (Throttling) after 5 attempts: Maximum sending rate exceeded.
	// true false
}
