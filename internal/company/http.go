package company

import (
	"net/http"
	"strconv"

	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/web"
)

var (
	readers = web.Allow(principal.HubUser, principal.PartnerUser)
	editors = web.Allow(principal.HubUser)
)

// LogoPolicy is the Content-Security-Policy an uploaded logo is served
// under: nothing it contains may run or load, only its inline styles apply.
const LogoPolicy = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

// Routes are functions/company's routes.
func Routes(rt *web.Router, s *Service) {
	rt.Handle("GET", "/company", readers, func(w http.ResponseWriter, r *http.Request) error {
		p := web.Caller(r)
		doc, version, err := s.Read(r.Context(), p)
		if err != nil {
			return err
		}
		web.SetETag(w, version)
		if p.Kind == principal.PartnerUser {
			web.JSON(w, http.StatusOK, doc.ForPartners())
			return nil
		}
		web.JSON(w, http.StatusOK, doc)
		return nil
	})
	rt.Handle("PATCH", "/company", editors, func(w http.ResponseWriter, r *http.Request) error {
		version, in, err := settings.Versioned[Update](r, 0)
		if err != nil {
			return err
		}
		return settings.Written(w)(s.Update(r.Context(), web.Caller(r), version, in))
	})
	rt.Handle("PUT", "/company/primary-administrator", editors, func(w http.ResponseWriter, r *http.Request) error {
		version, err := settings.IfMatch(r)
		if err != nil {
			return err
		}
		var in struct {
			UserID string `json:"user_id"`
		}
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		return settings.Written(w)(s.ChangePrimaryAdmin(r.Context(), web.Caller(r), version, in.UserID))
	})
	rt.Handle("GET", "/company/logos/{variant}", readers, func(w http.ResponseWriter, r *http.Request) error {
		img, err := s.Logo(r.Context(), web.Caller(r), r.PathValue("variant"))
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", img.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(img.Data)))
		h.Set("Content-Security-Policy", LogoPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "private, max-age=300")
		w.WriteHeader(http.StatusOK)
		_, err = w.Write(img.Data)
		return err
	})
	rt.Handle("PUT", "/company/logos/{variant}", editors, func(w http.ResponseWriter, r *http.Request) error {
		version, in, err := settings.Versioned[LogoInput](r, MaxLogoBody)
		if err != nil {
			return err
		}
		return settings.Written(w)(s.SetLogo(r.Context(), web.Caller(r), version, r.PathValue("variant"), in))
	})
	rt.Handle("DELETE", "/company/logos/{variant}", editors, func(w http.ResponseWriter, r *http.Request) error {
		version, err := settings.IfMatch(r)
		if err != nil {
			return err
		}
		return settings.Written(w)(s.RemoveLogo(r.Context(), web.Caller(r), version, r.PathValue("variant")))
	})
}
