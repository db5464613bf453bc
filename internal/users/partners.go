package users

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
)

// PartnerType of partner organization items.
const PartnerType = "partner"

// PartnerStatus: a created partner is active at once; an invited one is
// pending until its first user has set a password and submitted the
// Partner Form.
type PartnerStatus string

const (
	PartnerPending PartnerStatus = "pending"
	PartnerActive  PartnerStatus = "active"
)

// Partner is a partner organization of an organization.
type Partner struct {
	ID        string        `json:"id"`
	Org       string        `json:"organization_id"`
	Name      string        `json:"name"`
	Status    PartnerStatus `json:"status"`
	CreatedAt time.Time     `json:"created_at"`
	CreatedBy string        `json:"created_by"`
}

// Item is the partner as a stored envelope.
func (pt Partner) Item(version int64) (storage.Item, error) {
	data, err := json.Marshal(pt)
	if err != nil {
		return storage.Item{}, err
	}
	return storage.Item{
		Key:     keys.Partner(pt.Org, pt.ID),
		Type:    PartnerType,
		Index:   map[string]storage.Key{keys.GSI1: keys.PartnerByName(pt.Org, strings.ToLower(pt.Name), pt.ID)},
		Version: version,
		Data:    data,
	}, nil
}

// PartnerFromItem reads a partner item.
func PartnerFromItem(it storage.Item) (Partner, error) {
	var pt Partner
	if it.Type != PartnerType {
		return pt, fmt.Errorf("users: item %s is not a partner", it.Key)
	}
	return pt, json.Unmarshal(it.Data, &pt)
}

var errPartnerNotFound = apperr.New(apperr.NotFound, "partner_not_found", "no such partner organization")

func (s *Service) partner(ctx context.Context, org, id string) (Partner, int64, error) {
	return loadPartner(ctx, s.Table, org, id)
}

// loadPartner reads a partner from the table or from a prefetch. An id
// that cannot be a key is no partner, and is never read.
func loadPartner(ctx context.Context, g storage.Getter, org, id string) (Partner, int64, error) {
	if !keys.ValidID(id) {
		return Partner{}, 0, errPartnerNotFound
	}
	return storage.Load(ctx, g, keys.Partner(org, id), errPartnerNotFound, PartnerFromItem)
}

// PartnerInput creates or invites a partner organization.
type PartnerInput struct {
	Name string `json:"name"`
	// Mode is "create" (active at once) or "invite" (pending until its
	// first user submits the Partner Form).
	Mode string `json:"mode"`
	// FirstUser is invited with the partner; required when inviting.
	FirstUser *InviteInput `json:"first_user,omitempty"`
}

// PartnerView is a partner as the API shows it.
type PartnerView struct {
	Partner
	FirstUser *View `json:"first_user,omitempty"`
}

func hubUsersOnly(p principal.Principal) error {
	if p.Kind != principal.HubUser {
		return apperr.New(apperr.Forbidden, "hub_users_only", "only hub users manage partner organizations")
	}
	return nil
}

// CreatePartner creates or invites a partner organization, with its first
// user's invitation in the same write.
func (s *Service) CreatePartner(ctx context.Context, p principal.Principal, in PartnerInput) (PartnerView, error) {
	if err := hubUsersOnly(p); err != nil {
		return PartnerView{}, err
	}
	if p.Plan == principal.Lite {
		return PartnerView{}, apperr.New(apperr.Forbidden, "plan_without_partners", "lite organizations have no partners")
	}
	name, err := validName("name", in.Name)
	if err != nil {
		return PartnerView{}, err
	}
	status := PartnerActive
	switch in.Mode {
	case "create", "":
	case "invite":
		status = PartnerPending
		if in.FirstUser == nil {
			return PartnerView{}, apperr.Field("first_user", "first_user_required", "inviting a partner needs the first user's email")
		}
	default:
		return PartnerView{}, apperr.Field("mode", "invalid_mode", "mode is create or invite")
	}
	now := s.now()
	pt := Partner{ID: ids.At(now), Org: p.Org, Name: name, Status: status, CreatedAt: now, CreatedBy: p.Subject}
	item, err := pt.Item(1)
	if err != nil {
		return PartnerView{}, err
	}
	ops := []storage.Op{storage.Put(item, storage.Absent())}
	view := PartnerView{Partner: pt}
	if in.FirstUser != nil {
		email, err := NormalizeEmail(in.FirstUser.Email)
		if err != nil {
			return PartnerView{}, apperr.Field("first_user.email", "invalid_email", "%s", err.Error())
		}
		var uname string
		if in.FirstUser.Name != "" {
			if uname, err = validName("first_user.name", in.FirstUser.Name); err != nil {
				return PartnerView{}, err
			}
		}
		read, err := s.prefetch(ctx, append([]storage.Key{keys.Org(p.Org)}, userKeys(p.Org, p.Subject)...)...)
		if err != nil {
			return PartnerView{}, fmt.Errorf("users: read the organization and the inviter: %w", err)
		}
		o, _, err := readOrg(ctx, read, p.Org)
		if err != nil {
			return PartnerView{}, err
		}
		u := User{ID: ids.At(now), Org: p.Org, Email: email, Name: uname, Role: RolePartnerUser, Partner: pt.ID,
			PartnerPending: status == PartnerPending, InvitedBy: p.Subject, CreatedAt: now}
		invite, err := InviteOps(u, Invitation{OrgName: o.Name, InviterName: displayName(ctx, read, p), Notify: true}, s.Links, s.Box, now)
		if err != nil {
			return PartnerView{}, err
		}
		ops = append(ops, invite...)
		u.Status, u.InvitedAt = Invited, now
		v := ViewOf(u, o.PrimaryAdmin)
		view.FirstUser = &v
	}
	if err := s.Table.Write(ctx, ops...); err != nil {
		if storage.FailedOn(err, 1+OpEmailGuard) {
			return PartnerView{}, apperr.Field("first_user.email", "email_unavailable", "this address cannot be invited")
		}
		return PartnerView{}, fmt.Errorf("users: create partner: %w", err)
	}
	return view, nil
}

// GetPartner returns a partner organization: any of the organization's to
// a hub user, only their own to a partner user.
func (s *Service) GetPartner(ctx context.Context, p principal.Principal, id string) (Partner, error) {
	if p.Kind == principal.PartnerUser && id != p.Partner {
		return Partner{}, errPartnerNotFound
	}
	pt, _, err := s.partner(ctx, p.Org, id)
	return pt, err
}

// PartnerPage is one page of partners.
type PartnerPage struct {
	Partners []Partner `json:"partners"`
	Cursor   string    `json:"next_cursor,omitempty"`
}

// ListPartners lists the organization's partners by name (hub users).
func (s *Service) ListPartners(ctx context.Context, p principal.Principal, limit int, cursor string) (PartnerPage, error) {
	if err := hubUsersOnly(p); err != nil {
		return PartnerPage{}, err
	}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > MaxListLimit {
		return PartnerPage{}, apperr.Field("limit", "invalid_limit", "limit is 1 to %d", MaxListLimit)
	}
	page, err := s.Table.Query(ctx, storage.Query{Index: keys.GSI1, PK: keys.PartnersScope(p.Org), Limit: limit, Cursor: cursor})
	if err != nil {
		return PartnerPage{}, fmt.Errorf("users: list partners: %w", err)
	}
	out := PartnerPage{Partners: make([]Partner, 0, len(page.Items)), Cursor: page.Cursor}
	for _, it := range page.Items {
		pt, err := PartnerFromItem(it)
		if err != nil {
			return PartnerPage{}, err
		}
		out.Partners = append(out.Partners, pt)
	}
	return out, nil
}
