// Package areas says which settings areas a principal may see. The API
// serves this list (GET /auth/me) so a front end never has to guess, and the
// settings functions check the same rule.
package areas

import (
	"slices"

	"github.com/integration-hub/hub/internal/principal"
)

// The settings areas, one Lambda each.
const (
	Company         = "company"
	Users           = "users"
	Notifications   = "notifications"
	IntegrationForm = "integration-form"
	PartnerForm     = "partner-form"
	SourceControl   = "source-control"
	APIAccess       = "api-access"
)

var (
	all         = []string{Company, Users, Notifications, IntegrationForm, PartnerForm, SourceControl, APIAccess}
	partnerOnly = map[string]bool{IntegrationForm: true, PartnerForm: true}
	forPartners = []string{Company, Users, SourceControl}
)

// For lists the areas p may see, in menu order. Lite organizations have no
// partner areas; partner users see Company, Users and Source Control, or
// only the Partner Form while it is due.
func For(p principal.Principal) []string {
	switch p.Kind {
	case principal.HubUser:
		out := make([]string, 0, len(all))
		for _, a := range all {
			if p.Plan == principal.Lite && partnerOnly[a] {
				continue
			}
			out = append(out, a)
		}
		return out
	case principal.PartnerUser:
		if p.PartnerPending {
			return []string{PartnerForm}
		}
		return slices.Clone(forPartners)
	}
	return nil
}

// Visible reports whether p may see area.
func Visible(p principal.Principal, area string) bool { return slices.Contains(For(p), area) }
