package prooftest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/marketplace"
	"github.com/integration-hub/hub/internal/onetime"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
)

// Invariants lists every way items break the hub's multi-item rules, the
// ones each atomic write keeps and a half-applied write would break:
//
//   - every user has its email guard, naming it, and every guard names a
//     user with its address;
//   - a partner user has its member copy, equal but for the password hash,
//     and every member copy has its user;
//   - a live one-time token names a user of its organization;
//   - an API key's record and lookup item exist together and agree;
//   - an outbox event belongs to an organization that exists;
//   - a user flagged primary administrator is the one the organization's
//     profile names;
//   - a trigger's copy of its run is the run, at its version;
//   - a marketplace end-user's copy of their record is the record, at its
//     version;
//   - a live tenant's integration exists and lists it in its registry of
//     live tenants, and every marker there names a live tenant of that
//     integration.
//
// Expired items are ignored, as every read ignores them.
func Invariants(items []storage.Item, now time.Time) []string {
	byKey := map[storage.Key]storage.Item{}
	for _, it := range items {
		if !it.Expired(now) {
			byKey[it.Key] = it
		}
	}
	var out []string
	fail := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for k, it := range byKey {
		switch it.Type {
		case users.EntityType:
			u, err := users.FromItem(it)
			if err != nil {
				fail("%s: %v", k, err)
				continue
			}
			guard, ok := byKey[keys.Email(u.Email)]
			var g users.EmailGuard
			if !ok || json.Unmarshal(guard.Data, &g) != nil || g.Org != u.Org || g.User != u.ID {
				fail("user %s/%s (%s) has no email guard naming it (guard %s)", u.Org, u.ID, u.Email, guard.Data)
			}
			if u.Primary {
				o, err := orgs.FromItem(byKey[keys.Org(u.Org)])
				if err != nil || o.PrimaryAdmin != u.ID {
					fail("user %s/%s is flagged primary administrator, but the profile names %q", u.Org, u.ID, o.PrimaryAdmin)
				}
			}
			if u.Partner != "" {
				m, ok := byKey[keys.Member(u.Org, u.Partner, u.ID)]
				if !ok {
					fail("partner user %s/%s has no member copy", u.Org, u.ID)
					continue
				}
				copyOf, err := users.FromItem(m)
				u.PasswordHash = ""
				if err != nil || !sameJSON(copyOf, u) {
					fail("partner user %s/%s and its member copy differ: %s vs %s", u.Org, u.ID, it.Data, m.Data)
				}
			}
		case users.EmailGuardType:
			var g users.EmailGuard
			if err := json.Unmarshal(it.Data, &g); err != nil {
				fail("%s: %v", k, err)
				continue
			}
			u, ok := byKey[keys.User(g.Org, g.User)]
			email, _ := strings.CutPrefix(k.PK, "EMAIL#")
			if !ok {
				fail("email guard %s names user %s/%s, who does not exist", email, g.Org, g.User)
			} else if uu, err := users.FromItem(u); err != nil || uu.Email != email {
				fail("email guard %s names user %s/%s, whose address is %q", email, g.Org, g.User, uu.Email)
			}
		case users.MemberType:
			m, err := users.FromItem(it)
			if err != nil {
				fail("%s: %v", k, err)
				continue
			}
			if _, ok := byKey[keys.User(m.Org, m.ID)]; !ok {
				fail("member copy %s has no user", k)
			}
		case onetime.EntityType:
			tok, err := onetime.Decode(it)
			if err != nil {
				fail("%s: %v", k, err)
				continue
			}
			if _, ok := byKey[keys.User(tok.Org, tok.User)]; !ok {
				fail("%s token %s names user %s/%s, who does not exist", tok.Purpose, k.PK, tok.Org, tok.User)
			}
		case apikeys.EntityType, apikeys.LookupType:
			var key apikeys.Key
			if err := json.Unmarshal(it.Data, &key); err != nil {
				fail("%s: %v", k, err)
				continue
			}
			record, recordOK := byKey[keys.APIKey(key.Org, key.ID)]
			lookup, lookupOK := byKey[keys.APIKeyLookup(key.ID)]
			switch {
			case it.Type == apikeys.EntityType && !lookupOK && !(key.ExpiresAt != nil && !now.Before(*key.ExpiresAt)):
				fail("API key %s/%s has no lookup item", key.Org, key.ID)
			case it.Type == apikeys.LookupType && !recordOK:
				fail("API key lookup %s has no record in %s", key.ID, key.Org)
			case recordOK && lookupOK && record.Version != lookup.Version:
				fail("API key %s/%s: record at version %d, lookup at %d", key.Org, key.ID, record.Version, lookup.Version)
			}
		case integrations.TriggerType:
			var tr struct {
				Run *integrations.Run `json:"run"`
			}
			if err := json.Unmarshal(it.Data, &tr); err != nil {
				fail("%s: %v", k, err)
				continue
			}
			if tr.Run == nil {
				continue // a trigger from before the copy: it names the tenant only
			}
			run, ok := byKey[keys.Run(tr.Run.Org, tr.Run.Tenant, tr.Run.ID)]
			var r integrations.Run
			if ok && json.Unmarshal(run.Data, &r) == nil && run.Version == it.Version && sameJSON(r, *tr.Run) {
				continue
			}
			fail("trigger %s holds run %s at version %d, which the run item is not (%s at version %d)", k, tr.Run.ID, it.Version, run.Data, run.Version)
		case marketplace.EndUserCopyType:
			var u marketplace.EndUser
			if err := json.Unmarshal(it.Data, &u); err != nil {
				fail("%s: %v", k, err)
				continue
			}
			record, ok := byKey[keys.EndUser(u.Org, u.ID)]
			if !ok || record.Version != it.Version || string(record.Data) != string(it.Data) {
				fail("end-user %s/%s: the copy %s at version %d is not the record (%s at version %d)", u.Org, u.ID, it.Data, it.Version, record.Data, record.Version)
			}
		case integrations.TenantType:
			tn, err := integrations.TenantFromItem(it)
			if err != nil {
				fail("%s: %v", k, err)
				continue
			}
			if tn.Status == integrations.TenantArchived {
				continue
			}
			if _, ok := byKey[keys.Integration(tn.Org, tn.Integration)]; !ok {
				fail("live tenant %s/%s of integration %s, which does not exist", tn.Org, tn.ID, tn.Integration)
			}
			if _, ok := byKey[keys.IntegrationLiveTenant(tn.Org, tn.Integration, tn.ID)]; !ok {
				fail("live tenant %s/%s is not in the registry of integration %s", tn.Org, tn.ID, tn.Integration)
			}
		case integrations.LiveTenantType:
			var marker struct {
				Tenant string `json:"tenant_id"`
			}
			org, integration, ok := liveRegistryOf(k.PK)
			if err := json.Unmarshal(it.Data, &marker); err != nil || !ok {
				fail("%s: a marker that does not read (%v)", k, err)
				continue
			}
			tenant, found := byKey[keys.Tenant(org, marker.Tenant)]
			tn, err := integrations.TenantFromItem(tenant)
			if !found || err != nil || tn.Status == integrations.TenantArchived || tn.Integration != integration || k != keys.IntegrationLiveTenant(org, integration, tn.ID) {
				fail("marker %s names tenant %s, which is not a live tenant of integration %s (%s)", k, marker.Tenant, integration, tenant.Data)
			}
		case outbox.EntityType:
			ev, err := outbox.FromItem(it)
			if err != nil {
				fail("%s: %v", k, err)
				continue
			}
			if _, ok := byKey[keys.Org(ev.Org)]; !ok {
				fail("event %s of organization %s, which does not exist", ev.ID, ev.Org)
			}
		}
	}
	sort.Strings(out)
	return out
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// liveRegistryOf reads the organization and the integration from the
// partition of an integration's registry of live tenants
// (keys.IntegrationLivePK).
func liveRegistryOf(pk string) (org, integration string, ok bool) {
	rest, ok := strings.CutPrefix(pk, keys.OrgPK(""))
	if !ok {
		return "", "", false
	}
	org, rest, ok = strings.Cut(rest, "#I#")
	if !ok {
		return "", "", false
	}
	integration, ok = strings.CutSuffix(rest, "#LIVE")
	return org, integration, ok && pk == keys.IntegrationLivePK(org, integration)
}
