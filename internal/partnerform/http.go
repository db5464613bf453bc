package partnerform

import (
	"net/http"

	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/web"
)

// Routes are functions/partner-form's routes. Reading and submitting the
// form are open to partner users whose form is due (EvenPending); the
// service refuses lite organizations (404) and the wrong kind of user.
func Routes(rt *web.Router, s *Service) {
	hubUsers := web.Allow(principal.HubUser)
	formTakers := web.Allow(principal.HubUser, principal.PartnerUser).EvenPending()
	rt.Handle("GET", "/partner-form", formTakers, func(w http.ResponseWriter, r *http.Request) error {
		return settings.Written(w)(s.Read(r.Context(), web.Caller(r)))
	})
	rt.Handle("PUT", "/partner-form", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		if err := area(web.Caller(r), principal.HubUser); err != nil {
			return err
		}
		version, in, err := settings.Versioned[Input](r, 0)
		if err != nil {
			return err
		}
		return settings.Written(w)(s.Replace(r.Context(), web.Caller(r), version, in))
	})
	rt.Handle("POST", "/partner-form/answers", formTakers, func(w http.ResponseWriter, r *http.Request) error {
		if err := area(web.Caller(r), principal.PartnerUser); err != nil {
			return err
		}
		var in SubmitInput
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		sub, err := s.Submit(r.Context(), web.Caller(r), in)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/partner-form/answers/"+sub.Partner)
		web.JSON(w, http.StatusCreated, sub)
		return nil
	})
	rt.Handle("GET", "/partner-form/answers", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
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
	rt.Handle("GET", "/partner-form/answers/{partner_id}", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		sub, err := s.Answers(r.Context(), web.Caller(r), r.PathValue("partner_id"))
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, sub)
		return nil
	})
}
