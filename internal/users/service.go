package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/onetime"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/sessions"
	"github.com/integration-hub/hub/internal/storage"
)

// Table is the storage the users service needs.
type Table interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
	GetMany(ctx context.Context, keys ...storage.Key) (map[storage.Key]storage.Item, error)
	Query(ctx context.Context, q storage.Query) (storage.Page, error)
	Write(ctx context.Context, ops ...storage.Op) error
}

// Service is the users area and sign-in.
type Service struct {
	Table    Table
	Box      Sealer
	Links    Links
	Sessions *sessions.Signer
	Hashing  passwords.Params
	Now      func() time.Time
	// MaxFailedSignIns within SignInWindow lock an address out until the
	// window passes.
	MaxFailedSignIns int
	SignInWindow     time.Duration
}

// Sign-in rate limit defaults.
const (
	DefaultMaxFailedSignIns = 5
	DefaultSignInWindow     = 15 * time.Minute
)

// Errors a caller may see. None says whether an address is registered.
var (
	errBadCredentials = apperr.New(apperr.Unauthenticated, "invalid_credentials", "the email or the password is wrong")
	errBadToken       = apperr.Field("token", "invalid_token", "the link is invalid, used or expired; ask for a new one")
	errLockedOut      = apperr.New(apperr.RateLimited, "too_many_attempts", "too many failed sign-ins; try again later")
	errNotFound       = apperr.New(apperr.NotFound, "user_not_found", "no such user")
	errPrimaryAdmin   = apperr.New(apperr.Conflict, "primary_administrator", "the primary administrator cannot be deleted; make another user primary administrator first")
	errChanged        = apperr.New(apperr.Conflict, "changed_concurrently", "the user changed while this request ran; try again")
)

// Session is a signed-in session.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      View      `json:"user"`
}

// View is a user as the API shows it.
type View struct {
	ID        string     `json:"id"`
	Email     string     `json:"email"`
	Name      string     `json:"name,omitempty"`
	Role      Role       `json:"role"`
	Status    Status     `json:"status"`
	Org       string     `json:"organization_id"`
	Partner   string     `json:"partner_id,omitempty"`
	Primary   bool       `json:"primary_administrator"`
	InvitedAt *time.Time `json:"invited_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// ViewOf shows u.
func ViewOf(u User, primaryAdmin string) View {
	v := View{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Status: u.Status, Org: u.Org, Partner: u.Partner, Primary: u.ID == primaryAdmin, CreatedAt: u.CreatedAt}
	if u.Status == Invited && !u.InvitedAt.IsZero() {
		t := u.InvitedAt
		v.InvitedAt = &t
	}
	return v
}

func (s *Service) now() time.Time { return s.Now().UTC() }

// load reads a user and its item version.
func (s *Service) load(ctx context.Context, org, id string) (User, int64, error) {
	if !keys.ValidID(id) {
		return User{}, 0, errNotFound
	}
	return storage.Load(ctx, s.Table, keys.User(org, id), errNotFound, FromItem)
}

func (s *Service) org(ctx context.Context, org string) (orgs.Organization, int64, error) {
	return readOrg(ctx, s.Table, org)
}

// readOrg reads the organization from the table or from a prefetch.
func readOrg(ctx context.Context, g storage.Getter, org string) (orgs.Organization, int64, error) {
	it, err := g.Get(ctx, keys.Org(org))
	if err != nil {
		return orgs.Organization{}, 0, fmt.Errorf("users: organization %s: %w", org, err)
	}
	o, err := orgs.FromItem(it)
	return o, it.Version, err
}

// ---- sign-in ----

type attempts struct {
	Count int       `json:"count"`
	Since time.Time `json:"since"`
}

// SignIn checks an email and a password. Every failure, whether the address
// exists or not, costs one password verification and counts against the
// address, so neither the answer nor its timing tells them apart.
func (s *Service) SignIn(ctx context.Context, email, password string) (Session, error) {
	norm, err := NormalizeEmail(email)
	if err != nil {
		passwords.VerifyNobody(password)
		return Session{}, errBadCredentials
	}
	now := s.now()
	att, attVersion, err := s.attempts(ctx, norm, now)
	if err != nil {
		return Session{}, err
	}
	if att.Count >= s.maxFailed() {
		passwords.VerifyNobody(password)
		return Session{}, errLockedOut
	}
	u, _, ok, err := s.byEmail(ctx, norm)
	if err != nil {
		return Session{}, err
	}
	good := false
	if ok && u.Status == Active && u.PasswordHash != "" {
		good, err = passwords.Verify(password, u.PasswordHash)
		if err != nil {
			return Session{}, fmt.Errorf("users: verify %s: %w", u.ID, err)
		}
	} else {
		passwords.VerifyNobody(password)
	}
	if !good {
		if err := s.countFailure(ctx, norm, att, attVersion, now); err != nil {
			return Session{}, err
		}
		return Session{}, errBadCredentials
	}
	if attVersion > 0 {
		_ = s.Table.Write(ctx, storage.Delete(keys.SignInAttempts(norm), storage.Condition{}))
	}
	o, _, err := s.org(ctx, u.Org)
	if err != nil {
		return Session{}, err
	}
	return s.session(u, o, now)
}

func (s *Service) session(u User, o orgs.Organization, now time.Time) (Session, error) {
	primary := o.PrimaryAdmin
	tok, exp, err := s.Sessions.Issue(u.Org, string(o.Plan), u.ID, u.TokenVersion, now)
	if err != nil {
		return Session{}, err
	}
	return Session{Token: tok, ExpiresAt: exp, User: ViewOf(u, primary)}, nil
}

func (s *Service) maxFailed() int {
	if s.MaxFailedSignIns > 0 {
		return s.MaxFailedSignIns
	}
	return DefaultMaxFailedSignIns
}

func (s *Service) window() time.Duration {
	if s.SignInWindow > 0 {
		return s.SignInWindow
	}
	return DefaultSignInWindow
}

func (s *Service) attempts(ctx context.Context, norm string, now time.Time) (attempts, int64, error) {
	it, err := s.Table.Get(ctx, keys.SignInAttempts(norm))
	if errors.Is(err, storage.ErrNotFound) {
		return attempts{}, 0, nil
	}
	if err != nil {
		return attempts{}, 0, fmt.Errorf("users: sign-in attempts: %w", err)
	}
	var a attempts
	if err := json.Unmarshal(it.Data, &a); err != nil {
		return attempts{}, 0, fmt.Errorf("users: sign-in attempts: %w", err)
	}
	return a, it.Version, nil
}

// countFailure records one more failed sign-in. The item expires with its
// window; a lost race means another failure was counted at the same time,
// which is as good.
func (s *Service) countFailure(ctx context.Context, norm string, a attempts, version int64, now time.Time) error {
	if a.Count == 0 {
		a.Since = now
	}
	a.Count++
	data, _ := json.Marshal(a)
	cond := storage.Absent()
	if version > 0 {
		cond = storage.VersionIs(version)
	}
	err := s.Table.Write(ctx, storage.Put(storage.Item{
		Key: keys.SignInAttempts(norm), Type: "signin_attempts", Version: version + 1,
		ExpiresAt: a.Since.Add(s.window()), Data: data,
	}, cond))
	if err != nil && !errors.Is(err, storage.ErrConditionFailed) {
		return fmt.Errorf("users: count failed sign-in: %w", err)
	}
	return nil
}

func (s *Service) byEmail(ctx context.Context, norm string) (User, int64, bool, error) {
	it, err := s.Table.Get(ctx, keys.Email(norm))
	if errors.Is(err, storage.ErrNotFound) {
		return User{}, 0, false, nil
	}
	if err != nil {
		return User{}, 0, false, fmt.Errorf("users: email guard: %w", err)
	}
	var g EmailGuard
	if err := json.Unmarshal(it.Data, &g); err != nil {
		return User{}, 0, false, fmt.Errorf("users: email guard: %w", err)
	}
	u, v, err := s.load(ctx, g.Org, g.User)
	if errors.Is(err, errNotFound) {
		return User{}, 0, false, nil
	}
	return u, v, err == nil, err
}

// ---- invitations and resets ----

// AcceptInput is what an invited person sends from the invitation link.
type AcceptInput struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (s *Service) redeem(ctx context.Context, secret string, purpose onetime.Purpose) (onetime.Token, User, int64, error) {
	if secret == "" || len(secret) > 128 {
		return onetime.Token{}, User{}, 0, errBadToken
	}
	it, err := s.Table.Get(ctx, onetime.Key(secret))
	if errors.Is(err, storage.ErrNotFound) {
		return onetime.Token{}, User{}, 0, errBadToken
	}
	if err != nil {
		return onetime.Token{}, User{}, 0, fmt.Errorf("users: token: %w", err)
	}
	tok, err := onetime.Decode(it)
	if err != nil {
		return onetime.Token{}, User{}, 0, err
	}
	if tok.Purpose != purpose || !s.now().Before(tok.ExpiresAt) {
		return onetime.Token{}, User{}, 0, errBadToken
	}
	u, version, err := s.load(ctx, tok.Org, tok.User)
	if errors.Is(err, errNotFound) || (err == nil && version != tok.UserVersion) {
		return onetime.Token{}, User{}, 0, errBadToken
	}
	return tok, u, version, err
}

func validName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLength {
		return "", apperr.Field(field, "invalid_name", "a name has 1 to %d characters", MaxNameLength)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", apperr.Field(field, "invalid_name", "a name has no control characters")
		}
	}
	return name, nil
}

func (s *Service) newPasswordHash(password, email string) (string, error) {
	if err := passwords.Check(password, email); err != nil {
		return "", &apperr.Error{Kind: apperr.Invalid, Code: "weak_password", Field: "password", Detail: err.Error()}
	}
	return passwords.Hash(password, s.Hashing)
}

// AcceptInvitation sets the invited user's name and password, makes them
// active, uses the token up and signs them in.
func (s *Service) AcceptInvitation(ctx context.Context, in AcceptInput) (Session, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return Session{}, err
	}
	_, u, version, err := s.redeem(ctx, in.Token, onetime.Invitation)
	if err != nil {
		return Session{}, err
	}
	if u.Status != Invited {
		return Session{}, errBadToken
	}
	hash, err := s.newPasswordHash(in.Password, u.Email)
	if err != nil {
		return Session{}, err
	}
	u.Name, u.PasswordHash, u.Status = name, hash, Active
	u.TokenVersion++
	puts, err := u.PutOps(version+1, storage.VersionIs(version))
	if err != nil {
		return Session{}, err
	}
	ops := append([]storage.Op{onetime.Consume(in.Token)}, puts...)
	if err := s.Table.Write(ctx, ops...); err != nil {
		if errors.Is(err, storage.ErrConditionFailed) {
			return Session{}, errBadToken
		}
		return Session{}, fmt.Errorf("users: accept invitation: %w", err)
	}
	o, _, err := s.org(ctx, u.Org)
	if err != nil {
		return Session{}, err
	}
	return s.session(u, o, s.now())
}

// ResetInput is what a person sends from a reset link.
type ResetInput struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// ResetPassword sets a new password from a reset link and ends every
// session of the user.
func (s *Service) ResetPassword(ctx context.Context, in ResetInput) error {
	_, u, version, err := s.redeem(ctx, in.Token, onetime.PasswordReset)
	if err != nil {
		return err
	}
	if u.Status != Active {
		return errBadToken
	}
	hash, err := s.newPasswordHash(in.Password, u.Email)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	u.TokenVersion++
	puts, err := u.PutOps(version+1, storage.VersionIs(version))
	if err != nil {
		return err
	}
	if err := s.Table.Write(ctx, append([]storage.Op{onetime.Consume(in.Token)}, puts...)...); err != nil {
		if errors.Is(err, storage.ErrConditionFailed) {
			return errBadToken
		}
		return fmt.Errorf("users: reset password: %w", err)
	}
	return nil
}

// ForgotPassword sends a reset link if the address belongs to an active
// user, and does nothing otherwise; the caller answers the same either way.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return apperr.Field("email", "invalid_email", "%s", err.Error())
	}
	u, version, ok, err := s.byEmail(ctx, norm)
	if err != nil || !ok || u.Status != Active {
		return err
	}
	return s.sendReset(ctx, u, version, false)
}

// sendReset issues a reset token bound to the user's next version and its
// email. endSessions also voids the password and every session (a reset
// triggered by another user).
func (s *Service) sendReset(ctx context.Context, u User, version int64, endSessions bool) error {
	now := s.now()
	if endSessions {
		u.PasswordHash = ""
		u.TokenVersion++
	}
	next := version + 1
	puts, err := u.PutOps(next, storage.VersionIs(version))
	if err != nil {
		return err
	}
	expires := now.Add(time.Hour)
	secret, tokenPut, err := onetime.Issue(onetime.Token{Purpose: onetime.PasswordReset, Org: u.Org, User: u.ID, ExpiresAt: expires, UserVersion: next})
	if err != nil {
		return err
	}
	ev := outbox.New(u.Org, outbox.PasswordResetRequested, now)
	ev.To = []string{u.Email}
	ev.Data = map[string]string{"name": u.Name, "expires_at": expires.Format(time.RFC1123)}
	ev.Sealed = map[string]string{"link": s.Box.Seal([]byte(s.Links.ResetPassword(secret)), ev.SealedContext())}
	evPut, err := outbox.Put(ev)
	if err != nil {
		return err
	}
	ops := append(puts, tokenPut, evPut)
	if err := s.Table.Write(ctx, ops...); err != nil {
		if errors.Is(err, storage.ErrConditionFailed) {
			return errChanged
		}
		return fmt.Errorf("users: password reset of %s: %w", u.ID, err)
	}
	return nil
}

// SignOut ends every session of the signed-in user.
func (s *Service) SignOut(ctx context.Context, p principal.Principal) error {
	u, version, err := s.load(ctx, p.Org, p.Subject)
	if err != nil {
		return err
	}
	u.TokenVersion++
	puts, err := u.PutOps(version+1, storage.VersionIs(version))
	if err != nil {
		return err
	}
	if err := s.Table.Write(ctx, puts...); err != nil {
		if errors.Is(err, storage.ErrConditionFailed) {
			return errChanged
		}
		return fmt.Errorf("users: sign out: %w", err)
	}
	return nil
}

// ---- the Users area ----

// visible reports whether p may see u: hub users see everyone of their
// organization; partner users only their own partner organization's users.
func visible(p principal.Principal, u User) bool {
	if u.Org != p.Org {
		return false
	}
	return p.Kind == principal.HubUser || (p.Kind == principal.PartnerUser && u.Partner == p.Partner)
}

// Get returns one user the principal may see. The user and the
// organization, which names the primary administrator, are one read.
func (s *Service) Get(ctx context.Context, p principal.Principal, id string) (View, error) {
	if !keys.ValidID(id) {
		return View{}, errNotFound
	}
	userKey := keys.User(p.Org, id)
	read, err := storage.Prefetch(ctx, s.Table, userKey, keys.Org(p.Org))
	if err != nil {
		return View{}, fmt.Errorf("users: read user %s and its organization: %w", id, err)
	}
	u, _, err := storage.Load(ctx, read, userKey, errNotFound, FromItem)
	if err != nil {
		return View{}, err
	}
	if !visible(p, u) {
		return View{}, errNotFound
	}
	o, _, err := readOrg(ctx, read, p.Org)
	if err != nil {
		return View{}, err
	}
	return ViewOf(u, o.PrimaryAdmin), nil
}

// ListInput pages and sorts the users list.
type ListInput struct {
	Sort       string // "email" (default) or "name"
	Descending bool
	Limit      int
	Cursor     string
}

// ListPage is one page of users.
type ListPage struct {
	Users  []View `json:"users"`
	Cursor string `json:"next_cursor,omitempty"`
}

// MaxListLimit caps a page of users.
const MaxListLimit = 100

// List returns the users the principal may see, one Query on an index: the
// organization's scope for hub users, the partner's scope for partner users.
// The organization, which names the primary administrator, is a second
// read: DynamoDB batches GetItems, never a Query with a GetItem.
func (s *Service) List(ctx context.Context, p principal.Principal, in ListInput) (ListPage, error) {
	index := keys.GSI1
	switch in.Sort {
	case "", "email":
	case "name":
		index = keys.GSI2
	default:
		return ListPage{}, apperr.Field("sort", "invalid_sort", "sort is email or name")
	}
	if in.Limit == 0 {
		in.Limit = 50
	}
	if in.Limit < 1 || in.Limit > MaxListLimit {
		return ListPage{}, apperr.Field("limit", "invalid_limit", "limit is 1 to %d", MaxListLimit)
	}
	scope := keys.UsersScope(p.Org, "")
	if p.Kind == principal.PartnerUser {
		scope = keys.UsersScope(p.Org, p.Partner)
	}
	page, err := s.Table.Query(ctx, storage.Query{Index: index, PK: scope, Limit: in.Limit, Cursor: in.Cursor, Descending: in.Descending})
	if err != nil {
		return ListPage{}, fmt.Errorf("users: list: %w", err)
	}
	o, _, err := s.org(ctx, p.Org)
	if err != nil {
		return ListPage{}, err
	}
	out := ListPage{Users: make([]View, 0, len(page.Items)), Cursor: page.Cursor}
	for _, it := range page.Items {
		u, err := FromItem(it)
		if err != nil {
			return ListPage{}, err
		}
		out.Users = append(out.Users, ViewOf(u, o.PrimaryAdmin))
	}
	return out, nil
}

// InviteInput adds a user.
type InviteInput struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
	// PartnerID makes the user a partner user of that partner organization
	// (hub users only; a partner user always invites into their own).
	PartnerID string `json:"partner_id,omitempty"`
}

// Invite creates an invited user and sends the invitation, in one write.
// Inviting an address that is already registered anywhere answers
// "email_unavailable" without saying where.
func (s *Service) Invite(ctx context.Context, p principal.Principal, in InviteInput) (View, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return View{}, apperr.Field("email", "invalid_email", "%s", err.Error())
	}
	var name string
	if in.Name != "" {
		if name, err = validName("name", in.Name); err != nil {
			return View{}, err
		}
	}
	partner := in.PartnerID
	if p.Kind == principal.PartnerUser {
		if partner != "" && partner != p.Partner {
			return View{}, apperr.Field("partner_id", "partner_not_found", "no such partner organization")
		}
		partner = p.Partner
	}
	o, _, err := s.org(ctx, p.Org)
	if err != nil {
		return View{}, err
	}
	now := s.now()
	u := User{ID: ids.At(now), Org: p.Org, Email: email, Name: name, Role: RoleHubUser, InvitedBy: p.Subject, CreatedAt: now}
	var guard []storage.Op
	if partner != "" {
		pt, version, err := s.partner(ctx, p.Org, partner)
		if err != nil {
			return View{}, apperr.Field("partner_id", "partner_not_found", "no such partner organization")
		}
		u.Role, u.Partner, u.PartnerPending = RolePartnerUser, partner, pt.Status == PartnerPending
		guard = append(guard, storage.Check(keys.Partner(p.Org, partner), storage.VersionIs(version)))
	}
	inviter := s.displayName(ctx, p)
	ops, err := InviteOps(u, Invitation{OrgName: o.Name, InviterName: inviter, Notify: true}, s.Links, s.Box, now)
	if err != nil {
		return View{}, err
	}
	if err := s.Table.Write(ctx, append(ops, guard...)...); err != nil {
		switch {
		case storage.FailedOn(err, OpEmailGuard):
			return View{}, apperr.Field("email", "email_unavailable", "this address cannot be invited")
		case errors.Is(err, storage.ErrConditionFailed):
			return View{}, errChanged
		}
		return View{}, fmt.Errorf("users: invite: %w", err)
	}
	u.Status, u.InvitedAt = Invited, now
	return ViewOf(u, o.PrimaryAdmin), nil
}

func (s *Service) displayName(ctx context.Context, p principal.Principal) string {
	u, _, err := s.load(ctx, p.Org, p.Subject)
	if err != nil || u.Name == "" {
		return "a colleague"
	}
	return u.Name
}

// ResendInvitation sends a fresh invitation and voids the earlier links.
func (s *Service) ResendInvitation(ctx context.Context, p principal.Principal, id string) error {
	u, version, err := s.load(ctx, p.Org, id)
	if err != nil {
		return err
	}
	if !visible(p, u) {
		return errNotFound
	}
	if u.Status != Invited {
		return apperr.New(apperr.Conflict, "not_invited", "the user has already accepted the invitation")
	}
	o, _, err := s.org(ctx, p.Org)
	if err != nil {
		return err
	}
	now := s.now()
	u.InvitedAt = now
	puts, err := u.PutOps(version+1, storage.VersionIs(version))
	if err != nil {
		return err
	}
	tokenPut, event, err := InvitationOps(u, version+1, Invitation{OrgName: o.Name, InviterName: s.displayName(ctx, p)}, s.Links, s.Box, now)
	if err != nil {
		return err
	}
	if err := s.Table.Write(ctx, append(puts, tokenPut, event)...); err != nil {
		if errors.Is(err, storage.ErrConditionFailed) {
			return errChanged
		}
		return fmt.Errorf("users: resend invitation: %w", err)
	}
	return nil
}

// RevokeInvitation removes a user who has not accepted yet.
func (s *Service) RevokeInvitation(ctx context.Context, p principal.Principal, id string) error {
	u, _, err := s.load(ctx, p.Org, id)
	if err != nil {
		return err
	}
	if !visible(p, u) {
		return errNotFound
	}
	if u.Status != Invited {
		return apperr.New(apperr.Conflict, "not_invited", "the user has already accepted the invitation; delete the user instead")
	}
	return s.Delete(ctx, p, id)
}

// Delete removes a user, never the primary administrator: the write checks
// the organization's version, so a concurrent change of primary
// administrator makes one of the two fail.
func (s *Service) Delete(ctx context.Context, p principal.Principal, id string) error {
	u, version, err := s.load(ctx, p.Org, id)
	if err != nil {
		return err
	}
	if !visible(p, u) {
		return errNotFound
	}
	o, orgVersion, err := s.org(ctx, p.Org)
	if err != nil {
		return err
	}
	if o.PrimaryAdmin == u.ID {
		return errPrimaryAdmin
	}
	ops := append(u.DeleteOps(version), storage.Check(keys.Org(p.Org), storage.VersionIs(orgVersion)))
	if err := s.Table.Write(ctx, ops...); err != nil {
		if errors.Is(err, storage.ErrConditionFailed) {
			return errChanged
		}
		return fmt.Errorf("users: delete %s: %w", id, err)
	}
	return nil
}

// ResetOtherPassword voids another user's password and sessions and sends
// them a reset link.
func (s *Service) ResetOtherPassword(ctx context.Context, p principal.Principal, id string) error {
	if id == p.Subject {
		return apperr.New(apperr.Conflict, "own_password", "use forgot password to reset your own password")
	}
	u, version, err := s.load(ctx, p.Org, id)
	if err != nil {
		return err
	}
	if !visible(p, u) {
		return errNotFound
	}
	if u.Status != Active {
		return apperr.New(apperr.Conflict, "not_active", "the user has not accepted the invitation yet; resend it instead")
	}
	return s.sendReset(ctx, u, version, true)
}

// ChangePrimaryAdmin names another active hub user primary administrator.
// The write is conditional on the organization's version and on the new
// administrator's version, so it and a concurrent delete of either user
// cannot both succeed.
func (s *Service) ChangePrimaryAdmin(ctx context.Context, p principal.Principal, id string) (orgs.Organization, error) {
	if p.Kind != principal.HubUser {
		return orgs.Organization{}, apperr.New(apperr.Forbidden, "hub_users_only", "only hub users can change the primary administrator")
	}
	u, version, err := s.load(ctx, p.Org, id)
	if err != nil {
		return orgs.Organization{}, apperr.Field("user_id", "user_not_found", "no such user")
	}
	if u.Role != RoleHubUser || u.Status != Active {
		return orgs.Organization{}, apperr.Field("user_id", "not_eligible", "the primary administrator is an active hub user")
	}
	o, orgVersion, err := s.org(ctx, p.Org)
	if err != nil {
		return orgs.Organization{}, err
	}
	if o.PrimaryAdmin == id {
		return o, nil
	}
	o.PrimaryAdmin = id
	orgItem, err := o.Item(orgVersion + 1)
	if err != nil {
		return orgs.Organization{}, err
	}
	err = s.Table.Write(ctx,
		storage.Put(orgItem, storage.VersionIs(orgVersion)),
		storage.Check(keys.User(p.Org, id), storage.VersionIs(version)),
	)
	if err != nil {
		if errors.Is(err, storage.ErrConditionFailed) {
			return orgs.Organization{}, errChanged
		}
		return orgs.Organization{}, fmt.Errorf("users: change primary administrator: %w", err)
	}
	return o, nil
}
