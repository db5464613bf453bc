package email_test

import (
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/email"
)

// FuzzRender renders every kind of email with every field set to the
// same arbitrary value (between two markers, so it is told apart from the
// template's own markup): rendering never fails, the subject is one
// header-safe line, and the HTML body never carries the value's markup
// unescaped.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{"Acme", "<script>alert(1)</script>", "a\r\nBcc: victim@x.test", `"><img src=x onerror=alert(1)>`, "https://hub.test/accept-invitation#token=abc", "ünïcödé", "{{.Link}}", ""} {
		f.Add(uint8(0), seed)
	}
	kinds := email.Kinds()
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		if value == "" {
			return
		}
		kind := kinds[int(which)%len(kinds)]
		fields := map[string]string{}
		marked := "zq" + value + "qz"
		for _, name := range []string{"org_name", "inviter", "expires_at", "link", "email", "invited_by", "organization", "name", "integration_name", "tenant_id", "integration_id", "end_user_id", "partner_name", "partner_id", "run_id", "error", "key_name", "api_key_id", "action", "user_name", "title"} {
			fields[name] = marked
		}
		subject, _, html, err := email.Render(kind, fields)
		if err != nil {
			t.Fatalf("Render(%s) with every field %q: %v", kind, value, err)
		}
		if strings.ContainsAny(subject, "\r\n") {
			t.Fatalf("Render(%s): subject %q spans lines", kind, subject)
		}
		if strings.ContainsAny(value, "<>\"'&") && strings.Contains(html, marked) {
			t.Fatalf("Render(%s): the HTML body holds %q unescaped", kind, value)
		}
	})
}
