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

// PartnerField holds the id of a partner organization, whose name
// EventNames reads when the email is sent (partner): in the "user invited"
// notification of a partner user's invitation, and in the events of a
// partner's integration (integration.created, partner_integration.updated),
// which internal/integrations raises. The Partner Form's event
// (partner_form.submitted, which internal/partnerform raises) holds it
// next to the partner organization's name (partner_name), which EventNames
// need not read. It is internal to all those events
// (EventNames.Internal): no email shows it, except the notification of an
// integration whose partner organization is gone, or of a Partner Form
// event without the name, where it is the only clue left.
const PartnerField = "partner_id"

// partnerNameField holds, in the Partner Form's event, the name of the
// partner organization that submitted it, which internal/partnerform
// writes from the partner it reads for the submission.
const partnerNameField = "partner_name"

// fallbackInviter names an inviter who has no name, or is gone.
const fallbackInviter = "a colleague"

// EventNames is the notifier's Fields (notifier.WithFields): the names the
// events of an invitation and of a partner's integration leave out, so
// that raising them takes no read, read when the email is made. The
// organization's name (the invitation's org_name, the "user invited"
// notification's organization) comes from the event's organization; the
// inviter's (inviter, invited_by) from InviterField; the partner
// organization's (partner, in the "user invited" notification and in an
// integration's integration.created and partner_integration.updated) from
// PartnerField. A name the event holds is kept. One read of all the names
// (one GetMany), and none when the event holds them all or names no one.
//
// What it hides, per kind (Internal): InviterField in the invitation;
// InviterField and PartnerField in the "user invited" notification;
// PartnerField in integration.created, partner_integration.updated and
// partner_form.submitted, whose notification shows the partner
// organization's name from its own partner_name (no read).
type EventNames struct {
	Table storage.ManyGetter
}

// Internal lists the ids of kind's events that stand for a name, which
// no email shows: InviterField in both an invitation's events,
// PartnerField too in the "user invited" notification, PartnerField alone
// in an integration's events and in the Partner Form's. The emails show
// the names (inviter, invited_by, partner; partner_name, which the Partner
// Form's event holds), not the ids. Other kinds have none.
func (EventNames) Internal(kind outbox.Kind) []string {
	switch kind {
	case outbox.Invitation:
		return []string{InviterField}
	case outbox.UserInvited:
		return []string{InviterField, PartnerField}
	case outbox.IntegrationCreated, outbox.PartnerIntegrationUpdated, outbox.PartnerFormSubmitted:
		return []string{PartnerField}
	}
	return nil
}

// Fields returns the names ev leaves out. An organization that is gone
// gives no name, so the email, which needs it, is rejected; an inviter who
// is gone or nameless is "a colleague". A partner organization that is
// gone or nameless, or whose id cannot be one, gives no name: the "user
// invited" notification then has no partner row, and an integration's
// event gets its PartnerField back (an internal field Fields returns is
// shown), the id being the only clue left to which partner it was. The
// Partner Form's event holds the partner organization's name
// (partner_name), so nothing is read for it; one without the name (the
// Partner Form raises none) gets its PartnerField back, for that reason.
func (n EventNames) Fields(ctx context.Context, ev outbox.Event) (map[string]string, error) {
	var orgField, inviterField, partnerField string
	keepPartnerID := false
	switch ev.Kind {
	case outbox.PartnerFormSubmitted:
		if partner := ev.Data[PartnerField]; partner != "" && ev.Data[partnerNameField] == "" {
			return map[string]string{PartnerField: partner}, nil
		}
		return nil, nil
	case outbox.Invitation:
		orgField, inviterField = "org_name", "inviter"
	case outbox.UserInvited:
		orgField, inviterField, partnerField = "organization", "invited_by", "partner"
	case outbox.IntegrationCreated, outbox.PartnerIntegrationUpdated:
		partnerField, keepPartnerID = "partner", true
	default:
		return nil, nil
	}
	needOrg := orgField != "" && ev.Data[orgField] == ""
	inviter := ev.Data[InviterField]
	needInviter := inviterField != "" && ev.Data[inviterField] == "" && inviter != ""
	partner := ev.Data[PartnerField]
	needPartner := partnerField != "" && ev.Data[partnerField] == "" && partner != ""
	var ks []storage.Key
	if needOrg {
		ks = append(ks, keys.Org(ev.Org))
	}
	if needInviter && keys.ValidID(inviter) {
		ks = append(ks, keys.User(ev.Org, inviter))
	}
	if needPartner && keys.ValidID(partner) {
		ks = append(ks, keys.Partner(ev.Org, partner))
	}
	out := map[string]string{}
	if needInviter {
		out[inviterField] = fallbackInviter
	}
	if needPartner && keepPartnerID {
		out[PartnerField] = partner // until a name replaces it
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
	if needPartner && keys.ValidID(partner) {
		if pt, _, err := loadPartner(ctx, read, ev.Org, partner); err == nil && pt.Name != "" {
			out[partnerField] = pt.Name
			delete(out, PartnerField)
		}
	}
	return out, nil
}
