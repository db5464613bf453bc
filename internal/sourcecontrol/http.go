package sourcecontrol

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/web"
)

// people are hub users and partner users; the router already refuses
// partner users whose Partner Form is pending.
var people = web.Allow(principal.HubUser, principal.PartnerUser)

// Routes are functions/source-control's routes.
func Routes(rt *web.Router, s *Service) {
	rt.Handle("GET", "/source-control", people, func(w http.ResponseWriter, r *http.Request) error {
		v, version, err := s.Status(r.Context(), web.Caller(r))
		if err != nil {
			return err
		}
		if version > 0 {
			web.SetETag(w, version)
		}
		web.JSON(w, http.StatusOK, v)
		return nil
	})
	rt.Handle("POST", "/source-control/connect", people, func(w http.ResponseWriter, r *http.Request) error {
		var in ConnectInput
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		var apiDomain string
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
			apiDomain = rc.DomainName
		}
		a, err := s.Connect(r.Context(), web.Caller(r), in, apiDomain)
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, a)
		return nil
	})
	rt.Handle("GET", CallbackPath, web.Public, func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		provider, err := s.Callback(r.Context(), CallbackInput{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error")})
		code := ""
		if err != nil {
			code = logCallbackFailure(r, provider, err)
		}
		w.Header().Set("Location", s.Landing(provider, code))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.WriteHeader(http.StatusSeeOther)
		return nil
	})
	rt.Handle("DELETE", "/source-control", people, func(w http.ResponseWriter, r *http.Request) error {
		version, err := web.IfMatch(r)
		if err != nil {
			return err
		}
		if err := s.Disconnect(r.Context(), web.Caller(r), version); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
}

// logCallbackFailure logs why a callback failed (never its code or state)
// and returns the error code for the front end.
func logCallbackFailure(r *http.Request, provider ProviderID, err error) string {
	code := CodeServer
	var ce *CallbackError
	if errors.As(err, &ce) {
		code = ce.Code
	}
	attrs := []any{slog.String("provider", string(provider)), slog.String("code", code), slog.String("error", err.Error())}
	switch code {
	case CodeServer:
		web.Logger(r).ErrorContext(r.Context(), "source control callback failed", attrs...)
	case CodeProviderUnavailable:
		web.Logger(r).WarnContext(r.Context(), "source control provider unavailable", attrs...)
	default:
		web.Logger(r).InfoContext(r.Context(), "source control callback refused", attrs...)
	}
	return code
}
