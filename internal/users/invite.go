package users

import (
	"maps"
	"net/url"
	"time"

	"github.com/integration-hub/hub/internal/onetime"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/storage"
)

// Sealer seals a value for the outbox (secrets.Box).
type Sealer interface {
	Seal(plain, context []byte) string
}

// Links builds the URLs that emails point to, on the hub's front end. The
// token travels in the fragment, which browsers never send to a server or
// put in a Referer.
type Links struct{ Base string }

// AcceptInvitation is the link of an invitation email.
func (l Links) AcceptInvitation(secret string) string {
	return l.Base + "/accept-invitation#token=" + url.QueryEscape(secret)
}

// ResetPassword is the link of a password reset email.
func (l Links) ResetPassword(secret string) string {
	return l.Base + "/reset-password#token=" + url.QueryEscape(secret)
}

// Invitation is what the invitation email says besides its link. A name
// left empty is read when the email is sent (EventNames): the
// organization's from the event's organization, the inviter's from
// InviterID. The "user invited" notification of a partner user names the
// partner organization by id (PartnerField), and its name is always read
// when the notification is sent.
type Invitation struct {
	OrgName     string
	InviterName string
	InviterID   string
	// Notify also raises the "user invited" notification for the
	// organization; the operator's invitation of a new organization's
	// administrator (its primary contact) does not.
	Notify bool
}

// Operation positions in the write InviteOps returns, for storage.FailedOn.
const (
	OpUser = iota
	OpEmailGuard
)

// InviteOps are the operations that create u as an invited user: the user,
// its email guard (both conditional on being absent), the invitation token,
// the invitation email's outbox event, and the "user invited" notification
// for the organization. Write them in one atomic write.
func InviteOps(u User, inv Invitation, links Links, box Sealer, now time.Time) ([]storage.Op, error) {
	u.Status = Invited
	u.InvitedAt = now.UTC()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now.UTC()
	}
	userPuts, err := u.PutOps(1, storage.Absent())
	if err != nil {
		return nil, err
	}
	tokenPut, event, err := InvitationOps(u, 1, inv, links, box, now)
	if err != nil {
		return nil, err
	}
	ops := []storage.Op{
		OpUser:       userPuts[0],
		OpEmailGuard: storage.Put(u.GuardItem(), storage.Absent()),
		tokenPut,
		event,
	}
	if inv.Notify {
		notice := outbox.New(u.Org, outbox.UserInvited, now)
		notice.Data = nonEmpty(map[string]string{"email": u.Email, "invited_by": inv.InviterName, "organization": inv.OrgName, InviterField: inv.InviterID, PartnerField: u.Partner})
		noticePut, err := outbox.Put(notice)
		if err != nil {
			return nil, err
		}
		ops = append(ops, noticePut)
	}
	return append(ops, userPuts[1:]...), nil
}

// InvitationOps issue an invitation token for u at its item version and
// the outbox event of the invitation email. A later change of the user
// (a resend) voids the token.
func InvitationOps(u User, version int64, inv Invitation, links Links, box Sealer, now time.Time) (tokenPut, event storage.Op, err error) {
	expires := now.Add(InvitationTTL)
	secret, tokenPut, err := onetime.Issue(onetime.Token{Purpose: onetime.Invitation, Org: u.Org, User: u.ID, ExpiresAt: expires, UserVersion: version})
	if err != nil {
		return storage.Op{}, storage.Op{}, err
	}
	ev := outbox.New(u.Org, outbox.Invitation, now)
	ev.To = []string{u.Email}
	ev.Data = nonEmpty(map[string]string{
		"org_name":   inv.OrgName,
		"inviter":    inv.InviterName,
		InviterField: inv.InviterID,
		"expires_at": expires.UTC().Format(time.RFC1123),
	})
	ev.Sealed = map[string]string{"link": box.Seal([]byte(links.AcceptInvitation(secret)), ev.SealedContext())}
	event, err = outbox.Put(ev)
	return tokenPut, event, err
}

// nonEmpty is fields without the empty ones.
func nonEmpty(fields map[string]string) map[string]string {
	maps.DeleteFunc(fields, func(_, v string) bool { return v == "" })
	return fields
}
