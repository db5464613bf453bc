package notifications

import (
	"context"
	"strings"

	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/settings"
)

// Resolver tells the notifier who receives an event's email, reading the
// settings as they are when it asks (it implements notifier.Recipients).
type Resolver struct {
	Table settings.Getter
}

// Recipients are an event's recipients, each once (compared without case):
//
//   - an event addressed to people (Event.To: an invitation, a password
//     reset) goes to them alone, since its email carries their private
//     link;
//   - any other event goes to the organization's primary contact, always,
//     and, when the event is in the catalog and switched on, to its extra
//     addresses.
func (r Resolver) Recipients(ctx context.Context, ev outbox.Event) ([]string, error) {
	if len(ev.To) > 0 {
		return distinctFold(ev.To), nil
	}
	contact, err := primaryContact(ctx, r.Table, ev.Org)
	if err != nil {
		return nil, err
	}
	to := []string{contact}
	if InCatalog(ev.Kind) {
		doc, _, err := load(ctx, r.Table, ev.Org)
		if err != nil {
			return nil, err
		}
		if set := doc.setting(ev.Kind); set.Enabled {
			to = append(to, set.Addresses...)
		}
	}
	return distinctFold(to), nil
}

// distinctFold drops blank addresses and repeats in another case, keeping
// the first spelling and the order.
func distinctFold(addresses []string) []string {
	seen := make(map[string]bool, len(addresses))
	out := make([]string, 0, len(addresses))
	for _, a := range addresses {
		a = strings.TrimSpace(a)
		folded := strings.ToLower(a)
		if a == "" || seen[folded] {
			continue
		}
		seen[folded] = true
		out = append(out, a)
	}
	return out
}
