package users

import (
	"net/http"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/areas"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/web"
)

var people = web.Allow(principal.HubUser, principal.PartnerUser)

// AuthRoutes are functions/auth's routes: sign-in and everything reached
// from an email link are public; the rest need a session.
func AuthRoutes(rt *web.Router, s *Service) {
	rt.Handle("POST", "/auth/login", web.Public, func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		sess, err := s.SignIn(r.Context(), in.Email, in.Password)
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, sess)
		return nil
	})
	rt.Handle("POST", "/auth/invitations/accept", web.Public, func(w http.ResponseWriter, r *http.Request) error {
		var in AcceptInput
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		sess, err := s.AcceptInvitation(r.Context(), in)
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, sess)
		return nil
	})
	rt.Handle("POST", "/auth/password/forgot", web.Public, func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Email string `json:"email"`
		}
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		if err := s.ForgotPassword(r.Context(), in.Email); err != nil {
			return err
		}
		web.JSON(w, http.StatusAccepted, map[string]string{"status": "if the address belongs to an account, a reset link is on its way"})
		return nil
	})
	rt.Handle("POST", "/auth/password/reset", web.Public, func(w http.ResponseWriter, r *http.Request) error {
		var in ResetInput
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		if err := s.ResetPassword(r.Context(), in); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
	rt.Handle("POST", "/auth/logout", people.EvenPending(), func(w http.ResponseWriter, r *http.Request) error {
		if err := s.SignOut(r.Context(), web.Caller(r)); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
	rt.Handle("GET", "/auth/me", people.EvenPending(), func(w http.ResponseWriter, r *http.Request) error {
		p := web.Caller(r)
		u, err := s.Get(r.Context(), p, p.Subject)
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, map[string]any{
			"user":            u,
			"kind":            p.Kind,
			"plan":            p.Plan,
			"partner_pending": p.PartnerPending,
			"areas":           areas.For(p),
		})
		return nil
	})
}

// UsersRoutes are functions/users' routes: the Users settings area,
// partners included.
func UsersRoutes(rt *web.Router, s *Service) {
	rt.Handle("GET", "/users", people, func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		in := ListInput{Sort: q.Get("sort"), Cursor: q.Get("cursor")}
		switch q.Get("order") {
		case "", "asc":
		case "desc":
			in.Descending = true
		default:
			return apperr.Field("order", "invalid_order", "order is asc or desc")
		}
		var err error
		if in.Limit, err = web.Limit(r, MaxListLimit); err != nil {
			return err
		}
		page, err := s.List(r.Context(), web.Caller(r), in)
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, page)
		return nil
	})
	rt.Handle("POST", "/users", people, func(w http.ResponseWriter, r *http.Request) error {
		var in InviteInput
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		v, err := s.Invite(r.Context(), web.Caller(r), in)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/users/"+v.ID)
		web.JSON(w, http.StatusCreated, v)
		return nil
	})
	rt.Handle("GET", "/users/{id}", people, func(w http.ResponseWriter, r *http.Request) error {
		v, err := s.Get(r.Context(), web.Caller(r), r.PathValue("id"))
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, v)
		return nil
	})
	rt.Handle("DELETE", "/users/{id}", people, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.Delete(r.Context(), web.Caller(r), r.PathValue("id")); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
	rt.Handle("POST", "/users/{id}/invitation", people, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.ResendInvitation(r.Context(), web.Caller(r), r.PathValue("id")); err != nil {
			return err
		}
		web.JSON(w, http.StatusAccepted, map[string]string{"status": "invitation sent"})
		return nil
	})
	rt.Handle("DELETE", "/users/{id}/invitation", people, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.RevokeInvitation(r.Context(), web.Caller(r), r.PathValue("id")); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
	rt.Handle("POST", "/users/{id}/password-reset", people, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.ResetOtherPassword(r.Context(), web.Caller(r), r.PathValue("id")); err != nil {
			return err
		}
		web.JSON(w, http.StatusAccepted, map[string]string{"status": "reset link sent; the user's sessions have ended"})
		return nil
	})
	rt.Handle("GET", "/partners", people, func(w http.ResponseWriter, r *http.Request) error {
		limit, err := web.Limit(r, MaxListLimit)
		if err != nil {
			return err
		}
		page, err := s.ListPartners(r.Context(), web.Caller(r), limit, r.URL.Query().Get("cursor"))
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, page)
		return nil
	})
	rt.Handle("POST", "/partners", people, func(w http.ResponseWriter, r *http.Request) error {
		var in PartnerInput
		if err := web.Decode(r, &in, 0); err != nil {
			return err
		}
		v, err := s.CreatePartner(r.Context(), web.Caller(r), in)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/partners/"+v.ID)
		web.JSON(w, http.StatusCreated, v)
		return nil
	})
	rt.Handle("GET", "/partners/{id}", people, func(w http.ResponseWriter, r *http.Request) error {
		pt, err := s.GetPartner(r.Context(), web.Caller(r), r.PathValue("id"))
		if err != nil {
			return err
		}
		web.JSON(w, http.StatusOK, pt)
		return nil
	})
}
