package forms

import (
	"context"
	"net/http"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/areas"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/web"
)

// Table is the storage the form areas need.
type Table interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
	Write(ctx context.Context, ops ...storage.Op) error
}

// LoadIntegrationForm reads an organization's Integration Form, the one
// that answers are validated against (ValidateAnswers) when an integration
// is submitted for approval.
func LoadIntegrationForm(ctx context.Context, table settings.Getter, org string) (Document, int64, error) {
	return Load(ctx, table, keys.IntegrationForm(org), IntegrationFormType)
}

// IntegrationService is the Integration Form area: hub users of standard
// organizations edit the questions partners answer for each integration.
type IntegrationService struct {
	Table Table
	Now   func() time.Time
}

var errIntegrationFormHubUsersOnly = apperr.New(apperr.Forbidden, "hub_users_only", "only hub users edit the Integration Form")

func checkIntegrationArea(p principal.Principal) error {
	if err := settings.RequireArea(p, areas.IntegrationForm); err != nil {
		return err
	}
	if p.Kind != principal.HubUser {
		return errIntegrationFormHubUsersOnly
	}
	return nil
}

// Read returns the Integration Form and its version.
func (s *IntegrationService) Read(ctx context.Context, p principal.Principal) (Document, int64, error) {
	if err := checkIntegrationArea(p); err != nil {
		return Document{}, 0, err
	}
	return LoadIntegrationForm(ctx, s.Table, p.Org)
}

// IntegrationInput replaces the Integration Form's questions (Revise).
type IntegrationInput struct {
	Questions []QuestionInput `json:"questions"`
}

// Replace writes the questions of the form read at version.
func (s *IntegrationService) Replace(ctx context.Context, p principal.Principal, version int64, in IntegrationInput) (Document, int64, error) {
	if err := checkIntegrationArea(p); err != nil {
		return Document{}, 0, err
	}
	current, currentVersion, err := LoadIntegrationForm(ctx, s.Table, p.Org)
	if err != nil {
		return Document{}, 0, err
	}
	if currentVersion != version {
		return Document{}, 0, settings.ErrStale
	}
	questions, err := Revise(current.Questions, in.Questions)
	if err != nil {
		return Document{}, 0, err
	}
	now := s.Now().UTC()
	doc := Document{Form: Form{Questions: questions}, UpdatedAt: &now, UpdatedBy: p.Subject}
	put, err := Put(keys.IntegrationForm(p.Org), IntegrationFormType, doc, version)
	if err != nil {
		return Document{}, 0, err
	}
	if err := s.Table.Write(ctx, put); err != nil {
		return Document{}, 0, settings.Stale(err, 0, "forms: write the integration form of "+p.Org)
	}
	return doc, version + 1, nil
}

// IntegrationRoutes are functions/integration-form's routes.
func IntegrationRoutes(rt *web.Router, s *IntegrationService) {
	hubUsers := web.Allow(principal.HubUser)
	rt.Handle("GET", "/integration-form", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		return settings.Written(w)(s.Read(r.Context(), web.Caller(r)))
	})
	rt.Handle("PUT", "/integration-form", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		if err := checkIntegrationArea(web.Caller(r)); err != nil {
			return err
		}
		version, in, err := settings.Versioned[IntegrationInput](r, 0)
		if err != nil {
			return err
		}
		return settings.Written(w)(s.Replace(r.Context(), web.Caller(r), version, in))
	})
}
