// Package orgs holds organizations: the SaaS companies that use the hub.
package orgs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
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
