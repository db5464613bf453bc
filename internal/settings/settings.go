// Package settings holds what the settings areas share: versioned
// documents behind ETag / If-Match, the area check for lite organizations
// and https URL validation.
//
// The version rule: every settings document is one item whose version is
// its ETag ("v<version>"). A document that has never been written is served
// with its defaults at version 0 (ETag "v0"); the first write must send
// If-Match: "v0" and is conditional on the item being absent. Every later
// write sends the ETag it read and is conditional on that version. Either
// way a lost race is 412 stale_version, and a write without If-Match is 428.
package settings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/areas"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/web"
)

// Getter is the part of the storage port a reader of documents needs.
type Getter interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
}

// ErrStale answers a write whose If-Match is not the current version.
var ErrStale = apperr.New(apperr.PreconditionFailed, "stale_version", "the document changed since you read it; read it again and retry")

// IfMatch reads the version a write is conditional on: web.IfMatch, plus
// the ETag of a document never written ("v0").
func IfMatch(r *http.Request) (int64, error) {
	if strings.TrimPrefix(strings.TrimSpace(r.Header.Get("If-Match")), "W/") == web.ETag(0) {
		return 0, nil
	}
	return web.IfMatch(r)
}

// Versioned reads an update of a versioned document: the version in
// If-Match and the body, decoded strictly (at most limit bytes; 0 means
// web.MaxBody).
func Versioned[In any](r *http.Request, limit int64) (version int64, in In, err error) {
	if version, err = IfMatch(r); err != nil {
		return 0, in, err
	}
	err = web.Decode(r, &in, limit)
	return version, in, err
}

// Written answers a document at its new version, with its ETag; pass it
// the results of the update (Written(w)(s.Update(...))).
func Written(w http.ResponseWriter) func(doc any, version int64, err error) error {
	return func(doc any, version int64, err error) error {
		if err != nil {
			return err
		}
		web.SetETag(w, version)
		web.JSON(w, http.StatusOK, doc)
		return nil
	}
}

// Condition is the write condition for a document read at version: absent
// for version 0, that version otherwise.
func Condition(version int64) storage.Condition {
	if version == 0 {
		return storage.Absent()
	}
	return storage.VersionIs(version)
}

// Load decodes the document at k into doc and returns its version; a
// document never written leaves doc as it is (its defaults) at version 0.
func Load(ctx context.Context, table Getter, k storage.Key, entityType string, doc any) (int64, error) {
	it, err := table.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("settings: read %s: %w", k, err)
	}
	return it.Version, Decode(it, entityType, doc)
}

// Decode reads the document of an item of entityType into doc.
func Decode(it storage.Item, entityType string, doc any) error {
	if it.Type != entityType {
		return fmt.Errorf("settings: item %s is a %q, not a %q", it.Key, it.Type, entityType)
	}
	if err := json.Unmarshal(it.Data, doc); err != nil {
		return fmt.Errorf("settings: decode %s: %w", it.Key, err)
	}
	return nil
}

// Put is the write of doc as the version after read, conditional on read
// still being current.
func Put(k storage.Key, entityType string, doc any, read int64) (storage.Op, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return storage.Op{}, fmt.Errorf("settings: encode %s: %w", k, err)
	}
	return storage.Put(storage.Item{Key: k, Type: entityType, Version: read + 1, Data: data}, Condition(read)), nil
}

// Stale maps a failed condition on the document's operation (at index op of
// the write) to ErrStale and wraps anything else with what.
func Stale(err error, op int, what string) error {
	if storage.FailedOn(err, op) {
		return ErrStale
	}
	return fmt.Errorf("%s: %w", what, err)
}

// RequireArea refuses a principal who may not see area: 404 area_not_found
// for a lite organization, which has no such area, 403 otherwise.
func RequireArea(p principal.Principal, area string) error {
	if areas.Visible(p, area) {
		return nil
	}
	if p.Plan == principal.Lite {
		return apperr.New(apperr.NotFound, "area_not_found", "this organization has no "+area+" area")
	}
	return apperr.New(apperr.Forbidden, "area_forbidden", "the "+area+" area is not open to you")
}

// MaxURLLength caps every URL a setting holds.
const MaxURLLength = 2048

// HTTPSURL checks that raw is an absolute https URL with a host, without
// credentials and without a fragment, and returns it trimmed. field names
// the input in the error.
func HTTPSURL(field, raw string) (string, error) {
	return absoluteURL(field, raw, false, "https")
}

// WebURL checks an answer that only points somewhere: an absolute http or
// https URL with a host, without credentials.
func WebURL(field, raw string) (string, error) {
	return absoluteURL(field, raw, true, "https", "http")
}

func absoluteURL(field, raw string, fragmentOK bool, schemes ...string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > MaxURLLength {
		return "", apperr.Field(field, "invalid_url", "a URL has 1 to %d characters", MaxURLLength)
	}
	for _, r := range raw {
		if r <= 0x20 || r == 0x7f {
			return "", apperr.Field(field, "invalid_url", "a URL has no spaces or control characters")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return "", apperr.Field(field, "invalid_url", "%s must be an absolute URL", field)
	}
	allowed := false
	for _, s := range schemes {
		allowed = allowed || u.Scheme == s
	}
	if !allowed {
		return "", apperr.Field(field, "invalid_url", "%s must be an %s URL", field, strings.Join(schemes, " or "))
	}
	if u.User != nil {
		return "", apperr.Field(field, "invalid_url", "%s must not carry credentials", field)
	}
	if !fragmentOK && strings.Contains(raw, "#") {
		return "", apperr.Field(field, "invalid_url", "%s must not have a fragment", field)
	}
	return raw, nil
}
