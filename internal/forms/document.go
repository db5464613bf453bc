package forms

import (
	"context"
	"time"

	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/storage"
)

// Entity types of the stored forms.
const (
	IntegrationFormType = "integration_form"
	PartnerFormType     = "partner_form"
)

// Document is a stored form, one versioned settings document under the
// rule of package settings: never written, it has no questions, at
// version 0.
type Document struct {
	Form
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	UpdatedBy string     `json:"updated_by,omitempty"`
}

// Load reads the form at k and its version.
func Load(ctx context.Context, table settings.Getter, k storage.Key, entityType string) (Document, int64, error) {
	var doc Document
	version, err := settings.Load(ctx, table, k, entityType, &doc)
	if doc.Questions == nil {
		doc.Questions = []Question{}
	}
	return doc, version, err
}

// Put is the write of doc as the version after read, conditional on read.
func Put(k storage.Key, entityType string, doc Document, read int64) (storage.Op, error) {
	return settings.Put(k, entityType, doc, read)
}
