package company_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/company"
	"github.com/integration-hub/hub/internal/proof/fuzzcheck"
)

// The body of PUT /company/primary-administrator is an anonymous struct in
// its handler; this has its field.
type primaryAdminBody struct {
	UserID string `json:"user_id"`
}

// FuzzDecodeCompanyInputs decodes the Company area's bodies.
func FuzzDecodeCompanyInputs(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Acme","primary_contact":"ops@acme.test","marketplace_url":"https://app.acme.test/integrations"}`,
		`{"marketplace_url":"https://user:pw@app.acme.test/"}`,
		`{"user_id":"01JDEMOADMIN00000000000000"}`,
		`{"content_type":"image/svg+xml","data":"PHN2Zy8+"}`, `{"url":"https://cdn.acme.test/logo.png"}`,
		`{"name":null}`, `{"data":1}`, `{"`,
	} {
		for which := range uint8(3) {
			f.Add(which, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		switch which % 3 {
		case 0:
			fuzzcheck.Decode[company.Update](t, body)
		case 1:
			fuzzcheck.Decode[company.LogoInput](t, body)
		case 2:
			fuzzcheck.Decode[primaryAdminBody](t, body)
		}
	})
}
