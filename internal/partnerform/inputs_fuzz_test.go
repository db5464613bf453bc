package partnerform_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/partnerform"
	"github.com/integration-hub/hub/internal/proof/fuzzcheck"
)

// FuzzDecodePartnerFormInputs decodes the Partner Form area's bodies.
func FuzzDecodePartnerFormInputs(f *testing.F) {
	for _, seed := range []string{
		`{"questions":[{"type":"text","label":"Company website"}],"terms_url":"https://acme.test/partner-terms"}`,
		`{"answers":{},"accept_terms":true}`,
		`{"answers":{"q1":"yes","q2":["a","b"],"q3":true}}`, `{"answers":[]}`, `{"accept_terms":"yes"}`, `{"`,
	} {
		for which := range uint8(2) {
			f.Add(which, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		switch which % 2 {
		case 0:
			fuzzcheck.Decode[partnerform.Input](t, body)
		case 1:
			fuzzcheck.Decode[partnerform.SubmitInput](t, body)
		}
	})
}
