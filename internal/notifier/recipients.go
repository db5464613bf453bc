package notifier

import (
	"context"
	"strings"

	"github.com/integration-hub/hub/internal/outbox"
)

// Recipients decides who receives the email of an event. It is the seam for
// the notification settings: a resolver that adds the organization's
// primary contact and the extra addresses configured per kind of event
// replaces EventRecipients there. The notifier removes duplicates.
type Recipients interface {
	Recipients(ctx context.Context, ev outbox.Event) ([]string, error)
}

// Fields fills in fields that an event names by id and leaves to the time
// of sending (the organization's name, the inviter's, the partner
// organization's): a write that raises the event then need not read them.
// A field the event holds is never replaced. An error leaves the event for
// a retry.
//
// Internal names the fields of a kind of event's data that stand for a
// name and that no email shows (the ids Fields looks names up by, such as
// users.InviterField and, in a "user invited" notification or a partner's
// integration events, users.PartnerField; and an id whose name the event
// holds, as the Partner Form's users.PartnerField next to its
// partner_name): the notifier drops them from that kind's events' data
// before rendering, so no email shows them, not even a notification, which
// shows every field of its event as a row. It is per kind: a field of the
// same name in a kind of event that Internal does not list it for is
// shown.
//
// What Fields returns is shown, an internal field too: when there is no
// name for an id that is then the only clue (a partner organization that
// is gone), it gives the id back to keep its row.
type Fields interface {
	Fields(ctx context.Context, ev outbox.Event) (map[string]string, error)
	Internal(kind outbox.Kind) []string
}

// EventRecipients sends to the event's own recipients (Event.To), as
// personal emails (an invitation, a password reset) need.
type EventRecipients struct{}

// Recipients returns ev.To.
func (EventRecipients) Recipients(_ context.Context, ev outbox.Event) ([]string, error) {
	return ev.To, nil
}

// distinctAddresses drops blank addresses and repeats of an address in
// another case, keeping the first spelling and the order.
func distinctAddresses(addresses []string) []string {
	seen := make(map[string]bool, len(addresses))
	distinct := make([]string, 0, len(addresses))
	for _, address := range addresses {
		address = strings.TrimSpace(address)
		folded := strings.ToLower(address)
		if address == "" || seen[folded] {
			continue
		}
		seen[folded] = true
		distinct = append(distinct, address)
	}
	return distinct
}
