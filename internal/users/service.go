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
	"github.com/integration-hub/hub/internal/settings"
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
	return loadUser(ctx, s.Table, org, id)
}

// loadUser reads a user from the table or from a prefetch. An id that
// cannot be a key is no user, and is never read.
func loadUser(ctx context.Context, g storage.Getter, org, id string) (User, int64, error) {
	if !keys.ValidID(id) {
		return User{}, 0, errNotFound
	}
	return storage.Load(ctx, g, keys.User(org, id), errNotFound, FromItem)
}

// prefetch reads independent keys with one GetMany. A key given twice (a
// caller acting on their own user, say) is read once.
func (s *Service) prefetch(ctx context.Context, ks ...storage.Key) (storage.Prefetched, error) {
	distinct := make([]storage.Key, 0, len(ks))
	seen := make(map[storage.Key]bool, len(ks))
	for _, k := range ks {
		if !seen[k] {
			seen[k] = true
			distinct = append(distinct, k)
		}
	}
	return storage.Prefetch(ctx, s.Table, distinct...)
}

// userKeys is the key of each id that can be one.
func userKeys(org string, ids ...string) []storage.Key {
	var out []storage.Key
	for _, id := range ids {
		if keys.ValidID(id) {
			out = append(out, keys.User(org, id))
		}
	}
	return out
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
//
// It reads twice: the address's failed attempts with its email guard, then
// the user the guard names with the user's organization (whose plan and
// primary administrator the session needs); the second keys come from the
// guard.
func (s *Service) SignIn(ctx context.Context, email, password string) (Session, error) {
	norm, err := NormalizeEmail(email)
	if err != nil {
		passwords.VerifyNobody(password)
		return Session{}, errBadCredentials
	}
	now := s.now()
	byAddress, err := s.prefetch(ctx, keys.SignInAttempts(norm), keys.Email(norm))
	if err != nil {
		return Session{}, fmt.Errorf("users: read sign-in attempts and email guard: %w", err)
	}
	att, attVersion, err := readAttempts(ctx, byAddress, norm)
	if err != nil {
		return Session{}, err
	}
	if att.Count >= s.maxFailed() {
		passwords.VerifyNobody(password)
		return Session{}, errLockedOut
	}
	guard, ok, err := readGuard(ctx, byAddress, norm)
	if err != nil {
		return Session{}, err
	}
	var (
		u       User
		ofGuard storage.Prefetched
	)
	if ok && keys.ValidID(guard.User) {
		if ofGuard, err = s.prefetch(ctx, keys.User(guard.Org, guard.User), keys.Org(guard.Org)); err != nil {
			return Session{}, fmt.Errorf("users: read the user of an email guard and its organization: %w", err)
		}
		u, _, err = loadUser(ctx, ofGuard, guard.Org, guard.User)
		if errors.Is(err, errNotFound) {
			ok, err = false, nil
		}
		if err != nil {
			return Session{}, err
		}
	} else {
		ok = false
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
	o, _, err := readOrg(ctx, ofGuard, u.Org)
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

// readAttempts reads the failed sign-ins of an address from g.
func readAttempts(ctx context.Context, g storage.Getter, norm string) (attempts, int64, error) {
	it, err := g.Get(ctx, keys.SignInAttempts(norm))
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

// byEmail reads the user of an address: its email guard, then the user
// the guard names (a second read, whose key is the guard's content).
func (s *Service) byEmail(ctx context.Context, norm string) (User, int64, bool, error) {
	g, ok, err := readGuard(ctx, s.Table, norm)
	if err != nil || !ok {
		return User{}, 0, false, err
	}
	u, v, err := s.load(ctx, g.Org, g.User)
	if errors.Is(err, errNotFound) {
		return User{}, 0, false, nil
	}
	return u, v, err == nil, err
}

// readGuard reads the email guard of an address from g; false if there is
// none.
func readGuard(ctx context.Context, g storage.Getter, norm string) (EmailGuard, bool, error) {
	it, err := g.Get(ctx, keys.Email(norm))
	if errors.Is(err, storage.ErrNotFound) {
		return EmailGuard{}, false, nil
	}
	if err != nil {
		return EmailGuard{}, false, fmt.Errorf("users: email guard: %w", err)
	}
	var guard EmailGuard
	if err := json.Unmarshal(it.Data, &guard); err != nil {
		return EmailGuard{}, false, fmt.Errorf("users: email guard: %w", err)
	}
	return guard, true, nil
}

// ---- invitations and resets ----

// AcceptInput is what an invited person sends from the invitation link.
type AcceptInput struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// token reads the live, unexpired token of secret issued for purpose.
func (s *Service) token(ctx context.Context, secret string, purpose onetime.Purpose) (onetime.Token, error) {
	if secret == "" || len(secret) > 128 {
		return onetime.Token{}, errBadToken
	}
	it, err := s.Table.Get(ctx, onetime.Key(secret))
	if errors.Is(err, storage.ErrNotFound) {
		return onetime.Token{}, errBadToken
	}
	if err != nil {
		return onetime.Token{}, fmt.Errorf("users: token: %w", err)
	}
	tok, err := onetime.Decode(it)
	if err != nil {
		return onetime.Token{}, err
	}
	if tok.Purpose != purpose || !s.now().Before(tok.ExpiresAt) {
		return onetime.Token{}, errBadToken
	}
	return tok, nil
}

// tokenUser reads, from g, the user tok was issued to, as long as the user
// has not changed since: a later change voids the token.
func tokenUser(ctx context.Context, g storage.Getter, tok onetime.Token) (User, int64, error) {
	u, version, err := loadUser(ctx, g, tok.Org, tok.User)
	if errors.Is(err, errNotFound) || (err == nil && version != tok.UserVersion) {
		return User{}, 0, errBadToken
	}
	return u, version, err
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
// active, uses the token up and signs them in. It reads twice: the token,
// then the user it names with the user's organization (whose plan and
// primary administrator the session needs).
func (s *Service) AcceptInvitation(ctx context.Context, in AcceptInput) (Session, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return Session{}, err
	}
	tok, err := s.token(ctx, in.Token, onetime.Invitation)
	if err != nil {
		return Session{}, err
	}
	ofToken, err := s.prefetch(ctx, append(userKeys(tok.Org, tok.User), keys.Org(tok.Org))...)
	if err != nil {
		return Session{}, fmt.Errorf("users: read the invited user and its organization: %w", err)
	}
	u, version, err := tokenUser(ctx, ofToken, tok)
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
	o, _, err := readOrg(ctx, ofToken, u.Org)
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
	tok, err := s.token(ctx, in.Token, onetime.PasswordReset)
	if err != nil {
		return err
	}
	u, version, err := tokenUser(ctx, s.Table, tok)
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
	listed := make([]User, 0, len(page.Items))
	primary := ""
	for _, it := range page.Items {
		u, err := FromItem(it)
		if err != nil {
			return ListPage{}, err
		}
		if u.Primary {
			primary = u.ID
		}
		listed = append(listed, u)
	}
	// A page that holds the flagged primary administrator says who it is
	// (the flag moves with the profile, in one write). Otherwise the
	// profile says, unless the page is empty or a partner organization's:
	// the primary administrator is a hub user, never on it.
	if primary == "" && len(listed) > 0 && p.Kind != principal.PartnerUser {
		o, _, err := s.org(ctx, p.Org)
		if err != nil {
			return ListPage{}, err
		}
		primary = o.PrimaryAdmin
	}
	out := ListPage{Users: make([]View, 0, len(listed)), Cursor: page.Cursor}
	for _, u := range listed {
		out.Users = append(out.Users, ViewOf(u, primary))
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
// "email_unavailable" without saying where. The names the emails show (the
// organization's, the inviter's, a partner user's partner organization's)
// are read when they are sent (EventNames), so a hub user's invitation
// reads nothing. A partner user's reads the partner organization, whose
// status the user takes and whose version the write checks.
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
	now := s.now()
	u := User{ID: ids.At(now), Org: p.Org, Email: email, Name: name, Role: RoleHubUser, InvitedBy: p.Subject, CreatedAt: now}
	var guard []storage.Op
	if partner != "" {
		pt, version, err := loadPartner(ctx, s.Table, p.Org, partner)
		if errors.Is(err, errPartnerNotFound) {
			return View{}, apperr.Field("partner_id", "partner_not_found", "no such partner organization")
		}
		if err != nil {
			return View{}, fmt.Errorf("users: read partner %s: %w", partner, err)
		}
		u.Role, u.Partner, u.PartnerPending = RolePartnerUser, partner, pt.Status == PartnerPending
		guard = append(guard, storage.Check(keys.Partner(p.Org, partner), storage.VersionIs(version)))
	}
	ops, err := InviteOps(u, Invitation{InviterID: p.Subject, Notify: true}, s.Links, s.Box, now)
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
	// An invited user is never the primary administrator.
	return ViewOf(u, ""), nil
}

// displayName is how an email names p, read from g: the user's name.
func displayName(ctx context.Context, g storage.Getter, p principal.Principal) string {
	u, _, err := loadUser(ctx, g, p.Org, p.Subject)
	if err != nil || u.Name == "" {
		return "a colleague"
	}
	return u.Name
}

// ResendInvitation sends a fresh invitation and voids the earlier links.
// The user, the organization and the inviter are one read.
func (s *Service) ResendInvitation(ctx context.Context, p principal.Principal, id string) error {
	if !keys.ValidID(id) {
		return errNotFound
	}
	read, err := s.prefetch(ctx, append([]storage.Key{keys.User(p.Org, id), keys.Org(p.Org)}, userKeys(p.Org, p.Subject)...)...)
	if err != nil {
		return fmt.Errorf("users: read user %s, its organization and the inviter: %w", id, err)
	}
	u, version, err := loadUser(ctx, read, p.Org, id)
	if err != nil {
		return err
	}
	if !visible(p, u) {
		return errNotFound
	}
	if u.Status != Invited {
		return apperr.New(apperr.Conflict, "not_invited", "the user has already accepted the invitation")
	}
	o, _, err := readOrg(ctx, read, p.Org)
	if err != nil {
		return err
	}
	now := s.now()
	u.InvitedAt = now
	puts, err := u.PutOps(version+1, storage.VersionIs(version))
	if err != nil {
		return err
	}
	tokenPut, event, err := InvitationOps(u, version+1, Invitation{OrgName: o.Name, InviterName: displayName(ctx, read, p)}, s.Links, s.Box, now)
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
	return s.remove(ctx, p, id, true)
}

// Delete removes a user, never the primary administrator: the write checks
// the organization's version, so a concurrent change of primary
// administrator makes one of the two fail.
func (s *Service) Delete(ctx context.Context, p principal.Principal, id string) error {
	return s.remove(ctx, p, id, false)
}

// remove is Delete, and RevokeInvitation when invitedOnly: the user and
// the organization, which names the primary administrator, are one read;
// the write is conditional on the user's version read here, so the status
// checked is the status removed.
func (s *Service) remove(ctx context.Context, p principal.Principal, id string, invitedOnly bool) error {
	if !keys.ValidID(id) {
		return errNotFound
	}
	read, err := s.prefetch(ctx, keys.User(p.Org, id), keys.Org(p.Org))
	if err != nil {
		return fmt.Errorf("users: read user %s and its organization: %w", id, err)
	}
	u, version, err := loadUser(ctx, read, p.Org, id)
	if err != nil {
		return err
	}
	if !visible(p, u) {
		return errNotFound
	}
	if invitedOnly && u.Status != Invited {
		return apperr.New(apperr.Conflict, "not_invited", "the user has already accepted the invitation; delete the user instead")
	}
	o, orgVersion, err := readOrg(ctx, read, p.Org)
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

// ChangePrimaryAdmin names another active hub user primary administrator,
// if the organization is still at version (settings.ErrStale otherwise),
// and returns the organization and its version after the change. The
// organization, the user and the caller are one read (the old
// administrator another, unless they are the caller); the write moves the
// Primary flag from the old administrator's item to the new one's with the
// profile, conditional on all three versions, so it and a concurrent
// delete of either user cannot both succeed.
func (s *Service) ChangePrimaryAdmin(ctx context.Context, p principal.Principal, version int64, id string) (orgs.Organization, int64, error) {
	if p.Kind != principal.HubUser {
		return orgs.Organization{}, 0, apperr.New(apperr.Forbidden, "hub_users_only", "only hub users can change the primary administrator")
	}
	// The caller is read too: most often they are the administrator who
	// hands over, whose flag the write clears.
	read, err := s.prefetch(ctx, append([]storage.Key{keys.Org(p.Org)}, userKeys(p.Org, id, p.Subject)...)...)
	if err != nil {
		return orgs.Organization{}, 0, fmt.Errorf("users: read the organization and user %s: %w", id, err)
	}
	o, orgVersion, err := readOrg(ctx, read, p.Org)
	if err != nil {
		return orgs.Organization{}, 0, err
	}
	if orgVersion != version {
		return orgs.Organization{}, 0, settings.ErrStale
	}
	u, userVersion, err := loadUser(ctx, read, p.Org, id)
	if err != nil {
		return orgs.Organization{}, 0, apperr.Field("user_id", "user_not_found", "no such user")
	}
	if u.Role != RoleHubUser || u.Status != Active {
		return orgs.Organization{}, 0, apperr.Field("user_id", "not_eligible", "the primary administrator is an active hub user")
	}
	if o.PrimaryAdmin == id {
		return o, orgVersion, nil
	}
	// The Primary flag moves with the profile, in the same write: the new
	// administrator's item gains it, the old one's loses it.
	var from storage.Getter = s.Table
	if o.PrimaryAdmin == p.Subject {
		from = read
	}
	old, oldVersion, err := loadUser(ctx, from, p.Org, o.PrimaryAdmin)
	oldFound := err == nil
	if err != nil && !errors.Is(err, errNotFound) {
		return orgs.Organization{}, 0, fmt.Errorf("users: read the primary administrator %s: %w", o.PrimaryAdmin, err)
	}
	o.PrimaryAdmin = id
	orgItem, err := o.Item(orgVersion + 1)
	if err != nil {
		return orgs.Organization{}, 0, err
	}
	u.Primary = true
	ops, err := u.PutOps(userVersion+1, storage.VersionIs(userVersion))
	if err != nil {
		return orgs.Organization{}, 0, err
	}
	ops = append([]storage.Op{storage.Put(orgItem, storage.VersionIs(orgVersion))}, ops...)
	if oldFound {
		old.Primary = false
		oldOps, err := old.PutOps(oldVersion+1, storage.VersionIs(oldVersion))
		if err != nil {
			return orgs.Organization{}, 0, err
		}
		ops = append(ops, oldOps...)
	}
	err = s.Table.Write(ctx, ops...)
	if err != nil {
		if errors.Is(err, storage.ErrConditionFailed) {
			return orgs.Organization{}, 0, errChanged
		}
		return orgs.Organization{}, 0, fmt.Errorf("users: change primary administrator: %w", err)
	}
	return o, orgVersion + 1, nil
}
