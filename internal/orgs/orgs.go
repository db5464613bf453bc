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
	// MarketplaceURL is the SaaS page that embeds the In-App Marketplace
	// (Company area): absolute https, no credentials, no fragment.
	MarketplaceURL string `json:"marketplace_url,omitempty"`
	// Logos shown to partners in their hub (Company area).
	Logos Logos `json:"logos"`
}

// Logos are the light and dark variants of an organization's logo; a nil
// variant is not set.
type Logos struct {
	Light *Logo `json:"light,omitempty"`
	Dark  *Logo `json:"dark,omitempty"`
}

// Logo is either an https URL or an uploaded image, whose bytes live in
// their own item (keys.Logo) so the profile item stays small.
type Logo struct {
	URL string `json:"url,omitempty"`
	// ContentType, Size and SHA256 describe an upload.
	ContentType string `json:"content_type,omitempty"`
	Size        int    `json:"size,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
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
