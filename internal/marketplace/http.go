package marketplace

import (
	"net/http"

	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/web"
)

var (
	hubUsers = web.Allow(principal.HubUser)
	endUsers = web.Allow(principal.EndUser)
)

// Routes are functions/marketplace's routes: the page and the end-user API
// (end-user tokens; the page's route is authorized by the token in its
// tenant query parameter, the API by the Authorization header), and the
// marketplace settings (hub users).
func Routes(rt *web.Router, s *Service) {
	rt.Handle("GET", PagePath, endUsers, func(w http.ResponseWriter, r *http.Request) error {
		page, err := s.Page(r.Context(), web.Caller(r))
		if err != nil {
			return err
		}
		for k, v := range page.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(http.StatusOK)
		_, err = w.Write(page.HTML)
		return err
	})
	rt.Handle("GET", PagePath+"/integrations", endUsers, func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.List(r.Context(), web.Caller(r))
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, c)
		return nil
	})
	rt.Handle("POST", PagePath+"/tenants", endUsers, func(w http.ResponseWriter, r *http.Request) error {
		var in InstallInput
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		l, err := s.Install(r.Context(), web.Caller(r), in)
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusCreated, l)
		return nil
	})
	rt.Handle("PATCH", PagePath+"/tenants/{id}", endUsers, func(w http.ResponseWriter, r *http.Request) error {
		var ifMatch int64
		if r.Header.Get("If-Match") != "" {
			v, err := web.IfMatch(r)
			if err != nil {
				return err
			}
			ifMatch = v
		}
		var in ConfigInput
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		t, version, err := s.Configure(r.Context(), web.Caller(r), r.PathValue("id"), ifMatch, in)
		if err != nil {
			return err
		}
		web.SetETag(w, version)
		web.JSON(w, http.StatusOK, t)
		return nil
	})
	rt.Handle("DELETE", PagePath+"/tenants/{id}", endUsers, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.Uninstall(r.Context(), web.Caller(r), r.PathValue("id")); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})

	rt.Handle("GET", PagePath+"/settings", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		return settings.Written(w)(s.Read(r.Context(), web.Caller(r)))
	})
	rt.Handle("PUT", PagePath+"/settings", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		version, in, err := settings.Versioned[RulesInput](r, 0)
		if err != nil {
			return err
		}
		return settings.Written(w)(s.UpdateRules(r.Context(), web.Caller(r), version, in))
	})
	rt.Handle("POST", PagePath+"/settings/secrets", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		version, err := settings.IfMatch(r)
		if err != nil {
			return err
		}
		var in SecretInput // an empty body takes the default grace period
		if r.ContentLength != 0 {
			if err := web.Decode(r, &in, 0); err != nil {
				return err
			}
		}
		secret, version, err := s.CreateSecret(r.Context(), web.Caller(r), version, in)
		if err != nil {
			return err
		}
		web.SetETag(w, version)
		web.JSON(w, http.StatusCreated, secret)
		return nil
	})
	rt.Handle("DELETE", PagePath+"/settings/secrets/{kid}", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		version, err := settings.IfMatch(r)
		if err != nil {
			return err
		}
		return settings.Written(w)(s.DeleteSecret(r.Context(), web.Caller(r), version, r.PathValue("kid")))
	})
	rt.Handle("POST", PagePath+"/settings/keys", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		version, in, err := settings.Versioned[KeyInput](r, 0)
		if err != nil {
			return err
		}
		doc, version, err := s.AddKey(r.Context(), web.Caller(r), version, in)
		if err != nil {
			return err
		}
		web.SetETag(w, version)
		web.JSON(w, http.StatusCreated, doc)
		return nil
	})
	rt.Handle("DELETE", PagePath+"/settings/keys/{kid}", hubUsers, func(w http.ResponseWriter, r *http.Request) error {
		version, err := settings.IfMatch(r)
		if err != nil {
			return err
		}
		return settings.Written(w)(s.DeleteKey(r.Context(), web.Caller(r), version, r.PathValue("kid")))
	})
}
