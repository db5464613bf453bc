package integrations_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/proof/fuzzcheck"
)

// FuzzDecodeIntegrationInputs decodes every body of functions/integrations
// as its route does (which picks the input type).
func FuzzDecodeIntegrationInputs(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Salesforce","description":"Sync contacts both ways.","logo_url":"https://cdn.demo.example/salesforce.svg","tags":["crm"],"audience":{"groups":["enterprise"],"tiers":[]},"published":true}`,
		`{"integration_id":"01JD0000000000000000000000","end_user_id":"customer-42","config":{"region":"eu"}}`,
		`{"answers":{"q1":"yes"}}`, `{"decision":"reject","feedback":"add docs"}`,
		`{"config":{"a":[1,2,{"b":null}]}}`, `{"status":"failed","error":"the CRM answered 401"}`,
		`{"config":"x"}`, `{"tags":null}`, `{"audience":[]}`, `{"`,
	} {
		for which := range uint8(6) {
			f.Add(which, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		switch which % 6 {
		case 0:
			fuzzcheck.Decode[integrations.IntegrationInput](t, body)
		case 1:
			fuzzcheck.Decode[integrations.TenantInput](t, body)
		case 2:
			fuzzcheck.Decode[integrations.SubmitInput](t, body)
		case 3:
			fuzzcheck.Decode[integrations.ReviewInput](t, body)
		case 4:
			fuzzcheck.Decode[integrations.TenantUpdate](t, body)
		case 5:
			fuzzcheck.Decode[integrations.RunReport](t, body)
		}
	})
}
