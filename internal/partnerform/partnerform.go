// Package partnerform is the Partner Form settings area: the questions (and
// optional terms and conditions) an invited partner organization answers
// once, before its users can do anything else, and the answers hub users
// read.
//
// The form is a versioned settings document (keys.PartnerForm) under the
// rule of package settings. A partner's answers are one item
// (keys.PartnerFormAnswers) written only if absent, so a partner answers
// once. Submitting stores the answers, makes the invited partner active,
// clears the pending flag of every user of the partner (the user items the
// authorizer reads, and their member copies) and raises the
// partner_form.submitted event, all in one atomic write. That write moves
// each user's version on, which voids the invitation link of a user who
// has not accepted yet (links are bound to the version), so the same write
// sends them a fresh invitation.
package partnerform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/areas"
	"github.com/integration-hub/hub/internal/forms"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
)

// AnswersType is the entity type of a partner's answers.
const AnswersType = "partner_form_answers"

// Table is the storage the area needs.
type Table interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
	GetMany(ctx context.Context, keys ...storage.Key) (map[storage.Key]storage.Item, error)
	Query(ctx context.Context, q storage.Query) (storage.Page, error)
	Write(ctx context.Context, ops ...storage.Op) error
}

// Service is the Partner Form area. Links and Box make the fresh
// invitations a submission sends.
type Service struct {
	Table Table
	Links users.Links
	Box   users.Sealer
	Now   func() time.Time
}

// Submission is a partner organization's answers to the Partner Form.
type Submission struct {
	Partner     string    `json:"partner_id"`
	PartnerName string    `json:"partner_name"`
	SubmittedBy string    `json:"submitted_by"`
	SubmittedAt time.Time `json:"submitted_at"`
	// FormVersion is the version of the form answered; each answer also
	// keeps its question as it was asked.
	FormVersion int64 `json:"form_version"`
	// TermsURL are the terms and conditions the partner accepted, if the
	// form had any.
	TermsURL string         `json:"terms_url,omitempty"`
	Answers  []forms.Answer `json:"answers"`
}

var (
	errHubUsersOnly     = apperr.New(apperr.Forbidden, "hub_users_only", "only hub users edit the Partner Form and read its answers")
	errPartnerUsersOnly = apperr.New(apperr.Forbidden, "partner_users_only", "the Partner Form is submitted by a user of the partner organization")
	errAlreadySubmitted = apperr.New(apperr.Conflict, "already_submitted", "your organization has already submitted the Partner Form")
	errNotDue           = apperr.New(apperr.Conflict, "partner_form_not_due", "your organization was approved without the Partner Form")
	errFormChanged      = apperr.New(apperr.Conflict, "form_changed", "the Partner Form changed while you answered it; read it again")
	errChanged          = apperr.New(apperr.Conflict, "changed_concurrently", "your organization changed while this request ran; try again")
	errAnswersNotFound  = apperr.New(apperr.NotFound, "answers_not_found", "this partner organization has not submitted the Partner Form")
)

// area refuses a principal outside the Partner Form area (404 for a lite
// organization) and one of a kind other than kind.
func area(p principal.Principal, kind principal.Kind) error {
	if p.Plan == principal.Lite {
		return settings.RequireArea(p, areas.PartnerForm)
	}
	if p.Kind == kind {
		return nil
	}
	if kind == principal.HubUser {
		return errHubUsersOnly
	}
	return errPartnerUsersOnly
}

func loadForm(ctx context.Context, table settings.Getter, org string) (forms.Document, int64, error) {
	return forms.Load(ctx, table, keys.PartnerForm(org), forms.PartnerFormType)
}

// Read returns the Partner Form and its version, to hub users and to the
// users of a partner whose form is due (without the hub user who last
// edited it).
func (s *Service) Read(ctx context.Context, p principal.Principal) (forms.Document, int64, error) {
	if err := settings.RequireArea(p, areas.PartnerForm); err != nil {
		return forms.Document{}, 0, err
	}
	doc, version, err := loadForm(ctx, s.Table, p.Org)
	if p.Kind != principal.HubUser {
		doc.UpdatedBy = ""
	}
	return doc, version, err
}

// Input replaces the Partner Form: its questions (forms.Revise) and its
// terms and conditions (an https URL, or "" for none).
type Input struct {
	Questions []forms.QuestionInput `json:"questions"`
	TermsURL  string                `json:"terms_url"`
}

// Replace writes the form read at version.
func (s *Service) Replace(ctx context.Context, p principal.Principal, version int64, in Input) (forms.Document, int64, error) {
	if err := area(p, principal.HubUser); err != nil {
		return forms.Document{}, 0, err
	}
	current, currentVersion, err := loadForm(ctx, s.Table, p.Org)
	if err != nil {
		return forms.Document{}, 0, err
	}
	if currentVersion != version {
		return forms.Document{}, 0, settings.ErrStale
	}
	questions, err := forms.Revise(current.Questions, in.Questions)
	if err != nil {
		return forms.Document{}, 0, err
	}
	var terms string
	if in.TermsURL != "" {
		if terms, err = settings.HTTPSURL("terms_url", in.TermsURL); err != nil {
			return forms.Document{}, 0, err
		}
	}
	now := s.Now().UTC()
	doc := forms.Document{Form: forms.Form{Questions: questions, TermsURL: terms}, UpdatedAt: &now, UpdatedBy: p.Subject}
	put, err := forms.Put(keys.PartnerForm(p.Org), forms.PartnerFormType, doc, version)
	if err != nil {
		return forms.Document{}, 0, err
	}
	if err := s.Table.Write(ctx, put); err != nil {
		return forms.Document{}, 0, settings.Stale(err, 0, "partnerform: write the form of "+p.Org)
	}
	return doc, version + 1, nil
}

// SubmitInput is a partner's answers, by question id, and its acceptance
// of the terms and conditions (required when the form has them).
type SubmitInput struct {
	Answers     forms.AnswersInput `json:"answers"`
	AcceptTerms bool               `json:"accept_terms"`
}

// The operations of a submission's write, by position.
const (
	opAnswers = iota
	opPartner
	opForm
	opEvent
)

// Submit stores the answers of the caller's partner organization, makes it
// active and raises partner_form.submitted, in one write (see the package
// comment). A partner answers once: a second submission is a conflict.
//
// It reads twice before the write: the partner's users (a Query of their
// scope, which lists member copies without the versions and password
// hashes the write needs), then, in one GetMany, those users' items with
// the partner, the form, the partner's answers and the organization.
func (s *Service) Submit(ctx context.Context, p principal.Principal, in SubmitInput) (Submission, error) {
	if err := area(p, principal.PartnerUser); err != nil {
		return Submission{}, err
	}
	if !keys.ValidID(p.Partner) {
		return Submission{}, errPartnerUsersOnly
	}
	members, err := s.memberIDs(ctx, p)
	if err != nil {
		return Submission{}, err
	}
	partnerKey := keys.Partner(p.Org, p.Partner)
	read, userItems, err := s.readWithUsers(ctx, p.Org, members,
		partnerKey, keys.PartnerForm(p.Org), keys.PartnerFormAnswers(p.Org, p.Partner), keys.Org(p.Org))
	if err != nil {
		return Submission{}, err
	}
	partnerItem, err := read.Get(ctx, partnerKey)
	if err != nil {
		return Submission{}, fmt.Errorf("partnerform: partner %s: %w", p.Partner, err)
	}
	partner, err := users.PartnerFromItem(partnerItem)
	if err != nil {
		return Submission{}, err
	}
	if partner.Status != users.PartnerPending {
		_, err := loadAnswers(ctx, read, p.Org, p.Partner)
		switch {
		case errors.Is(err, errAnswersNotFound):
			return Submission{}, errNotDue
		case err != nil:
			return Submission{}, err
		}
		return Submission{}, errAlreadySubmitted
	}
	form, formVersion, err := loadForm(ctx, read, p.Org)
	if err != nil {
		return Submission{}, err
	}
	answers, err := forms.ValidateAnswers(form.Form, in.Answers)
	if err != nil {
		return Submission{}, err
	}
	if form.TermsURL != "" && !in.AcceptTerms {
		return Submission{}, apperr.Field("accept_terms", "terms_not_accepted", "accept the terms and conditions at %s to submit", form.TermsURL)
	}
	now := s.Now().UTC()
	sub := Submission{
		Partner: partner.ID, PartnerName: partner.Name, SubmittedBy: p.Subject, SubmittedAt: now,
		FormVersion: formVersion, TermsURL: form.TermsURL, Answers: answers,
	}
	answersPut, err := settings.Put(keys.PartnerFormAnswers(p.Org, partner.ID), AnswersType, sub, 0)
	if err != nil {
		return Submission{}, err
	}
	partner.Status = users.PartnerActive
	activated, err := partner.Item(partnerItem.Version + 1)
	if err != nil {
		return Submission{}, fmt.Errorf("partnerform: encode partner %s: %w", partner.ID, err)
	}
	pending, submitter, err := pendingUsers(p, members, userItems)
	if err != nil {
		return Submission{}, err
	}
	userOps, err := s.activateUsers(ctx, p, read, pending, submitter, now)
	if err != nil {
		return Submission{}, err
	}
	ev := outbox.New(p.Org, outbox.PartnerFormSubmitted, now)
	ev.Data = map[string]string{"partner_id": partner.ID, "partner_name": partner.Name, "submitted_by": submitter.Email}
	eventPut, err := outbox.Put(ev)
	if err != nil {
		return Submission{}, err
	}
	ops := make([]storage.Op, 4, 4+len(userOps))
	ops[opAnswers] = answersPut
	ops[opPartner] = storage.Put(activated, storage.VersionIs(partnerItem.Version))
	ops[opForm] = storage.Check(keys.PartnerForm(p.Org), settings.Condition(formVersion))
	ops[opEvent] = eventPut
	ops = append(ops, userOps...)
	if len(ops) > storage.MaxWriteOps {
		return Submission{}, apperr.New(apperr.Conflict, "too_many_partner_users", "the partner organization has too many users to activate in one write; remove invitations that are not needed and submit again")
	}
	if err := s.Table.Write(ctx, ops...); err != nil {
		switch {
		case storage.FailedOn(err, opAnswers):
			return Submission{}, errAlreadySubmitted
		case storage.FailedOn(err, opForm):
			return Submission{}, errFormChanged
		case errors.Is(err, storage.ErrConditionFailed):
			return Submission{}, errChanged
		}
		return Submission{}, fmt.Errorf("partnerform: submit for partner %s: %w", partner.ID, err)
	}
	return sub, nil
}

// pendingUser is a user of the partner whose pending flag is set, at the
// version read.
type pendingUser struct {
	users.User
	version int64
}

// activateUsers are the writes that clear the pending flag of every
// pending user of p's partner (user item and member copy, each conditional
// on the version read) and re-invite, from the submitter, those who have
// not accepted yet; the invitations name the organization read from g.
func (s *Service) activateUsers(ctx context.Context, p principal.Principal, g storage.Getter, pending []pendingUser, submitter users.User, now time.Time) ([]storage.Op, error) {
	var orgName string
	var ops []storage.Op
	for _, u := range pending {
		u.PartnerPending = false
		puts, err := u.PutOps(u.version+1, storage.VersionIs(u.version))
		if err != nil {
			return nil, err
		}
		ops = append(ops, puts...)
		if u.Status != users.Invited {
			continue
		}
		if orgName == "" {
			if orgName, err = readOrgName(ctx, g, p.Org); err != nil {
				return nil, err
			}
		}
		inv := users.Invitation{OrgName: orgName, InviterName: displayName(submitter)}
		tokenPut, event, err := users.InvitationOps(u.User, u.version+1, inv, s.Links, s.Box, now)
		if err != nil {
			return nil, err
		}
		ops = append(ops, tokenPut, event)
	}
	return ops, nil
}

// memberIDs lists the ids of the users of p's partner, from the member
// copies in the partner's users scope, each once.
func (s *Service) memberIDs(ctx context.Context, p principal.Principal) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	q := storage.Query{Index: keys.GSI1, PK: keys.UsersScope(p.Org, p.Partner), Limit: storage.MaxPageSize}
	for {
		page, err := s.Table.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("partnerform: users of partner %s: %w", p.Partner, err)
		}
		for _, it := range page.Items {
			member, err := users.FromItem(it)
			if err != nil {
				return nil, err
			}
			if !seen[member.ID] {
				seen[member.ID] = true
				ids = append(ids, member.ID)
			}
		}
		if page.Cursor == "" {
			return ids, nil
		}
		q.Cursor = page.Cursor
	}
}

// readWithUsers reads the keys of other (a few, all different from user
// keys) and the user items of ids in as few GetMany as storage.MaxGetKeys
// allows: other and the first users in one, further users a hundred at a
// time. The user items found are returned by key.
func (s *Service) readWithUsers(ctx context.Context, org string, ids []string, other ...storage.Key) (storage.Prefetched, map[storage.Key]storage.Item, error) {
	userKeys := make([]storage.Key, len(ids))
	for i, id := range ids {
		userKeys[i] = keys.User(org, id)
	}
	first := min(len(userKeys), storage.MaxGetKeys-len(other))
	read, err := storage.Prefetch(ctx, s.Table, append(other[:len(other):len(other)], userKeys[:first]...)...)
	if err != nil {
		return storage.Prefetched{}, nil, fmt.Errorf("partnerform: read the partner, its form and its users: %w", err)
	}
	found := make(map[storage.Key]storage.Item, len(userKeys))
	for _, k := range userKeys[:first] {
		it, err := read.Get(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return storage.Prefetched{}, nil, err
		}
		found[k] = it
	}
	for rest := userKeys[first:]; len(rest) > 0; {
		n := min(len(rest), storage.MaxGetKeys)
		items, err := s.Table.GetMany(ctx, rest[:n]...)
		if err != nil {
			return storage.Prefetched{}, nil, fmt.Errorf("partnerform: read the partner's users: %w", err)
		}
		for k, it := range items {
			found[k] = it
		}
		rest = rest[n:]
	}
	return read, found, nil
}

// pendingUsers picks, out of the user items found for the partner's
// members, the users whose pending flag is set, at the version read, and
// the user p. A member whose user item is gone is skipped.
func pendingUsers(p principal.Principal, members []string, found map[storage.Key]storage.Item) ([]pendingUser, users.User, error) {
	var pending []pendingUser
	submitter := users.User{ID: p.Subject}
	for _, id := range members {
		userItem, ok := found[keys.User(p.Org, id)]
		if !ok {
			continue
		}
		u, err := users.FromItem(userItem)
		if err != nil {
			return nil, users.User{}, err
		}
		if u.ID == p.Subject {
			submitter = u
		}
		if u.PartnerPending {
			pending = append(pending, pendingUser{User: u, version: userItem.Version})
		}
	}
	return pending, submitter, nil
}

func readOrgName(ctx context.Context, g storage.Getter, org string) (string, error) {
	it, err := g.Get(ctx, keys.Org(org))
	if err != nil {
		return "", fmt.Errorf("partnerform: organization %s: %w", org, err)
	}
	o, err := orgs.FromItem(it)
	return o.Name, err
}

func displayName(u users.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// loadAnswers reads a partner's answers from the table or a prefetch.
func loadAnswers(ctx context.Context, g settings.Getter, org, partner string) (Submission, error) {
	if !keys.ValidID(partner) {
		return Submission{}, errAnswersNotFound
	}
	var sub Submission
	version, err := settings.Load(ctx, g, keys.PartnerFormAnswers(org, partner), AnswersType, &sub)
	if err != nil {
		return Submission{}, err
	}
	if version == 0 {
		return Submission{}, errAnswersNotFound
	}
	return sub, nil
}

// Answers returns one partner organization's answers to a hub user.
func (s *Service) Answers(ctx context.Context, p principal.Principal, partner string) (Submission, error) {
	if err := area(p, principal.HubUser); err != nil {
		return Submission{}, err
	}
	return loadAnswers(ctx, s.Table, p.Org, partner)
}

// Page is one page of answers, by partner id.
type Page struct {
	Answers []Submission `json:"answers"`
	Cursor  string       `json:"next_cursor,omitempty"`
}

// MaxListLimit caps a page of answers.
const MaxListLimit = 100

// List pages through every partner's answers (hub users), one Query.
func (s *Service) List(ctx context.Context, p principal.Principal, limit int, cursor string) (Page, error) {
	if err := area(p, principal.HubUser); err != nil {
		return Page{}, err
	}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > MaxListLimit {
		return Page{}, apperr.Field("limit", "invalid_limit", "limit is 1 to %d", MaxListLimit)
	}
	page, err := s.Table.Query(ctx, storage.Query{
		PK: keys.OrgPK(p.Org), Sort: storage.SortPrefix, From: keys.PartnerFormAnswersPrefix, Limit: limit, Cursor: cursor,
	})
	if err != nil {
		return Page{}, fmt.Errorf("partnerform: list answers: %w", err)
	}
	out := Page{Answers: make([]Submission, 0, len(page.Items)), Cursor: page.Cursor}
	for _, it := range page.Items {
		var sub Submission
		if err := settings.Decode(it, AnswersType, &sub); err != nil {
			return Page{}, err
		}
		out.Answers = append(out.Answers, sub)
	}
	return out, nil
}
