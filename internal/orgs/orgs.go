// Package orgs holds organizations: the SaaS companies that use the hub.
package orgs

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
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
)

// EntityType of organization items.
const EntityType = "org"

// MaxNameLength of an organization's name.
const MaxNameLength = 120

// Organization is the stored profile.
type Organization struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Plan         principal.Plan `json:"plan"`
	PrimaryAdmin string         `json:"primary_admin"`
	// PrimaryContact receives every notification.
	PrimaryContact string    `json:"primary_contact"`
	CreatedAt      time.Time `json:"created_at"`
}

// Item is the organization as a stored envelope.
func (o Organization) Item(version int64) (storage.Item, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return storage.Item{}, err
	}
	return storage.Item{
		Key:     keys.Org(o.ID),
		Type:    EntityType,
		Index:   map[string]storage.Key{keys.GSI1: keys.OrgsIndex(o.ID)},
		Version: version,
		Data:    data,
	}, nil
}

// FromItem reads an organization item.
func FromItem(it storage.Item) (Organization, error) {
	var o Organization
	if it.Type != EntityType {
		return o, fmt.Errorf("orgs: item %s is not an organization", it.Key)
	}
	if err := json.Unmarshal(it.Data, &o); err != nil {
		return o, fmt.Errorf("orgs: decode %s: %w", it.Key, err)
	}
	return o, nil
}

// Writer is what Create needs of the table.
type Writer interface {
	Write(ctx context.Context, ops ...storage.Op) error
}

// CreateInput is an operator's request for a new organization.
type CreateInput struct {
	// ID is optional; a fresh id is made when empty (the local stack uses a
	// fixed one for its demo organization).
	ID         string         `json:"id,omitempty"`
	Name       string         `json:"name"`
	Plan       principal.Plan `json:"plan"`
	AdminEmail string         `json:"admin_email"`
	AdminName  string         `json:"admin_name,omitempty"`
}

// Validate checks an input and normalizes it.
func (in *CreateInput) Validate() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > MaxNameLength || !utf8.ValidString(in.Name) {
		return apperr.Field("name", "invalid_name", "the name has 1 to %d characters", MaxNameLength)
	}
	switch in.Plan {
	case "":
		in.Plan = principal.Standard
	case principal.Standard, principal.Lite:
	default:
		return apperr.Field("plan", "invalid_plan", "plan is %q or %q", principal.Standard, principal.Lite)
	}
	if in.ID != "" && !keys.ValidID(in.ID) {
		return apperr.Field("id", "invalid_id", "an id is not empty and has no '#'")
	}
	email, err := users.NormalizeEmail(in.AdminEmail)
	if err != nil {
		return apperr.Field("admin_email", "invalid_email", "%s", err.Error())
	}
	in.AdminEmail = email
	if utf8.RuneCountInString(in.AdminName) > users.MaxNameLength {
		return apperr.Field("admin_name", "invalid_name", "the name has at most %d characters", users.MaxNameLength)
	}
	return nil
}

// Created is the result of Create.
type Created struct {
	Org     Organization `json:"organization"`
	Admin   users.User   `json:"-"`
	AdminID string       `json:"admin_id"`
}

// ErrExists: an organization with the id exists.
var ErrExists = errors.New("orgs: organization exists")

// Create writes the organization, its primary administrator as an invited
// user, and the invitation (token and email event) in one atomic write.
func Create(ctx context.Context, table Writer, in CreateInput, links users.Links, box users.Sealer, now time.Time) (Created, error) {
	if err := in.Validate(); err != nil {
		return Created{}, err
	}
	if in.ID == "" {
		in.ID = ids.At(now)
	}
	admin := users.User{
		ID: ids.At(now), Org: in.ID, Email: in.AdminEmail, Name: strings.TrimSpace(in.AdminName),
		Role: users.RoleHubUser, InvitedBy: "operator", CreatedAt: now.UTC(),
	}
	org := Organization{ID: in.ID, Name: in.Name, Plan: in.Plan, PrimaryAdmin: admin.ID, PrimaryContact: admin.Email, CreatedAt: now.UTC()}
	orgItem, err := org.Item(1)
	if err != nil {
		return Created{}, err
	}
	invite, err := users.InviteOps(admin, users.Invitation{OrgName: org.Name, InviterName: "the hub operator"}, links, box, now)
	if err != nil {
		return Created{}, err
	}
	ops := append([]storage.Op{storage.Put(orgItem, storage.Absent())}, invite...)
	if err := table.Write(ctx, ops...); err != nil {
		switch {
		case storage.FailedOn(err, 0):
			return Created{}, &apperr.Error{Kind: apperr.Conflict, Code: "organization_exists", Field: "id", Detail: "an organization with this id exists", Err: ErrExists}
		case storage.FailedOn(err, 1+users.OpEmailGuard):
			return Created{}, &apperr.Error{Kind: apperr.Conflict, Code: "email_unavailable", Field: "admin_email", Detail: "this address cannot be used for a new administrator"}
		}
		return Created{}, fmt.Errorf("orgs: create %s: %w", in.ID, err)
	}
	return Created{Org: org, Admin: admin, AdminID: admin.ID}, nil
}
