package users_test

import (
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/proof/fuzzcheck"
	"github.com/integration-hub/hub/internal/users"
)

// The bodies of functions/auth's sign-in and forgot-password routes are
// anonymous structs in the handlers; these have the same fields.
type (
	signInBody struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	forgotBody struct {
		Email string `json:"email"`
	}
)

// FuzzDecodeUserInputs decodes every body of functions/auth and
// functions/users as its route does (which picks the input type).
func FuzzDecodeUserInputs(f *testing.F) {
	for _, seed := range []string{
		`{"email":"grace@demo.example"}`,
		`{"email":"grace@demo.example","name":"Grace","role":"hub_user"}`,
		`{"token":"abc","name":"Ada","password":"correct horse battery"}`,
		`{"token":"abc","password":"correct horse battery"}`,
		`{"name":"Partner","mode":"invite","first_user":{"email":"p@x.test"}}`,
		`{"email":"admin@demo.example","password":"x"}`,
		`{"first_user":null}`, `{"email":1}`, `{"zz":1}`, `{"`, `[]`, `null`, "{\"email\":\"\xff\"}",
	} {
		for which := range uint8(6) {
			f.Add(which, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		switch which % 6 {
		case 0:
			fuzzcheck.Decode[users.InviteInput](t, body)
		case 1:
			fuzzcheck.Decode[users.AcceptInput](t, body)
		case 2:
			fuzzcheck.Decode[users.ResetInput](t, body)
		case 3:
			fuzzcheck.Decode[users.PartnerInput](t, body)
		case 4:
			fuzzcheck.Decode[signInBody](t, body)
		case 5:
			fuzzcheck.Decode[forgotBody](t, body)
		}
	})
}

// FuzzNormalizeEmail checks the one function every address goes through:
// a normalized address is lower case, at most 254 bytes, without line
// breaks or spaces (it goes into email headers), and normalizing it again
// changes nothing.
func FuzzNormalizeEmail(f *testing.F) {
	for _, seed := range []string{"Ada@Example.com", " ada@example.com ", "a@b", "a@b.c", "x@x.test\r\nBcc: y@y.test", `"quoted local"@example.com`, "Ada <ada@example.com>", "ünï@cödé.test", strings.Repeat("a", 250) + "@b.co", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		norm, err := users.NormalizeEmail(s)
		if err != nil {
			return
		}
		if norm != strings.ToLower(norm) || len(norm) > users.MaxEmailLength || strings.ContainsAny(norm, "\r\n\t ") {
			t.Fatalf("NormalizeEmail(%q) = %q", s, norm)
		}
		again, err := users.NormalizeEmail(norm)
		if err != nil || again != norm {
			t.Fatalf("NormalizeEmail(%q) = %q, but NormalizeEmail of that = %q, %v", s, norm, again, err)
		}
	})
}
