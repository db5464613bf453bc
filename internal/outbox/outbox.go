// Package outbox is the transactional outbox: a change that must be seen by
// the notifier writes an event item in the same atomic write as the change
// itself. The table's stream, filtered on event items, carries it to the
// notifier (functions/notifier), which sends the email.
package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/storage"
)

// EntityType marks event items; the stream trigger's filter selects it.
const EntityType = "event"

// Retention is how long an event item stays in the table (TTL): longer than
// the stream's retry window, so the notifier can always read it back.
const Retention = 7 * 24 * time.Hour

// Kind names an event. The notification catalog (settings issue) adds kinds;
// the notifier has one email template per kind it sends.
type Kind string

const (
	// Invitation: the invitation email itself, with its one-time link, to
	// the invited person only.
	Invitation Kind = "user.invitation"
	// PasswordResetRequested: a reset was asked for (by the user or by
	// another user); the user gets the reset link.
	PasswordResetRequested Kind = "user.password_reset"

	// Notification events (the Notifications area's catalog): the
	// notifier resolves their recipients from the organization's settings.
	IntegrationCreated        Kind = "integration.created"
	TenantCreated             Kind = "tenant.created"
	TenantArchived            Kind = "tenant.archived"
	PartnerIntegrationUpdated Kind = "partner_integration.updated"
	RunFailed                 Kind = "run.failed"
	PartnerFormSubmitted      Kind = "partner_form.submitted"
	APIKeyCreated             Kind = "api_key.created"
	// UserInvited tells the organization that someone was invited (no
	// link; the invited person gets an Invitation).
	UserInvited Kind = "user.invited"
)

// Notification is an event of the notification catalog: its kind, the
// title of its email and what it means.
type Notification struct {
	Kind        Kind
	Title       string
	Description string
}

// Notifications is the catalog, in the order the Notifications area shows
// it. The primary contact receives every one of them; each can be switched
// on for extra addresses.
var Notifications = []Notification{
	{IntegrationCreated, "Integration created", "An integration was created."},
	{TenantCreated, "Tenant created", "A tenant was created: an end-user installed an integration."},
	{TenantArchived, "Tenant archived", "A tenant was archived (deleted)."},
	{PartnerIntegrationUpdated, "Partner integration updated", "A partner updated an integration or submitted it for review."},
	{RunFailed, "Run failed", "A run of a tenant failed."},
	{PartnerFormSubmitted, "Partner Form submitted", "A partner organization submitted the Partner Form."},
	{UserInvited, "User invited", "A user was invited to the hub."},
	{APIKeyCreated, "API key created", "An API key was created."},
}

// NotificationOf returns the catalog entry of kind.
func NotificationOf(kind Kind) (Notification, bool) {
	for _, n := range Notifications {
		if n.Kind == kind {
			return n, true
		}
	}
	return Notification{}, false
}

// Event is one outbox entry.
type Event struct {
	ID   string    `json:"id"`
	Org  string    `json:"org"`
	Kind Kind      `json:"kind"`
	At   time.Time `json:"at"`
	// To are the direct recipients of a personal email (the invited user).
	// Notification events leave it empty and the notifier resolves the
	// recipients from the organization's settings.
	To []string `json:"to,omitempty"`
	// Data are the template's fields, shown in the email.
	Data map[string]string `json:"data,omitempty"`
	// Sealed are fields that must not rest in the table in clear (a link
	// carrying a one-time token), sealed with the "outbox" box of the
	// keyring and bound to the event id.
	Sealed map[string]string `json:"sealed,omitempty"`
}

// New starts an event of an organization, with a fresh time-ordered id.
func New(org string, kind Kind, now time.Time) Event {
	return Event{ID: ids.At(now), Org: org, Kind: kind, At: now.UTC()}
}

// SealedContext binds sealed fields to their event.
func (e Event) SealedContext() []byte { return []byte("outbox/" + e.Org + "/" + e.ID) }

// Put is the operation that writes the event; add it to the write that makes
// the change.
func Put(e Event) (storage.Op, error) {
	if e.ID == "" || e.Org == "" || e.Kind == "" {
		return storage.Op{}, errors.New("outbox: event needs an id, an organization and a kind")
	}
	data, err := json.Marshal(e)
	if err != nil {
		return storage.Op{}, fmt.Errorf("outbox: encode event: %w", err)
	}
	return storage.Put(storage.Item{
		Key:       keys.Event(e.Org, e.ID),
		Type:      EntityType,
		Version:   1,
		ExpiresAt: e.At.Add(Retention),
		Data:      data,
	}, storage.Absent()), nil
}

// FromItem reads an event item.
func FromItem(it storage.Item) (Event, error) {
	if it.Type != EntityType {
		return Event{}, fmt.Errorf("outbox: item %s is a %q, not an event", it.Key, it.Type)
	}
	var e Event
	if err := json.Unmarshal(it.Data, &e); err != nil {
		return Event{}, fmt.Errorf("outbox: decode event %s: %w", it.Key, err)
	}
	if it.Key != keys.Event(e.Org, e.ID) {
		return Event{}, fmt.Errorf("outbox: event %s does not match its key %s", e.ID, it.Key)
	}
	return e, nil
}
