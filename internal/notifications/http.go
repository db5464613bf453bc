package notifications

import (
	"net/http"

	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/web"
)

var hubUsers = web.Allow(principal.HubUser)

// Routes are functions/notifications' routes.
func Routes(rt *web.Router, s *Service) {
	rt.Handle("GET", "/notifications", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		doc, version, err := s.Read(r.Context(), web.Caller(r))
		if err != nil {
			return err
		}
		web.SetETag(w, version)
		web.JSON(w, http.StatusOK, doc)
		return nil
	})
	rt.Handle("PUT", "/notifications", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		version, err := settings.IfMatch(r)
		if err != nil {
			return err
		}
		var in Input
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		doc, version, err := s.Replace(r.Context(), web.Caller(r), version, in)
		if err != nil {
			return err
		}
		web.SetETag(w, version)
		web.JSON(w, http.StatusOK, doc)
		return nil
	})
}
