// Package notifications is the Notifications settings area: the catalog of
// events an organization is notified of and, per event, whether it is on
// and which extra addresses receive it. The organization's primary contact
// (Company area) receives every event whatever the settings say; Resolver
// gives the notifier the recipients of an event from the settings as they
// are when it sends.
//
// The settings are one versioned document (keys.NotificationSettings),
// under the rule of package settings: never written, it is every event on
// with no extra addresses, at version 0.
package notifications

import (
	"context"
	"fmt"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
)

// EntityType of the settings item.
const EntityType = "notification_settings"

// MaxAddresses caps the extra addresses of one event.
const MaxAddresses = 20

// Event is one entry of the catalog: a stable name (the outbox kind that
// raises it) and what it means.
type Event struct {
	Name        outbox.Kind `json:"name"`
	Description string      `json:"description"`
}

// Catalog lists the events an organization can be notified of, in the
// order the area shows them.
var Catalog = func() []Event {
	out := make([]Event, len(outbox.Notifications))
	for i, n := range outbox.Notifications {
		out[i] = Event{Name: n.Kind, Description: n.Description}
	}
	return out
}()

// InCatalog reports whether kind is a notification event.
func InCatalog(kind outbox.Kind) bool {
	for _, e := range Catalog {
		if e.Name == kind {
			return true
		}
	}
	return false
}

// stored is the settings document; an event without an entry has the
// defaults (on, no extra addresses).
type stored struct {
	Events    map[outbox.Kind]eventSetting `json:"events"`
	UpdatedAt time.Time                    `json:"updated_at,omitempty"`
	UpdatedBy string                       `json:"updated_by,omitempty"`
}

type eventSetting struct {
	Enabled   bool     `json:"enabled"`
	Addresses []string `json:"addresses"`
}

func (d stored) setting(kind outbox.Kind) eventSetting {
	if s, ok := d.Events[kind]; ok {
		return s
	}
	return eventSetting{Enabled: true, Addresses: []string{}}
}

// EventSettings is one event of the catalog with its settings.
type EventSettings struct {
	Event
	Enabled   bool     `json:"enabled"`
	Addresses []string `json:"addresses"`
}

// Document is the Notifications area: the primary contact, who receives
// every event, and every event of the catalog with its settings.
type Document struct {
	PrimaryContact string          `json:"primary_contact"`
	Events         []EventSettings `json:"events"`
}

// Table is the storage the area needs.
type Table interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
	GetMany(ctx context.Context, keys ...storage.Key) (map[storage.Key]storage.Item, error)
	Write(ctx context.Context, ops ...storage.Op) error
}

// Service is the Notifications area.
type Service struct {
	Table Table
	Now   func() time.Time
}

var errHubUsersOnly = apperr.New(apperr.Forbidden, "hub_users_only", "only hub users see the Notifications area")

func load(ctx context.Context, table settings.Getter, org string) (stored, int64, error) {
	var doc stored
	version, err := settings.Load(ctx, table, keys.NotificationSettings(org), EntityType, &doc)
	return doc, version, err
}

func primaryContact(ctx context.Context, table settings.Getter, org string) (string, error) {
	it, err := table.Get(ctx, keys.Org(org))
	if err != nil {
		return "", fmt.Errorf("notifications: organization %s: %w", org, err)
	}
	o, err := orgs.FromItem(it)
	return o.PrimaryContact, err
}

// document is the area for doc, with the primary contact read from g.
func document(ctx context.Context, g settings.Getter, org string, doc stored) (Document, error) {
	contact, err := primaryContact(ctx, g, org)
	if err != nil {
		return Document{}, err
	}
	out := Document{PrimaryContact: contact, Events: make([]EventSettings, 0, len(Catalog))}
	for _, e := range Catalog {
		set := doc.setting(e.Name)
		out.Events = append(out.Events, EventSettings{Event: e, Enabled: set.Enabled, Addresses: set.Addresses})
	}
	return out, nil
}

// Read returns the area and the settings' version. The settings and the
// organization, which names the primary contact, are one read.
func (s *Service) Read(ctx context.Context, p principal.Principal) (Document, int64, error) {
	if p.Kind != principal.HubUser {
		return Document{}, 0, errHubUsersOnly
	}
	read, err := storage.Prefetch(ctx, s.Table, keys.NotificationSettings(p.Org), keys.Org(p.Org))
	if err != nil {
		return Document{}, 0, fmt.Errorf("notifications: read settings and organization of %s: %w", p.Org, err)
	}
	doc, version, err := load(ctx, read, p.Org)
	if err != nil {
		return Document{}, 0, err
	}
	out, err := document(ctx, read, p.Org, doc)
	return out, version, err
}

// EventInput sets one event.
type EventInput struct {
	Name      outbox.Kind `json:"name"`
	Enabled   *bool       `json:"enabled"`
	Addresses []string    `json:"addresses"`
}

// Input replaces the settings: the events it lists are set as given, the
// others go back to the defaults (on, no extra addresses).
type Input struct {
	Events []EventInput `json:"events"`
}

func (in Input) validate() (map[outbox.Kind]eventSetting, error) {
	if in.Events == nil {
		return nil, apperr.Field("events", "required", "events lists the settings of each event")
	}
	out := make(map[outbox.Kind]eventSetting, len(in.Events))
	for i, e := range in.Events {
		field := fmt.Sprintf("events[%d]", i)
		if !InCatalog(e.Name) {
			return nil, apperr.Field(field+".name", "unknown_event", "%q is not an event of the catalog", e.Name)
		}
		if _, dup := out[e.Name]; dup {
			return nil, apperr.Field(field+".name", "duplicate_event", "%s is listed twice", e.Name)
		}
		if e.Enabled == nil {
			return nil, apperr.Field(field+".enabled", "required", "enabled is true or false")
		}
		addresses, err := distinctAddresses(field+".addresses", e.Addresses)
		if err != nil {
			return nil, err
		}
		out[e.Name] = eventSetting{Enabled: *e.Enabled, Addresses: addresses}
	}
	return out, nil
}

// distinctAddresses normalizes addresses (users.NormalizeEmail), drops
// repeats and caps them at MaxAddresses.
func distinctAddresses(field string, addresses []string) ([]string, error) {
	out := make([]string, 0, len(addresses))
	seen := make(map[string]bool, len(addresses))
	for i, a := range addresses {
		norm, err := users.NormalizeEmail(a)
		if err != nil {
			return nil, apperr.Field(fmt.Sprintf("%s[%d]", field, i), "invalid_email", "%s", err.Error())
		}
		if seen[norm] {
			continue
		}
		seen[norm] = true
		out = append(out, norm)
	}
	if len(out) > MaxAddresses {
		return nil, apperr.Field(field, "too_many_addresses", "an event has at most %d extra addresses", MaxAddresses)
	}
	return out, nil
}

// Replace writes the settings read at version.
func (s *Service) Replace(ctx context.Context, p principal.Principal, version int64, in Input) (Document, int64, error) {
	if p.Kind != principal.HubUser {
		return Document{}, 0, errHubUsersOnly
	}
	events, err := in.validate()
	if err != nil {
		return Document{}, 0, err
	}
	doc := stored{Events: events, UpdatedAt: s.Now().UTC(), UpdatedBy: p.Subject}
	put, err := settings.Put(keys.NotificationSettings(p.Org), EntityType, doc, version)
	if err != nil {
		return Document{}, 0, err
	}
	if err := s.Table.Write(ctx, put); err != nil {
		return Document{}, 0, settings.Stale(err, 0, "notifications: write settings of "+p.Org)
	}
	out, err := document(ctx, s.Table, p.Org, doc)
	return out, version + 1, err
}
