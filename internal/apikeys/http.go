package apikeys

import (
	"net/http"
	"strconv"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/web"
)

// Routes are functions/api-access' routes: the API Access area, for hub
// users only (an API key never manages keys).
func Routes(rt *web.Router, s *Service) {
	hubUsers := web.Allow(principal.HubUser)
	rt.Handle("GET", "/api-keys", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		limit, err := limitParam(r)
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

func limitParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxListLimit {
		return 0, apperr.Field("limit", "invalid_limit", "limit is a whole number from 1 to %d", MaxListLimit)
	}
	return n, nil
}
