package authorizer

import (
	"maps"
	"slices"
	"sync"

	"github.com/integration-hub/hub/internal/principal"
)

// contextCache keeps the response context of recent principals: building
// one (a map of eleven values, lists encoded as JSON) was a large part of a
// decision that had nothing else left to do. An entry answers only a
// principal equal in every field to the one it was built for, and answers
// with a copy, so a caller that changes its context changes no other
// decision's. It holds at most MaxCachedItems entries.
//
// The zero value is ready; it is safe for concurrent use.
type contextCache struct {
	mu      sync.Mutex
	entries map[principalID]builtContext
}

type principalID struct {
	kind         principal.Kind
	org, subject string
}

type builtContext struct {
	p   principal.Principal // its lists cloned, so no caller can change them
	ctx map[string]any      // never handed out, only copies of it
}

// context is p.Context().
func (c *contextCache) context(p principal.Principal) map[string]any {
	id := principalID{p.Kind, p.Org, p.Subject}
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && samePrincipal(e.p, p) {
		return maps.Clone(e.ctx)
	}
	ctx := p.Context()
	kept := p
	kept.Scopes, kept.Groups, kept.Hidden = slices.Clone(p.Scopes), slices.Clone(p.Groups), slices.Clone(p.Hidden)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[principalID]builtContext)
	}
	if _, replaces := c.entries[id]; !replaces && len(c.entries) >= MaxCachedItems {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[id] = builtContext{p: kept, ctx: maps.Clone(ctx)}
	return ctx
}

// samePrincipal compares every field of principal.Principal; the test
// TestContextCacheTellsPrincipalsApartByEveryField fails when a field is
// added and not compared here.
func samePrincipal(a, b principal.Principal) bool {
	return a.Kind == b.Kind && a.Org == b.Org && a.Subject == b.Subject && a.Plan == b.Plan &&
		a.Partner == b.Partner && a.PartnerPending == b.PartnerPending &&
		slices.Equal(a.Scopes, b.Scopes) && slices.Equal(a.Groups, b.Groups) &&
		a.Tier == b.Tier && slices.Equal(a.Hidden, b.Hidden) && a.AllowedInstalls == b.AllowedInstalls &&
		a.UseDue == b.UseDue
}
