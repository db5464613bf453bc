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
	// TokenVersion increases on every password reset and sign-out-all; a
	// session carries the version it was issued at.
	TokenVersion int64 `json:"token_version"`
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

// Item is the user as a stored envelope.
func (u User) Item() (storage.Item, error) {
	data, err := json.Marshal(u)
	if err != nil {
		return storage.Item{}, err
	}
	return storage.Item{Key: keys.User(u.Org, u.ID), Type: EntityType, Version: 1, Data: data}, nil
}

// FromItem reads a user item.
func FromItem(it storage.Item) (User, error) {
	var u User
	if it.Type != EntityType {
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
