package principal_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/integration-hub/hub/internal/principal"
)

// The context crosses API Gateway as JSON; the principal must survive it.
func TestPrincipalSurvivesTheAuthorizerContextRoundTrip(t *testing.T) {
	cases := []principal.Principal{
		{Kind: principal.HubUser, Org: "o1", Subject: "u1", Plan: principal.Standard},
		{Kind: principal.PartnerUser, Org: "o1", Subject: "u2", Plan: principal.Lite, Partner: "p1", PartnerPending: true},
		{Kind: principal.APIKey, Org: "o1", Subject: "k1", Plan: principal.Standard, Scopes: []string{"runs:start"}},
		{Kind: principal.APIKey, Org: "o1", Subject: "k2", Plan: principal.Standard, Scopes: []string{"runs:read"}, UseDue: true},
		{Kind: principal.EndUser, Org: "o1", Subject: "eu", Groups: []string{"gold"}, Tier: "t1", Hidden: []string{"i9"}, AllowedInstalls: 3},
	}
	for _, p := range cases {
		t.Run(string(p.Kind), func(t *testing.T) {
			b, err := json.Marshal(p.Context())
			if err != nil {
				t.Fatal(err)
			}
			var c map[string]any
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			got, err := principal.FromContext(c)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
			}
		})
	}
}

func TestFromContextRefusesIncompletePrincipals(t *testing.T) {
	cases := map[string]map[string]any{
		"empty":                   {},
		"unknown kind":            {"kind": "admin", "org": "o", "sub": "s"},
		"no organization":         {"kind": "hub_user", "sub": "s"},
		"partner without partner": {"kind": "partner_user", "org": "o", "sub": "s"},
		"bad list":                {"kind": "api_key", "org": "o", "sub": "s", "scopes": "not json"},
	}
	for name, c := range cases {
		if _, err := principal.FromContext(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
