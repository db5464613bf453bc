package operator_test

import (
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/proof/fuzzcheck"
	"github.com/integration-hub/hub/internal/users"
)

// FuzzCreateInput decodes the operator's create-organization input and
// validates it: a valid input has a usable id (or none), a plan, and a
// normalized administrator address, and validating it again changes
// nothing.
func FuzzCreateInput(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Acme Analytics","plan":"lite","admin_email":"Ada@Acme.example","admin_name":"Ada"}`,
		`{"id":"demo","name":"Demo Company","plan":"standard","admin_email":"admin@demo.example"}`,
		`{"id":"a#b","name":"x","admin_email":"a@b.c"}`, `{"name":"","admin_email":"a@b.c"}`, `{"plan":"gold"}`,
		`{"`, `{"name":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := fuzzcheck.Decode[operator.CreateInput](t, body)
		if !ok || in.Validate() != nil {
			return
		}
		if in.ID != "" && !keys.ValidID(in.ID) {
			t.Fatalf("valid input with id %q", in.ID)
		}
		if norm, err := users.NormalizeEmail(in.AdminEmail); err != nil || norm != in.AdminEmail {
			t.Fatalf("valid input with admin_email %q (normalized %q, %v)", in.AdminEmail, norm, err)
		}
		if strings.TrimSpace(in.Name) != in.Name || in.Plan == "" {
			t.Fatalf("valid input %+v is not normalized", in)
		}
		before := in
		if err := in.Validate(); err != nil || in != before {
			t.Fatalf("validating %+v again: %+v, %v", before, in, err)
		}
	})
}
