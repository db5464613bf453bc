// Package users holds hub users: people of an organization or of one of its
// partner organizations, their invitations, passwords and sessions.
package users

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/storage"
)

// EntityType of user items and of the email guard items.
const (
	EntityType     = "user"
	EmailGuardType = "email"
	MemberType     = "member"
	InvitationTTL  = 7 * 24 * time.Hour
	MaxEmailLength = 254
	MaxNameLength  = 200
)

// Status of a user.
type Status string

const (
	Invited Status = "invited"
	Active  Status = "active"
)

// Role of a user: one level of hub users; partner users belong to a partner.
// The primary administrator is a hub user whom the organization names.
type Role string

const (
	RoleHubUser     Role = "hub_user"
	RolePartnerUser Role = "partner_user"
)

// User is a stored hub user. PasswordHash never leaves this package's
// callers in a response.
type User struct {
	ID           string    `json:"id"`
	Org          string    `json:"org"`
	Email        string    `json:"email"`
	Name         string    `json:"name,omitempty"`
	Role         Role      `json:"role"`
	Partner      string    `json:"partner,omitempty"`
	Status       Status    `json:"status"`
	InvitedAt    time.Time `json:"invited_at,omitempty"`
	InvitedBy    string    `json:"invited_by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	PasswordHash string    `json:"password_hash,omitempty"`
	// TokenVersion increases on every password reset and sign-out; a
	// session carries the version it was issued at.
	TokenVersion int64 `json:"token_version"`
	// PartnerPending mirrors the partner organization's state, so the
	// authorizer learns it from the one item it reads.
	PartnerPending bool `json:"partner_pending,omitempty"`
	// Primary marks the organization's primary administrator, written in
	// the same write as the profile that names them, so a page of users
	// tells who it is without reading the profile. The profile stays the
	// authority: an organization whose administrator was named before the
	// flag existed has no flagged user until its next change.
	Primary bool `json:"primary,omitempty"`
}

// EmailGuard is the deployment-wide item that makes an address unique and
// finds its user at sign-in.
type EmailGuard struct {
	Org  string `json:"org"`
	User string `json:"user"`
}

// NormalizeEmail trims, checks and lower-cases an address. Only the plain
// addr-spec form is accepted ("Name <a@b>" is not an address field).
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxEmailLength {
		return "", fmt.Errorf("an email address has 1 to %d characters", MaxEmailLength)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", fmt.Errorf("%q is not an email address", s)
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", fmt.Errorf("%q is not an email address with a domain", s)
	}
	return strings.ToLower(s), nil
}

// SortName orders users by name; invited users without one sort by email.
func (u User) SortName() string {
	if n := strings.ToLower(strings.TrimSpace(u.Name)); n != "" {
		return n
	}
	return u.Email
}

// Item is the user as a stored envelope at a version, listed by email
// (GSI1) and by name (GSI2) in the organization's users scope.
func (u User) Item(version int64) (storage.Item, error) {
	return u.envelope(keys.User(u.Org, u.ID), keys.UsersScope(u.Org, ""), EntityType, version)
}

// MemberItem is the copy of a partner user listed in its partner's scope.
// It never carries the password hash.
func (u User) MemberItem() (storage.Item, error) {
	c := u
	c.PasswordHash = ""
	return c.envelope(keys.Member(u.Org, u.Partner, u.ID), keys.UsersScope(u.Org, u.Partner), MemberType, 1)
}

func (u User) envelope(k storage.Key, scope, typ string, version int64) (storage.Item, error) {
	data, err := json.Marshal(u)
	if err != nil {
		return storage.Item{}, fmt.Errorf("users: encode %s: %w", u.ID, err)
	}
	return storage.Item{
		Key:  k,
		Type: typ,
		Index: map[string]storage.Key{
			keys.GSI1: keys.UserByEmail(scope, u.Email),
			keys.GSI2: keys.UserByName(scope, u.SortName(), u.ID),
		},
		Version: version,
		Data:    data,
	}, nil
}

// PutOps write u at version (conditional on cond) and keep its member copy
// in step.
func (u User) PutOps(version int64, cond storage.Condition) ([]storage.Op, error) {
	it, err := u.Item(version)
	if err != nil {
		return nil, err
	}
	ops := []storage.Op{storage.Put(it, cond)}
	if u.Partner != "" {
		m, err := u.MemberItem()
		if err != nil {
			return nil, err
		}
		ops = append(ops, storage.Put(m, storage.Condition{}))
	}
	return ops, nil
}

// DeleteOps remove u (at version), its email guard and its member copy.
func (u User) DeleteOps(version int64) []storage.Op {
	ops := []storage.Op{
		storage.Delete(keys.User(u.Org, u.ID), storage.VersionIs(version)),
		storage.Delete(keys.Email(u.Email), storage.Condition{}),
	}
	if u.Partner != "" {
		ops = append(ops, storage.Delete(keys.Member(u.Org, u.Partner, u.ID), storage.Condition{}))
	}
	return ops
}

// FromItem reads a user item.
func FromItem(it storage.Item) (User, error) {
	var u User
	if it.Type != EntityType && it.Type != MemberType {
		return u, fmt.Errorf("users: item %s is not a user", it.Key)
	}
	if err := json.Unmarshal(it.Data, &u); err != nil {
		return u, fmt.Errorf("users: decode %s: %w", it.Key, err)
	}
	return u, nil
}

// GuardItem is the email guard of u.
func (u User) GuardItem() storage.Item {
	data, _ := json.Marshal(EmailGuard{Org: u.Org, User: u.ID})
	return storage.Item{Key: keys.Email(u.Email), Type: EmailGuardType, Version: 1, Data: data}
}
