package apikeys

import (
	"net/http"

	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/web"
)

// Routes are functions/api-access' routes: the API Access area, for hub
// users only (an API key never manages keys).
func Routes(rt *web.Router, s *Service) {
	hubUsers := web.Allow(principal.HubUser)
	rt.Handle("GET", "/api-keys", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		limit, err := web.Limit(r, MaxListLimit)
		if err != nil {
			return err
		}
		page, err := s.List(r.Context(), web.Caller(r), limit, r.URL.Query().Get("cursor"))
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, page)
		return nil
	})
	rt.Handle("POST", "/api-keys", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		var in CreateInput
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		created, err := s.Create(r.Context(), web.Caller(r), in)
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusCreated, created)
		return nil
	})
	rt.Handle("DELETE", "/api-keys/{id}", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.Revoke(r.Context(), web.Caller(r), r.PathValue("id")); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
}
