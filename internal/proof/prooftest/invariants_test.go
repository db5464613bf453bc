package prooftest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/marketplace"
	"github.com/integration-hub/hub/internal/onetime"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
)

// TestInvariantsHoldOnAPopulatedHubAndCatchEachHalfWrite checks the
// checker: a hub populated through the API breaks no invariant, and each
// half of a multi-item write, taken away, is reported.
func TestInvariantsHoldOnAPopulatedHubAndCatchEachHalfWrite(t *testing.T) {
	h := prooftest.Open(t)
	org := h.NewOrg(principal.Standard)
	items, err := h.DB.Dump(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if broken := prooftest.Invariants(items, now); len(broken) > 0 {
		t.Fatalf("a hub made through the API breaks invariants: %v", broken)
	}
	firstOf := func(match func(storage.Item) bool) storage.Key {
		for _, it := range items {
			if match(it) {
				return it.Key
			}
		}
		t.Fatal("the populated hub has no such item")
		return storage.Key{}
	}
	partnerUser := func(it storage.Item) bool {
		u, err := users.FromItem(it)
		return err == nil && it.Type == users.EntityType && u.Partner != ""
	}
	tests := []struct {
		name   string
		remove storage.Key
		want   string
	}{
		{"a user's email guard", firstOf(func(it storage.Item) bool { return it.Type == users.EmailGuardType }), "has no email guard"},
		{"a user whose guard remains", keys.User(org.ID, org.Resource(prooftest.Users)), "who does not exist"},
		{"a partner user's member copy", func() storage.Key {
			u, _ := users.FromItem(h.Get(firstOf(partnerUser)))
			return keys.Member(u.Org, u.Partner, u.ID)
		}(), "has no member copy"},
		{"an API key's record", firstOf(func(it storage.Item) bool { return it.Type == apikeys.EntityType }), "has no record"},
		{"the user a token names", func() storage.Key {
			tok, _ := onetime.Decode(h.Get(firstOf(func(it storage.Item) bool { return it.Type == onetime.EntityType })))
			return keys.User(tok.Org, tok.User)
		}(), "token"},
		{"the organization of events", keys.Org(org.ID), "which does not exist"},
		{"the profile naming the flagged primary administrator", keys.Org(org.ID), "is flagged primary administrator"},
		{"the run a trigger holds", func() storage.Key {
			var tr struct {
				Run integrations.Run `json:"run"`
			}
			_ = json.Unmarshal(h.Get(keys.RunTrigger(org.ID, org.Resource(prooftest.Triggers))).Data, &tr)
			return keys.Run(tr.Run.Org, tr.Run.Tenant, tr.Run.ID)
		}(), "which the run item is not"},
		{"the record an end-user's copy holds", func() storage.Key {
			var u marketplace.EndUser
			_ = json.Unmarshal(h.Get(firstOf(func(it storage.Item) bool { return it.Type == marketplace.EndUserCopyType })).Data, &u)
			return keys.EndUser(u.Org, u.ID)
		}(), "is not the record"},
		{"a live tenant's marker in its integration's registry", func() storage.Key {
			tn, _ := integrations.TenantFromItem(h.Get(keys.Tenant(org.ID, org.Resource(prooftest.Tenants))))
			return keys.IntegrationLiveTenant(tn.Org, tn.Integration, tn.ID)
		}(), "is not in the registry"},
		{"the live tenant a marker names", keys.Tenant(org.ID, org.Resource(prooftest.Tenants)), "which is not a live tenant"},
		{"the integration of a live tenant", keys.Integration(org.ID, org.Resource(prooftest.Integrations)), "of integration " + org.Resource(prooftest.Integrations) + ", which does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var kept []storage.Item
			for _, it := range items {
				if it.Key != tt.remove {
					kept = append(kept, it)
				}
			}
			if len(kept) == len(items) {
				t.Fatalf("%s is not in the table", tt.remove)
			}
			broken := strings.Join(prooftest.Invariants(kept, now), "\n")
			if !strings.Contains(broken, tt.want) {
				t.Errorf("without %s: %q, want a violation saying %q", tt.remove, broken, tt.want)
			}
		})
	}
}
