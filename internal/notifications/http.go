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
		return settings.Written(w)(s.Read(r.Context(), web.Caller(r)))
	})
	rt.Handle("PUT", "/notifications", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		version, in, err := settings.Versioned[Input](r, 0)
		if err != nil {
			return err
		}
		return settings.Written(w)(s.Replace(r.Context(), web.Caller(r), version, in))
	})
}
