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
// internal to both events (EventNames.Internal): no email shows it.
const InviterField = "inviter_id"

// PartnerField holds, in the "user invited" notification of a partner
// user's invitation, the id of the partner organization, whose name
// EventNames reads when the email is sent (partner). It is internal to
// that event (EventNames.Internal): no email shows it. Other events that
// hold a partner_id (an integration's) keep showing it.
const PartnerField = "partner_id"

// fallbackInviter names an inviter who has no name, or is gone.
const fallbackInviter = "a colleague"

// EventNames is the notifier's Fields (notifier.WithFields) for
// invitations: the names an invitation's events leave out, so that
// inviting is one write, read when the email is made. The organization's
// name (the invitation's org_name, the notification's organization) comes
// from the event's organization; the inviter's (inviter, invited_by) from
// InviterField; the partner organization's (the notification's partner)
// from PartnerField. A name the event holds is kept. One read of all the
// names (one GetMany), and none when the event holds them all.
type EventNames struct {
	Table storage.ManyGetter
}

// Internal lists the ids EventNames reads the names of kind's events by:
// InviterField in both an invitation's events, PartnerField too in the
// "user invited" notification. The emails show the names (inviter,
// invited_by, partner), never the ids. Other kinds have none.
func (EventNames) Internal(kind outbox.Kind) []string {
	switch kind {
	case outbox.Invitation:
		return []string{InviterField}
	case outbox.UserInvited:
		return []string{InviterField, PartnerField}
	}
	return nil
}

// Fields returns the names ev leaves out. An organization that is gone
// gives no name, so the email, which needs it, is rejected; an inviter who
// is gone or nameless is "a colleague"; a partner organization that is
// gone, or whose id cannot be one, gives no name and the notification no
// partner row.
func (n EventNames) Fields(ctx context.Context, ev outbox.Event) (map[string]string, error) {
	var orgField, inviterField, partnerField string
	switch ev.Kind {
	case outbox.Invitation:
		orgField, inviterField = "org_name", "inviter"
	case outbox.UserInvited:
		orgField, inviterField, partnerField = "organization", "invited_by", "partner"
	default:
		return nil, nil
	}
	needOrg := ev.Data[orgField] == ""
	inviter := ev.Data[InviterField]
	needInviter := ev.Data[inviterField] == "" && inviter != ""
	partner := ev.Data[PartnerField]
	needPartner := partnerField != "" && ev.Data[partnerField] == "" && keys.ValidID(partner)
	var ks []storage.Key
	if needOrg {
		ks = append(ks, keys.Org(ev.Org))
	}
	if needInviter && keys.ValidID(inviter) {
		ks = append(ks, keys.User(ev.Org, inviter))
	}
	if needPartner {
		ks = append(ks, keys.Partner(ev.Org, partner))
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
	if needPartner {
		if pt, _, err := loadPartner(ctx, read, ev.Org, partner); err == nil && pt.Name != "" {
			out[partnerField] = pt.Name
		}
	}
	return out, nil
}
