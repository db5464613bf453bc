package users

import (
	"fmt"
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

// Invitation is what the invitation email says besides its link.
type Invitation struct {
	OrgName     string
	InviterName string
}

// Operation positions in the write InviteOps returns, for storage.FailedOn.
const (
	OpUser = iota
	OpEmailGuard
)

// InviteOps are the operations that create u as an invited user: the user,
// its email guard (both conditional on being absent), the invitation token
// and the invitation email's outbox event. Write them in one atomic write.
func InviteOps(u User, inv Invitation, links Links, box Sealer, now time.Time) ([]storage.Op, error) {
	u.Status = Invited
	u.InvitedAt = now.UTC()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now.UTC()
	}
	userItem, err := u.Item()
	if err != nil {
		return nil, fmt.Errorf("users: encode %s: %w", u.ID, err)
	}
	expires := now.Add(InvitationTTL)
	secret, tokenPut, err := onetime.Issue(onetime.Token{Purpose: onetime.Invitation, Org: u.Org, User: u.ID, ExpiresAt: expires})
	if err != nil {
		return nil, err
	}
	ev := outbox.New(u.Org, outbox.UserInvited, now)
	ev.To = []string{u.Email}
	ev.Data = map[string]string{
		"org_name":   inv.OrgName,
		"inviter":    inv.InviterName,
		"expires_at": expires.UTC().Format(time.RFC1123),
	}
	ev.Sealed = map[string]string{"link": box.Seal([]byte(links.AcceptInvitation(secret)), ev.SealedContext())}
	eventPut, err := outbox.Put(ev)
	if err != nil {
		return nil, err
	}
	return []storage.Op{
		OpUser:       storage.Put(userItem, storage.Absent()),
		OpEmailGuard: storage.Put(u.GuardItem(), storage.Absent()),
		tokenPut,
		eventPut,
	}, nil
}
