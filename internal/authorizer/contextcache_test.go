package authorizer

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/integration-hub/hub/internal/principal"
)

// TestContextCacheTellsPrincipalsApartByEveryField changes one field of a
// principal at a time, through reflection so that a field added to
// principal.Principal is covered too, and wants each variant's own
// context, never the cached one of the principal before it.
func TestContextCacheTellsPrincipalsApartByEveryField(t *testing.T) {
	base := principal.Principal{
		Kind: principal.EndUser, Org: "o1", Subject: "s1", Plan: principal.Standard, Partner: "p1", PartnerPending: true,
		Scopes: []string{"a"}, Groups: []string{"g"}, Tier: "t", Hidden: []string{"h"}, AllowedInstalls: 3,
	}
	typ := reflect.TypeFor[principal.Principal]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			variant := base
			v := reflect.ValueOf(&variant).Elem().Field(i)
			switch v.Kind() {
			case reflect.String:
				v.SetString(v.String() + "-other")
			case reflect.Bool:
				v.SetBool(!v.Bool())
			case reflect.Int:
				v.SetInt(v.Int() + 1)
			case reflect.Slice:
				v.Set(reflect.ValueOf([]string{"other"}))
			default:
				t.Fatalf("field %s of kind %s: teach this test and samePrincipal about it", f.Name, v.Kind())
			}
			var c contextCache
			if got := c.context(base); !reflect.DeepEqual(got, base.Context()) {
				t.Fatalf("first context %v, want %v", got, base.Context())
			}
			if got := c.context(variant); !reflect.DeepEqual(got, variant.Context()) {
				t.Fatalf("with %s changed, context %v, want %v", f.Name, got, variant.Context())
			}
		})
	}
}

func TestContextCacheHandsOutCopiesAndStaysBounded(t *testing.T) {
	var c contextCache
	p := principal.Principal{Kind: principal.APIKey, Org: "o1", Subject: "k1", Scopes: []string{"runs:read"}}
	want := p.Context()
	c.context(p)["org"] = "o2"
	for range 2 {
		got := c.context(p)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("context %v, want %v", got, want)
		}
		got["org"] = "o2"
	}
	// A principal whose list is changed in place after its decision.
	shared := principal.Principal{Kind: principal.APIKey, Org: "o1", Subject: "k2", Scopes: []string{"runs:read"}}
	c.context(shared)
	shared.Scopes[0] = "runs:start"
	if got := c.context(shared); got["scopes"] != `["runs:start"]` {
		t.Fatalf("a principal whose scopes changed in place got %v", got["scopes"])
	}
	for i := range MaxCachedItems + 20 {
		c.context(principal.Principal{Kind: principal.APIKey, Org: "o1", Subject: fmt.Sprint(i)})
		c.mu.Lock()
		n := len(c.entries)
		c.mu.Unlock()
		if n > MaxCachedItems {
			t.Fatalf("%d entries, at most %d", n, MaxCachedItems)
		}
	}
}
