package sessions

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestTheIssuerIsFoundInBase64AtEveryOffset: wherever the issuer sits in a
// payload, its base64 holds one of issuerInBase64, so a session is never
// decoded twice; without the issuer, none is found here.
func TestTheIssuerIsFoundInBase64AtEveryOffset(t *testing.T) {
	for lead := range 6 {
		for _, tc := range []struct {
			claim string
			found bool
		}{
			{`"iss":"` + Issuer + `"`, true},
			{`"iss":"integration-hu"`, false},
			{`"iss":"ntegration-hub"`, false},
		} {
			seg := base64.RawURLEncoding.EncodeToString([]byte("{" + strings.Repeat(" ", lead) + tc.claim + `,"sub":"u1"}`))
			found := false
			for _, run := range issuerInBase64 {
				found = found || strings.Contains(seg, run)
			}
			if found != tc.found {
				t.Errorf("%d spaces before %s: found %v, want %v", lead, tc.claim, found, tc.found)
			}
		}
	}
}
