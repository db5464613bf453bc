package apikeys_test

import (
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/proof/fuzzcheck"
)

// FuzzParseAPIKey checks the parser the authorizer runs on every presented
// key: whatever it accepts is exactly Format of what it returns, with a
// valid id, so no two spellings name one key.
func FuzzParseAPIKey(f *testing.F) {
	valid := apikeys.Format("01JD0000000000000000000000", strings.Repeat("A", 43))
	for _, seed := range []string{
		valid, valid + "=", valid[:len(valid)-1], "ihk_", "ihk__", "ihk_01JD0000000000000000000000_", "IHK_" + valid[4:],
		"ihk_01JD0000000000000000000000_" + strings.Repeat("+", 43), "ihk_a#b_c", "Bearer " + valid, "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, credential string) {
		id, secret, ok := apikeys.Parse(credential)
		if !ok {
			if id != "" || secret != "" {
				t.Fatalf("Parse(%q) refused but returned %q, %q", credential, id, secret)
			}
			return
		}
		if !ids.Valid(id) || apikeys.Format(id, secret) != credential {
			t.Fatalf("Parse(%q) = %q, %q: not the key's own parts", credential, id, secret)
		}
		if len(apikeys.HashSecret(secret)) != 64 {
			t.Fatalf("HashSecret(%q) is not a hex SHA-256", secret)
		}
	})
}

// FuzzDecodeAPIKeyInput decodes POST /api-keys' body.
func FuzzDecodeAPIKeyInput(f *testing.F) {
	for _, seed := range []string{
		`{"name":"CI pipeline","scopes":["runs:start","tenants:read"],"expires_at":"2030-01-01T00:00:00Z"}`,
		`{"name":"x","scopes":[]}`, `{"expires_at":"tomorrow"}`, `{"expires_at":1}`, `{"scopes":"all"}`, `{"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzcheck.Decode[apikeys.CreateInput](t, body)
	})
}
