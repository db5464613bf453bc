// Package company is the Company settings area: the organization's name,
// primary administrator, primary contact, logos and marketplace base URL.
//
// The Company document is the organization's profile item (orgs.Organization,
// keys.Org), so its ETag is that item's version: every change, including a
// change of primary administrator (users.Service.ChangePrimaryAdmin), moves
// it on. An uploaded logo's bytes live in their own item (keys.Logo),
// written in the same atomic write as the profile that refers to them.
// Hub users read and change everything; partner users read only the name
// and the logos.
package company

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
)

// Table is the storage the Company area needs.
type Table interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
	Write(ctx context.Context, ops ...storage.Op) error
}

// PrimaryAdminChanger changes the primary administrator atomically, if
// the profile is still at version, and returns the profile and its version
// after the change (users.Service).
type PrimaryAdminChanger interface {
	ChangePrimaryAdmin(ctx context.Context, p principal.Principal, version int64, id string) (orgs.Organization, int64, error)
}

// Service is the Company area.
type Service struct {
	Table  Table
	Admins PrimaryAdminChanger
	Now    func() time.Time
}

// Document is the Company area as hub users see it.
type Document struct {
	Name                 string `json:"name"`
	PrimaryAdministrator string `json:"primary_administrator"`
	PrimaryContact       string `json:"primary_contact"`
	MarketplaceURL       string `json:"marketplace_url"`
	Logos                Logos  `json:"logos"`
}

// PartnerDocument is what partner users see of the Company area.
type PartnerDocument struct {
	Name  string `json:"name"`
	Logos Logos  `json:"logos"`
}

// ForPartners is the part of d partner users see.
func (d Document) ForPartners() PartnerDocument {
	return PartnerDocument{Name: d.Name, Logos: d.Logos}
}

// Logos are the two logo variants; null when not set.
type Logos struct {
	Light *LogoView `json:"light"`
	Dark  *LogoView `json:"dark"`
}

// LogoView is one logo variant. URL is the logo's https URL, or for an
// upload the route that serves it, with a query naming the upload so that
// a new upload gets a new URL past any cache.
type LogoView struct {
	URL         string `json:"url"`
	Uploaded    bool   `json:"uploaded"`
	ContentType string `json:"content_type,omitempty"`
	Size        int    `json:"size,omitempty"`
}

func documentOf(o orgs.Organization) Document {
	return Document{
		Name:                 o.Name,
		PrimaryAdministrator: o.PrimaryAdmin,
		PrimaryContact:       o.PrimaryContact,
		MarketplaceURL:       o.MarketplaceURL,
		Logos:                Logos{Light: logoView(Light, o.Logos.Light), Dark: logoView(Dark, o.Logos.Dark)},
	}
}

func logoView(variant string, l *orgs.Logo) *LogoView {
	switch {
	case l == nil:
		return nil
	case l.URL != "":
		return &LogoView{URL: l.URL}
	}
	return &LogoView{URL: LogoPath(variant) + "?v=" + l.SHA256[:min(16, len(l.SHA256))], Uploaded: true, ContentType: l.ContentType, Size: l.Size}
}

var (
	errHubUsersOnly = apperr.New(apperr.Forbidden, "hub_users_only", "only hub users change the Company area")
	errEmptyUpdate  = apperr.New(apperr.Invalid, "empty_update", "send at least one of name, primary_contact, marketplace_url")
	errNotAReader   = apperr.New(apperr.Forbidden, "forbidden_principal", "the Company area is open to hub and partner users")
)

func (s *Service) now() time.Time { return s.Now().UTC() }

// profile reads the organization's profile and its version.
func (s *Service) profile(ctx context.Context, org string) (orgs.Organization, int64, error) {
	it, err := s.Table.Get(ctx, keys.Org(org))
	if err != nil {
		return orgs.Organization{}, 0, fmt.Errorf("company: organization %s: %w", org, err)
	}
	o, err := orgs.FromItem(it)
	return o, it.Version, err
}

// Read returns the Company document and its version. Partner users get it
// too; show them only Document.ForPartners.
func (s *Service) Read(ctx context.Context, p principal.Principal) (Document, int64, error) {
	if p.Kind != principal.HubUser && p.Kind != principal.PartnerUser {
		return Document{}, 0, errNotAReader
	}
	o, version, err := s.profile(ctx, p.Org)
	if err != nil {
		return Document{}, 0, err
	}
	return documentOf(o), version, nil
}

// Update changes some of the profile's fields; a nil field is left as it
// is. An empty marketplace_url removes it; the primary contact cannot be
// removed (it receives every notification).
type Update struct {
	Name           *string `json:"name"`
	PrimaryContact *string `json:"primary_contact"`
	MarketplaceURL *string `json:"marketplace_url"`
}

// Update applies in to the profile read at version.
func (s *Service) Update(ctx context.Context, p principal.Principal, version int64, in Update) (Document, int64, error) {
	if p.Kind != principal.HubUser {
		return Document{}, 0, errHubUsersOnly
	}
	if in.Name == nil && in.PrimaryContact == nil && in.MarketplaceURL == nil {
		return Document{}, 0, errEmptyUpdate
	}
	o, current, err := s.profile(ctx, p.Org)
	if err != nil {
		return Document{}, 0, err
	}
	if current != version {
		return Document{}, 0, settings.ErrStale
	}
	if in.Name != nil {
		if o.Name, err = validName(*in.Name); err != nil {
			return Document{}, 0, err
		}
	}
	if in.PrimaryContact != nil {
		contact, err := users.NormalizeEmail(*in.PrimaryContact)
		if err != nil {
			return Document{}, 0, apperr.Field("primary_contact", "invalid_email", "%s", err.Error())
		}
		o.PrimaryContact = contact
	}
	if in.MarketplaceURL != nil {
		o.MarketplaceURL = ""
		if strings.TrimSpace(*in.MarketplaceURL) != "" {
			if o.MarketplaceURL, err = settings.HTTPSURL("marketplace_url", *in.MarketplaceURL); err != nil {
				return Document{}, 0, err
			}
		}
	}
	return s.write(ctx, o, version)
}

// write puts the profile as the version after read, conditional on read,
// with the extra operations (a logo's item).
func (s *Service) write(ctx context.Context, o orgs.Organization, read int64, extra ...storage.Op) (Document, int64, error) {
	it, err := o.Item(read + 1)
	if err != nil {
		return Document{}, 0, fmt.Errorf("company: encode organization %s: %w", o.ID, err)
	}
	ops := append([]storage.Op{storage.Put(it, storage.VersionIs(read))}, extra...)
	if err := s.Table.Write(ctx, ops...); err != nil {
		return Document{}, 0, settings.Stale(err, 0, "company: write organization "+o.ID)
	}
	return documentOf(o), read + 1, nil
}

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > orgs.MaxNameLength {
		return "", apperr.Field("name", "invalid_name", "the name has 1 to %d characters", orgs.MaxNameLength)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", apperr.Field("name", "invalid_name", "the name has no control characters")
		}
	}
	return name, nil
}

// ChangePrimaryAdmin names another active hub user primary administrator,
// if the profile is still at version. The change itself is
// users.Service.ChangePrimaryAdmin's: one read of the profile (whose
// version it checks) with the new administrator, and an atomic write
// conditional on both. The answer is the profile that write put, so
// nothing is read again.
func (s *Service) ChangePrimaryAdmin(ctx context.Context, p principal.Principal, version int64, userID string) (Document, int64, error) {
	if p.Kind != principal.HubUser {
		return Document{}, 0, errHubUsersOnly
	}
	if strings.TrimSpace(userID) == "" {
		return Document{}, 0, apperr.Field("user_id", "required", "user_id is the id of an active hub user")
	}
	o, written, err := s.Admins.ChangePrimaryAdmin(ctx, p, version, userID)
	if err != nil {
		return Document{}, 0, err
	}
	return documentOf(o), written, nil
}

// errNoSuchVariant answers a logo variant other than light or dark.
var errNoSuchVariant = apperr.New(apperr.NotFound, "logo_variant_not_found", "the logo variants are light and dark")

func logoSlot(o *orgs.Organization, variant string) (**orgs.Logo, error) {
	switch variant {
	case Light:
		return &o.Logos.Light, nil
	case Dark:
		return &o.Logos.Dark, nil
	}
	return nil, errNoSuchVariant
}

// SetLogo sets a logo variant to an https URL or to an uploaded image,
// replacing what it was.
func (s *Service) SetLogo(ctx context.Context, p principal.Principal, version int64, variant string, in LogoInput) (Document, int64, error) {
	if p.Kind != principal.HubUser {
		return Document{}, 0, errHubUsersOnly
	}
	o, current, err := s.profile(ctx, p.Org)
	if err != nil {
		return Document{}, 0, err
	}
	slot, err := logoSlot(&o, variant)
	if err != nil {
		return Document{}, 0, err
	}
	logo, upload, err := in.validate()
	if err != nil {
		return Document{}, 0, err
	}
	if current != version {
		return Document{}, 0, settings.ErrStale
	}
	*slot = &logo
	var extra storage.Op
	if upload == nil {
		extra = storage.Delete(keys.Logo(p.Org, variant), storage.Condition{})
	} else {
		it, err := upload.item(p.Org, variant, s.now())
		if err != nil {
			return Document{}, 0, err
		}
		extra = storage.Put(it, storage.Condition{})
	}
	return s.write(ctx, o, version, extra)
}

// RemoveLogo unsets a logo variant.
func (s *Service) RemoveLogo(ctx context.Context, p principal.Principal, version int64, variant string) (Document, int64, error) {
	if p.Kind != principal.HubUser {
		return Document{}, 0, errHubUsersOnly
	}
	o, current, err := s.profile(ctx, p.Org)
	if err != nil {
		return Document{}, 0, err
	}
	slot, err := logoSlot(&o, variant)
	if err != nil {
		return Document{}, 0, err
	}
	if current != version {
		return Document{}, 0, settings.ErrStale
	}
	*slot = nil
	return s.write(ctx, o, version, storage.Delete(keys.Logo(p.Org, variant), storage.Condition{}))
}

var errLogoNotUploaded = apperr.New(apperr.NotFound, "logo_not_uploaded", "this logo variant is not an uploaded image")

// Logo returns an uploaded logo variant's image.
func (s *Service) Logo(ctx context.Context, p principal.Principal, variant string) (Image, error) {
	if p.Kind != principal.HubUser && p.Kind != principal.PartnerUser {
		return Image{}, errNotAReader
	}
	if variant != Light && variant != Dark {
		return Image{}, errNoSuchVariant
	}
	it, err := s.Table.Get(ctx, keys.Logo(p.Org, variant))
	if errors.Is(err, storage.ErrNotFound) {
		return Image{}, errLogoNotUploaded
	}
	if err != nil {
		return Image{}, fmt.Errorf("company: logo %s of %s: %w", variant, p.Org, err)
	}
	return imageFromItem(it)
}
