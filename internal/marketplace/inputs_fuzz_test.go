package marketplace_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/marketplace"
	"github.com/integration-hub/hub/internal/proof/fuzzcheck"
)

// FuzzDecodeMarketplaceInputs decodes every body of functions/marketplace
// as its route does (which picks the input type).
func FuzzDecodeMarketplaceInputs(f *testing.F) {
	for _, seed := range []string{
		`{"integration_id":"01JDHIDDEN0000000000000000"}`, `{"config":{"region":"eu"}}`,
		`{"issuer":"https://app.demo.example","audience":"hub","max_lifetime_seconds":600,"leeway_seconds":30,"claims":{"end_user_id":"sub","groups":"xti.user_group","tier":"xti.user_tier"},"jwks_url":"https://app.demo.example/.well-known/jwks.json"}`,
		`{"grace_period_seconds":86400}`, `{"kid":"acme-2026","algorithm":"EdDSA","key":"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"}`,
		`{"max_lifetime_seconds":-1}`, `{"claims":null}`, `{"`,
	} {
		for which := range uint8(5) {
			f.Add(which, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		switch which % 5 {
		case 0:
			fuzzcheck.Decode[marketplace.InstallInput](t, body)
		case 1:
			fuzzcheck.Decode[marketplace.ConfigInput](t, body)
		case 2:
			fuzzcheck.Decode[marketplace.RulesInput](t, body)
		case 3:
			fuzzcheck.Decode[marketplace.SecretInput](t, body)
		case 4:
			fuzzcheck.Decode[marketplace.KeyInput](t, body)
		}
	})
}
