package users

import (
	"context"
	"fmt"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/storage"
)

// InviterField holds, in an invitation's events, the id of the user who
// invited, whose name EventNames reads when the email is sent. It is
// internal (EventNames.Internal): no email shows it.
const InviterField = "inviter_id"

// fallbackInviter names an inviter who has no name, or is gone.
const fallbackInviter = "a colleague"

// EventNames is the notifier's Fields (notifier.WithFields) for invitations: the names
// an invitation's events leave out, so that inviting is one write, read
// when the email is made. The organization's name (the invitation's
// org_name, the notification's organization) comes from the event's
// organization; the inviter's (inviter, invited_by) from InviterField. A
// name the event holds is kept. One read, and none when the event holds
// both names.
type EventNames struct {
	Table storage.ManyGetter
}

// Internal lists InviterField: the notifier reads the inviter's name by
// it, and the emails show the name (inviter, invited_by), never the id.
func (EventNames) Internal() []string { return []string{InviterField} }

// Fields returns the names ev leaves out. An organization that is gone
// gives no name, so the email, which needs it, is rejected; an inviter who
// is gone or nameless is "a colleague".
func (n EventNames) Fields(ctx context.Context, ev outbox.Event) (map[string]string, error) {
	var orgField, inviterField string
	switch ev.Kind {
	case outbox.Invitation:
		orgField, inviterField = "org_name", "inviter"
	case outbox.UserInvited:
		orgField, inviterField = "organization", "invited_by"
	default:
		return nil, nil
	}
	needOrg := ev.Data[orgField] == ""
	inviter := ev.Data[InviterField]
	needInviter := ev.Data[inviterField] == "" && inviter != ""
	var ks []storage.Key
	if needOrg {
		ks = append(ks, keys.Org(ev.Org))
	}
	if needInviter && keys.ValidID(inviter) {
		ks = append(ks, keys.User(ev.Org, inviter))
	}
	out := map[string]string{}
	if needInviter {
		out[inviterField] = fallbackInviter
	}
	if len(ks) == 0 {
		return out, nil
	}
	read, err := storage.Prefetch(ctx, n.Table, ks...)
	if err != nil {
		return nil, fmt.Errorf("users: names for event %s: %w", ev.ID, err)
	}
	if needOrg {
		if o, _, err := readOrg(ctx, read, ev.Org); err == nil {
			out[orgField] = o.Name
		}
	}
	if needInviter && keys.ValidID(inviter) {
		if u, _, err := loadUser(ctx, read, ev.Org, inviter); err == nil && u.Name != "" {
			out[inviterField] = u.Name
		}
	}
	return out, nil
}
