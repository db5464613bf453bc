package integrations

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/fields"
	"github.com/integration-hub/hub/internal/forms"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/storage"
)

// IntegrationType is the entity type of integration items.
const IntegrationType = "integration"

// Status of an integration. A hub user's integration is a draft or
// published as the hub user says; a partner's goes draft → in_review (the
// partner submits it with the Integration Form's answers) → published (a
// hub user approves it) or back to draft with the reviewer's feedback.
type Status string

const (
	Draft     Status = "draft"
	InReview  Status = "in_review"
	Published Status = "published"
)

// Limits of an integration's fields.
const (
	MaxIntegrationName = 100
	MaxDescription     = 2000
	MaxTags            = 20
	MaxTagLength       = 40
	MaxAudienceEntries = 50
	MaxAudienceLength  = 100
	MaxFeedback        = 2000
)

// Audience says which marketplace end-users see a published integration:
// those in one of Groups or of one of Tiers (from their signed token).
// Both empty: every end-user.
type Audience struct {
	Groups []string `json:"groups"`
	Tiers  []string `json:"tiers"`
}

// Integration is a stored integration.
type Integration struct {
	ID          string         `json:"id"`
	Org         string         `json:"org"`
	Partner     string         `json:"partner,omitempty"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	LogoURL     string         `json:"logo_url,omitempty"`
	Tags        []string       `json:"tags"`
	Audience    Audience       `json:"audience"`
	Status      Status         `json:"status"`
	Feedback    string         `json:"feedback,omitempty"`
	FormAnswers []forms.Answer `json:"form_answers,omitempty"`
	// FormVersion is the Integration Form's version the answers were
	// validated against.
	FormVersion int64      `json:"form_version,omitempty"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	ReviewedBy  string     `json:"reviewed_by,omitempty"`
	ReviewedAt  *time.Time `json:"reviewed_at,omitempty"`
	// TenantRegistry: the integration was created when every tenant got
	// its marker in its integration's registry of live tenants
	// (keys.IntegrationLiveTenant), so its delete reads the registry
	// alone; an integration from before may have tenants without one,
	// which only its GSI2 list shows.
	TenantRegistry bool `json:"tenant_registry,omitempty"`
}

func sortName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// Item is the integration as a stored envelope: listed by name in its
// organization (GSI1) and, for a partner's, in its partner's scope (GSI2).
func (it Integration) Item(version int64) (storage.Item, error) {
	data, err := json.Marshal(it)
	if err != nil {
		return storage.Item{}, fmt.Errorf("integrations: encode integration %s: %w", it.ID, err)
	}
	index := map[string]storage.Key{keys.GSI1: keys.IntegrationByName(keys.IntegrationsScope(it.Org), sortName(it.Name), it.ID)}
	if it.Partner != "" {
		index[keys.GSI2] = keys.IntegrationByName(keys.PartnerIntegrationsScope(it.Org, it.Partner), sortName(it.Name), it.ID)
	}
	return storage.Item{Key: keys.Integration(it.Org, it.ID), Type: IntegrationType, Index: index, Version: version, Data: data}, nil
}

// IntegrationFromItem reads an integration item.
func IntegrationFromItem(item storage.Item) (Integration, error) {
	if item.Type != IntegrationType {
		return Integration{}, fmt.Errorf("integrations: item %s is a %q, not an integration", item.Key, item.Type)
	}
	var it Integration
	if err := json.Unmarshal(item.Data, &it); err != nil {
		return Integration{}, fmt.Errorf("integrations: decode %s: %w", item.Key, err)
	}
	return it, nil
}

// Summary is an integration as lists show it.
type Summary struct {
	ID          string     `json:"id"`
	PartnerID   string     `json:"partner_id,omitempty"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	LogoURL     string     `json:"logo_url,omitempty"`
	Tags        []string   `json:"tags"`
	Audience    Audience   `json:"audience"`
	Status      Status     `json:"status"`
	Published   bool       `json:"published"`
	Feedback    string     `json:"review_feedback,omitempty"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	ReviewedBy  string     `json:"reviewed_by,omitempty"`
	ReviewedAt  *time.Time `json:"reviewed_at,omitempty"`
}

// Detail is one integration with the Integration Form's answers its
// partner gave (none for a hub user's integration).
type Detail struct {
	Summary
	FormAnswers []forms.Answer `json:"form_answers"`
}

func summaryOf(it Integration) Summary {
	tags, groups, tiers := it.Tags, it.Audience.Groups, it.Audience.Tiers
	if tags == nil {
		tags = []string{}
	}
	if groups == nil {
		groups = []string{}
	}
	if tiers == nil {
		tiers = []string{}
	}
	return Summary{
		ID: it.ID, PartnerID: it.Partner, Name: it.Name, Description: it.Description, LogoURL: it.LogoURL,
		Tags: tags, Audience: Audience{Groups: groups, Tiers: tiers}, Status: it.Status, Published: it.Status == Published,
		Feedback: it.Feedback, CreatedBy: it.CreatedBy, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
		SubmittedAt: it.SubmittedAt, ReviewedBy: it.ReviewedBy, ReviewedAt: it.ReviewedAt,
	}
}

func detailOf(it Integration) Detail {
	answers := it.FormAnswers
	if answers == nil {
		answers = []forms.Answer{}
	}
	return Detail{Summary: summaryOf(it), FormAnswers: answers}
}

// IntegrationInput creates an integration, or changes the fields it names.
type IntegrationInput struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	LogoURL     *string   `json:"logo_url"`
	Tags        *[]string `json:"tags"`
	Audience    *Audience `json:"audience"`
	// Published is for hub users: a partner's integration is published by
	// approving its review.
	Published *bool `json:"published"`
}

// apply validates the fields in names and sets them on it.
func (in IntegrationInput) apply(it *Integration) error {
	var err error
	if in.Name != nil {
		if it.Name, err = fields.Line("name", *in.Name, 1, MaxIntegrationName); err != nil {
			return err
		}
	}
	if in.Description != nil {
		if it.Description, err = fields.Paragraph("description", *in.Description, MaxDescription); err != nil {
			return err
		}
	}
	if in.LogoURL != nil {
		it.LogoURL = ""
		if strings.TrimSpace(*in.LogoURL) != "" {
			if it.LogoURL, err = settings.HTTPSURL("logo_url", *in.LogoURL); err != nil {
				return err
			}
		}
	}
	if in.Tags != nil {
		if it.Tags, err = labels("tags", *in.Tags, MaxTags, MaxTagLength); err != nil {
			return err
		}
	}
	if in.Audience != nil {
		if it.Audience.Groups, err = labels("audience.groups", in.Audience.Groups, MaxAudienceEntries, MaxAudienceLength); err != nil {
			return err
		}
		if it.Audience.Tiers, err = labels("audience.tiers", in.Audience.Tiers, MaxAudienceEntries, MaxAudienceLength); err != nil {
			return err
		}
	}
	return nil
}

var (
	errIntegrationNotFound = apperr.New(apperr.NotFound, "integration_not_found", "no such integration")
	errPartnerPublishes    = apperr.Field("published", "review_required", "a partner's integration is published when a hub user approves its review")
	errNotADraft           = apperr.New(apperr.Conflict, "not_a_draft", "a partner changes, submits or deletes an integration while it is a draft")
	errNotInReview         = apperr.New(apperr.Conflict, "not_in_review", "only an integration submitted for review can be reviewed")
	errHasTenants          = apperr.New(apperr.Conflict, "integration_has_tenants", "the integration has tenants; archive them first")
	errFormChanged         = apperr.New(apperr.Conflict, "integration_form_changed", "the Integration Form changed while you answered it; read it again and resubmit")
)

// visible reports whether p may see it: everyone of the organization but
// partner users, who see their own partner organization's integrations.
func visible(p principal.Principal, it Integration) bool {
	return it.Org == p.Org && (p.Kind != principal.PartnerUser || it.Partner == p.Partner)
}

func (s *Service) loadIntegration(ctx context.Context, p principal.Principal, id string) (Integration, int64, error) {
	return loadIntegration(ctx, s.Table, p, id)
}

// loadIntegration reads an integration p may see from the table or from a
// prefetch.
func loadIntegration(ctx context.Context, g storage.Getter, p principal.Principal, id string) (Integration, int64, error) {
	if !validID(id) {
		return Integration{}, 0, errIntegrationNotFound
	}
	it, version, err := storage.Load(ctx, g, keys.Integration(p.Org, id), errIntegrationNotFound, IntegrationFromItem)
	if err != nil {
		return Integration{}, 0, err
	}
	if !visible(p, it) {
		return Integration{}, 0, errIntegrationNotFound
	}
	return it, version, nil
}

func integrationEvent(it Integration, kind outbox.Kind, action string, now time.Time) (storage.Op, error) {
	ev := outbox.New(it.Org, kind, now)
	ev.Data = map[string]string{"integration_id": it.ID, "integration_name": it.Name}
	if it.Partner != "" {
		ev.Data["partner_id"] = it.Partner
	}
	if action != "" {
		ev.Data["action"] = action
	}
	return outbox.Put(ev)
}

// CreateIntegration makes an integration: a hub user's, draft or published
// as it says, or a draft of the partner user's partner organization. The
// integration.created event is in the same write.
func (s *Service) CreateIntegration(ctx context.Context, p principal.Principal, in IntegrationInput) (Detail, int64, error) {
	if in.Name == nil {
		return Detail{}, 0, apperr.Field("name", "required", "name is required")
	}
	now := s.now()
	it := Integration{ID: ids.At(now), Org: p.Org, Status: Draft, Tags: []string{}, CreatedBy: p.Subject, CreatedAt: now, UpdatedAt: now, TenantRegistry: true}
	if p.Kind == principal.PartnerUser {
		if in.Published != nil {
			return Detail{}, 0, errPartnerPublishes
		}
		it.Partner = p.Partner
	} else if in.Published != nil && *in.Published {
		it.Status = Published
	}
	if err := in.apply(&it); err != nil {
		return Detail{}, 0, err
	}
	item, err := it.Item(1)
	if err != nil {
		return Detail{}, 0, err
	}
	event, err := integrationEvent(it, outbox.IntegrationCreated, "", now)
	if err != nil {
		return Detail{}, 0, err
	}
	if err := s.Table.Write(ctx, storage.Put(item, storage.Absent()), event); err != nil {
		return Detail{}, 0, fmt.Errorf("integrations: create integration: %w", err)
	}
	return detailOf(it), 1, nil
}

// GetIntegration returns one integration the caller may see, with its
// form answers, and its version (the ETag).
func (s *Service) GetIntegration(ctx context.Context, p principal.Principal, id string) (Detail, int64, error) {
	it, version, err := s.loadIntegration(ctx, p, id)
	if err != nil {
		return Detail{}, 0, err
	}
	return detailOf(it), version, nil
}

// UpdateIntegration changes the fields in names; ifMatch, when not 0, is
// the version the change is conditional on. A partner user changes their
// drafts only (a partner_integration.updated event goes with it); a hub
// user changes any, and publishes or withdraws a hub integration, or
// withdraws a published partner integration back to draft.
func (s *Service) UpdateIntegration(ctx context.Context, p principal.Principal, id string, ifMatch int64, in IntegrationInput) (Detail, int64, error) {
	it, version, err := s.loadIntegration(ctx, p, id)
	if err != nil {
		return Detail{}, 0, err
	}
	if ifMatch != 0 && ifMatch != version {
		return Detail{}, 0, errStale
	}
	byPartner := p.Kind == principal.PartnerUser
	if byPartner {
		if in.Published != nil {
			return Detail{}, 0, errPartnerPublishes
		}
		if it.Status != Draft {
			return Detail{}, 0, errNotADraft
		}
	}
	if in.Published != nil {
		switch {
		case !*in.Published && it.Status == Published:
			it.Status = Draft
		case *in.Published && it.Status != Published && it.Partner != "":
			return Detail{}, 0, errPartnerPublishes
		case *in.Published:
			it.Status = Published
		}
	}
	if err := in.apply(&it); err != nil {
		return Detail{}, 0, err
	}
	now := s.now()
	it.UpdatedAt = now
	item, err := it.Item(version + 1)
	if err != nil {
		return Detail{}, 0, err
	}
	ops := []storage.Op{storage.Put(item, storage.VersionIs(version))}
	if byPartner {
		event, err := integrationEvent(it, outbox.PartnerIntegrationUpdated, "updated", now)
		if err != nil {
			return Detail{}, 0, err
		}
		ops = append(ops, event)
	}
	if err := s.Table.Write(ctx, ops...); err != nil {
		return Detail{}, 0, conflictOr(err, "update integration "+id)
	}
	return detailOf(it), version + 1, nil
}

// SubmitInput carries the answers to the organization's Integration Form.
type SubmitInput struct {
	Answers forms.AnswersInput `json:"answers"`
}

// SubmitIntegration puts a partner's draft in review with its answers to
// the Integration Form, validated against the form as it is now; the write
// is conditional on that form's version, so answers to a form edited
// meanwhile are refused rather than stored against the wrong questions.
// The integration and the form are one read.
func (s *Service) SubmitIntegration(ctx context.Context, p principal.Principal, id string, in SubmitInput) (Detail, int64, error) {
	if !validID(id) {
		return Detail{}, 0, errIntegrationNotFound
	}
	read, err := storage.Prefetch(ctx, s.Table, keys.Integration(p.Org, id), keys.IntegrationForm(p.Org))
	if err != nil {
		return Detail{}, 0, fmt.Errorf("integrations: read integration %s and the Integration Form: %w", id, err)
	}
	it, version, err := loadIntegration(ctx, read, p, id)
	if err != nil {
		return Detail{}, 0, err
	}
	if it.Partner == "" || it.Partner != p.Partner {
		return Detail{}, 0, errIntegrationNotFound
	}
	if it.Status != Draft {
		return Detail{}, 0, errNotADraft
	}
	form, formVersion, err := forms.LoadIntegrationForm(ctx, read, p.Org)
	if err != nil {
		return Detail{}, 0, err
	}
	answers, err := forms.ValidateAnswers(form.Form, in.Answers)
	if err != nil {
		return Detail{}, 0, err
	}
	now := s.now()
	it.Status, it.FormAnswers, it.FormVersion = InReview, answers, formVersion
	it.Feedback, it.SubmittedAt, it.UpdatedAt = "", &now, now
	item, err := it.Item(version + 1)
	if err != nil {
		return Detail{}, 0, err
	}
	event, err := integrationEvent(it, outbox.PartnerIntegrationUpdated, "submitted", now)
	if err != nil {
		return Detail{}, 0, err
	}
	err = s.Table.Write(ctx,
		storage.Put(item, storage.VersionIs(version)),
		storage.Check(keys.IntegrationForm(p.Org), settings.Condition(formVersion)),
		event,
	)
	if storage.FailedOn(err, 1) {
		return Detail{}, 0, errFormChanged
	}
	if err != nil {
		return Detail{}, 0, conflictOr(err, "submit integration "+id)
	}
	return detailOf(it), version + 1, nil
}

// Review decisions.
const (
	Approve = "approve"
	Reject  = "reject"
)

// ReviewInput is a hub user's decision on an integration in review.
// Feedback is required to reject: the partner reads it on their draft.
type ReviewInput struct {
	Decision string `json:"decision"`
	Feedback string `json:"feedback"`
}

// ReviewIntegration approves (publishes) or rejects (back to draft, with
// feedback) an integration in review.
func (s *Service) ReviewIntegration(ctx context.Context, p principal.Principal, id string, in ReviewInput) (Detail, int64, error) {
	feedback, err := fields.Paragraph("feedback", in.Feedback, MaxFeedback)
	if err != nil {
		return Detail{}, 0, err
	}
	next := Published
	switch in.Decision {
	case Approve:
	case Reject:
		if feedback == "" {
			return Detail{}, 0, apperr.Field("feedback", "feedback_required", "say what the partner should change")
		}
		next = Draft
	default:
		return Detail{}, 0, apperr.Field("decision", "invalid_decision", "decision is %s or %s", Approve, Reject)
	}
	it, version, err := s.loadIntegration(ctx, p, id)
	if err != nil {
		return Detail{}, 0, err
	}
	if it.Status != InReview {
		return Detail{}, 0, errNotInReview
	}
	it.Status = next
	now := s.now()
	it.Feedback, it.ReviewedBy, it.ReviewedAt, it.UpdatedAt = feedback, p.Subject, &now, now
	item, err := it.Item(version + 1)
	if err != nil {
		return Detail{}, 0, err
	}
	if err := s.Table.Write(ctx, storage.Put(item, storage.VersionIs(version))); err != nil {
		return Detail{}, 0, conflictOr(err, "review integration "+id)
	}
	return detailOf(it), version + 1, nil
}

// DeleteIntegration removes an integration without live tenants: a hub
// user any, a partner user their drafts.
//
// A tenant may be created while the delete runs, and the integration's
// list of tenants (GSI2) is eventually consistent, so that list alone
// could miss it and leave a live tenant without its integration. The
// delete therefore holds the integration's delete lock, which every
// creation checks absent in its own write, while it reads the
// integration's registry of live tenants, on the table and strongly
// consistent: a tenant is either in the registry, and the delete gives
// up, or refused. The lock's version is a number of this delete's own, so
// only this delete removes it and its final write fails if the lock
// expired meanwhile (DeleteLockTTL); a delete that stops half-way leaves
// a lock that expires by itself.
func (s *Service) DeleteIntegration(ctx context.Context, p principal.Principal, id string) error {
	it, version, err := s.loadIntegration(ctx, p, id)
	if err != nil {
		return err
	}
	if p.Kind == principal.PartnerUser && it.Status != Draft {
		return errNotADraft
	}
	if !it.TenantRegistry {
		// An integration from before the registry may have tenants
		// without a marker; they are old, so on GSI2 whatever its lag.
		// A hit answers without taking the lock.
		tenants, err := s.Table.Query(ctx, storage.Query{Index: keys.GSI2, PK: keys.IntegrationTenantsScope(p.Org, id), Limit: 1})
		if err != nil {
			return fmt.Errorf("integrations: tenants of %s: %w", id, err)
		}
		if len(tenants.Items) > 0 {
			return errHasTenants
		}
	}
	now := s.now()
	lock := storage.Item{Key: keys.IntegrationDeleteLock(p.Org, id), Type: DeleteLockType, Version: lockVersion(), ExpiresAt: now.Add(DeleteLockTTL), Data: []byte("{}")}
	if err := s.lock(ctx, lock); err != nil {
		return err
	}
	// A delete that gives up releases its lock; should the release fail
	// too, the lock expires by itself (DeleteLockTTL), and until then a
	// creation is answered 409 and may retry. A release after a write
	// that did apply finds no lock of its version, and changes nothing.
	release := func() {
		_ = s.Table.Write(context.WithoutCancel(ctx), storage.Delete(lock.Key, storage.VersionIs(lock.Version)))
	}
	live, err := s.Table.Query(ctx, storage.Query{PK: keys.IntegrationLivePK(p.Org, id), Sort: storage.SortPrefix, From: keys.TenantsPrefix, Limit: 1})
	if err != nil {
		release()
		return fmt.Errorf("integrations: live tenants of %s: %w", id, err)
	}
	if len(live.Items) > 0 {
		release()
		return errHasTenants
	}
	err = s.Table.Write(ctx, storage.Delete(keys.Integration(p.Org, id), storage.VersionIs(version)), storage.Delete(lock.Key, storage.VersionIs(lock.Version)))
	if err != nil {
		release()
	}
	switch {
	case storage.FailedOn(err, 1):
		return ErrIntegrationDeleting
	case err != nil:
		return conflictOr(err, "delete integration "+id)
	}
	return nil
}

// lock puts a delete's lock, absent any other. A lock already there is
// another delete's, unless it is this one's own: a put whose answer was
// lost is retried by the SDK, and the retry finds the lock its first
// attempt wrote; the lock's version, this delete's own number, tells.
func (s *Service) lock(ctx context.Context, lock storage.Item) error {
	err := s.Table.Write(ctx, storage.Put(lock, storage.Absent()))
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrConditionFailed) {
		return fmt.Errorf("integrations: lock %s: %w", lock.Key, err)
	}
	held, err := s.Table.Get(ctx, lock.Key)
	switch {
	case err == nil && held.Version == lock.Version:
		return nil
	case err == nil || errors.Is(err, storage.ErrNotFound):
		return ErrIntegrationDeleting
	}
	return fmt.Errorf("integrations: read the lock %s: %w", lock.Key, err)
}

// DeleteLockType is the entity type of an integration's delete lock.
const DeleteLockType = "integration_delete_lock"

// DeleteLockTTL bounds how long a delete holds an integration's lock: its
// reads and writes take milliseconds, and a delete that stopped half-way
// blocks new tenants of the integration for at most this long.
const DeleteLockTTL = time.Minute

// lockVersion is the version a delete writes its lock at: 63 random bits
// (never 0), so no other delete's lock has it and the delete's conditions
// on it name its own lock.
func lockVersion() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])>>1) | 1
}

// Integration list orders.
const (
	SortName      = "name"
	SortCreatedAt = "created_at"
)

// IntegrationPage is one page of integrations.
type IntegrationPage struct {
	Integrations []Summary `json:"integrations"`
	Cursor       string    `json:"next_cursor,omitempty"`
}

// ListIntegrations is one Query: by name on GSI1 or by creation on the
// organization's partition; a partner user's by name in their partner's
// scope on GSI2.
func (s *Service) ListIntegrations(ctx context.Context, p principal.Principal, in PageInput) (IntegrationPage, error) {
	q := storage.Query{Limit: in.limit(), Cursor: in.Cursor, Descending: in.Descending}
	switch {
	case p.Kind == principal.PartnerUser && in.Sort != SortName:
		return IntegrationPage{}, apperr.Field("sort", "invalid_sort", "a partner's integrations are listed by name")
	case p.Kind == principal.PartnerUser:
		q.Index, q.PK = keys.GSI2, keys.PartnerIntegrationsScope(p.Org, p.Partner)
	case in.Sort == SortCreatedAt:
		q.PK, q.Sort, q.From = keys.OrgPK(p.Org), storage.SortPrefix, keys.IntegrationsPrefix
	default:
		q.Index, q.PK = keys.GSI1, keys.IntegrationsScope(p.Org)
	}
	page, err := s.Table.Query(ctx, q)
	if err != nil {
		return IntegrationPage{}, fmt.Errorf("integrations: list integrations: %w", err)
	}
	out := IntegrationPage{Integrations: make([]Summary, 0, len(page.Items)), Cursor: page.Cursor}
	for _, item := range page.Items {
		it, err := IntegrationFromItem(item)
		if err != nil {
			return IntegrationPage{}, err
		}
		out.Integrations = append(out.Integrations, summaryOf(it))
	}
	return out, nil
}
