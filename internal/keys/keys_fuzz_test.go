package keys_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/keys"
)

// partitions are every partition key the builders make for an
// organization, given an id for their other parameters.
func partitions(org, id string) []string {
	return []string{
		keys.OrgPK(org), keys.UsersScope(org, ""), keys.UsersScope(org, id), keys.PartnersScope(org),
		keys.IntegrationsScope(org), keys.PartnerIntegrationsScope(org, id), keys.TenantsScope(org),
		keys.IntegrationTenantsScope(org, id), keys.IntegrationLivePK(org, id), keys.EndUserTenantsPK(org, id), keys.TenantRunsPK(org, id),
		keys.User(org, id).PK, keys.Member(org, id, id).PK, keys.Tenant(org, id).PK, keys.Run(org, id, id).PK,
		keys.APIKey(org, id).PK, keys.EndUser(org, id).PK, keys.EndUserCopy(org, id).PK, keys.MarketplaceSettings(org).PK,
	}
}

// FuzzKeyBuilders checks the key builders with ids that pass keys.ValidID:
// no partition of one organization is a partition of another, every one
// starts with the organization's own ORG#<org>, the ids read back from the
// keys that carry them, and an end-user id of any bytes survives its
// encoding.
func FuzzKeyBuilders(f *testing.F) {
	for _, seed := range [][4]string{
		{"o1", "o2", "u1", "end-user-42"}, {"A", "AB", "USERS", "x#y"}, {"o", "o#P", "p", ""}, {"01JD", "01JE", "01JF", "üñí\x00"},
		{"a", "a#USERS", "b", "/"}, {"ORG", "ORG#ORG", "ORG", "ORG#x"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, org1, org2, id, endUser string) {
		if !keys.ValidID(org1) || !keys.ValidID(org2) || !keys.ValidID(id) || org1 == org2 {
			return
		}
		mine := map[string]bool{}
		for _, pk := range partitions(org1, id) {
			if pk != keys.OrgPK(org1) && !strings.HasPrefix(pk, keys.OrgPK(org1)+"#") {
				t.Fatalf("partition %q of organization %q does not start with %q", pk, org1, keys.OrgPK(org1)+"#")
			}
			mine[pk] = true
		}
		for _, pk := range partitions(org2, id) {
			if mine[pk] {
				t.Fatalf("organizations %q and %q share partition %q", org1, org2, pk)
			}
		}
		if got, ok := keys.UserID(keys.User(org1, id).SK); !ok || got != id {
			t.Fatalf("UserID(User(%q, %q)) = %q, %v", org1, id, got, ok)
		}
		pk := keys.EndUserTenantsPK(org1, endUser)
		encoded, ok := strings.CutPrefix(pk, keys.OrgPK(org1)+"#ENDUSER#")
		if !ok || strings.Contains(encoded, "#") {
			t.Fatalf("EndUserTenantsPK(%q, %q) = %q", org1, endUser, pk)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(encoded); err != nil || string(raw) != endUser {
			t.Fatalf("end-user %q is stored as %q, which reads back as %q (%v)", endUser, encoded, raw, err)
		}
	})
}
