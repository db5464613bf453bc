package users_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/integration-hub/hub/internal/authorizer"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
	"github.com/integration-hub/hub/internal/web"
)

// The invitation, password and session lifecycle of the Users area: resend,
// revoke and expiry of invitations, a reset of another user's password,
// sign-out, and a partner user's reach over these actions.

// clock makes the service's clock a fixed instant, on a whole second, and
// returns a function that moves it to start+d.
func (f *fixture) clock() (start time.Time, set func(d time.Duration)) {
	start = time.Now().UTC().Truncate(time.Second)
	now := start
	f.svc.Now = func() time.Time { return now }
	return start, func(d time.Duration) { now = start.Add(d) }
}

// emails are the outbox events of kind addressed to email, oldest first.
func (f *fixture) emails(email string, kind outbox.Kind) []outbox.Event {
	f.t.Helper()
	var out []outbox.Event
	q := storage.Query{PK: keys.OrgPK(f.org), Sort: storage.SortPrefix, From: "EVENT#"}
	for {
		page, err := f.table.Query(context.Background(), q)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, it := range page.Items {
			ev, err := outbox.FromItem(it)
			if err != nil {
				f.t.Fatal(err)
			}
			if ev.Kind == kind && len(ev.To) == 1 && ev.To[0] == email {
				out = append(out, ev)
			}
		}
		if page.Cursor == "" {
			return out
		}
		q.Cursor = page.Cursor
	}
}

// link opens the sealed link of an email's event.
func (f *fixture) link(ev outbox.Event) string {
	f.t.Helper()
	link, err := f.box.Open(ev.Sealed["link"], ev.SealedContext())
	if err != nil {
		f.t.Fatal(err)
	}
	return string(link)
}

// stored reads a user's item as it is in the table, and its version.
func (f *fixture) stored(id string) (users.User, int64) {
	f.t.Helper()
	it, err := f.table.Get(context.Background(), keys.User(f.org, id))
	if err != nil {
		f.t.Fatalf("user %s: %v", id, err)
	}
	u, err := users.FromItem(it)
	if err != nil {
		f.t.Fatal(err)
	}
	return u, it.Version
}

// authorize runs the hub's authorizer on a session token, as API Gateway
// does before every request, and returns the response context it hands to
// the function (through JSON, as API Gateway passes it), with the principal
// it admits or the refusal it carries.
func (f *fixture) authorize(token string) (map[string]any, principal.Principal, principal.Refusal) {
	f.t.Helper()
	a := &authorizer.Authorizer{Table: f.table, Sessions: f.svc.Sessions, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	resp, err := a.Handle(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", RouteKey: "GET /users", Headers: map[string]string{"authorization": "Bearer " + token},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if !resp.IsAuthorized {
		f.t.Fatalf("the authorizer denied instead of handing on a refusal: %+v", resp)
	}
	raw, err := json.Marshal(resp.Context)
	if err != nil {
		f.t.Fatal(err)
	}
	var handed map[string]any
	if err := json.Unmarshal(raw, &handed); err != nil {
		f.t.Fatal(err)
	}
	p, err := principal.FromContext(handed)
	var refused *principal.RefusedError
	if errors.As(err, &refused) {
		return handed, principal.Principal{}, refused.Refusal
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return handed, p, ""
}

// call sends a request with a session to the auth and users functions'
// routes, served by the fixture's service: the authorizer decides the
// session first, and the function answers with what it handed on.
func (f *fixture) call(method, path, session string) events.APIGatewayV2HTTPResponse {
	f.t.Helper()
	rt := web.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	users.AuthRoutes(rt, f.svc)
	users.UsersRoutes(rt, f.svc)
	handed, _, _ := f.authorize(session)
	resp, err := httpadapter.NewV2(rt).ProxyWithContext(context.Background(), events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: path, Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  "lifecycle-test",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: handed},
		},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return resp
}

// problemCode is the code of a response's problem document.
func problemCode(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	var p web.Problem
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Status != resp.StatusCode {
		t.Fatalf("%d without a problem document: %s", resp.StatusCode, resp.Body)
	}
	return p.Code
}

// partnerUser creates a partner organization whose first user has accepted
// the invitation, and returns that user's session.
func (f *fixture) partnerUser(name, email string) users.Session {
	f.t.Helper()
	if _, err := f.svc.CreatePartner(context.Background(), f.admin, users.PartnerInput{Name: name, Mode: "create", FirstUser: &users.InviteInput{Email: email}}); err != nil {
		f.t.Fatal(err)
	}
	return f.accept(email, name+" user")
}

func principalOf(s users.Session) principal.Principal {
	kind := principal.HubUser
	if s.User.Role == users.RolePartnerUser {
		kind = principal.PartnerUser
	}
	return principal.Principal{Kind: kind, Org: s.User.Org, Subject: s.User.ID, Partner: s.User.Partner, Plan: principal.Standard}
}

func TestResendingAnInvitationVoidsTheOldLinkAndSendsAWorkingOne(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	start, set := f.clock()
	v := f.invite(f.admin, "grace@acme.test")
	old := f.linkFor("grace@acme.test")

	set(time.Hour)
	if err := f.svc.ResendInvitation(ctx, f.admin, v.ID); err != nil {
		t.Fatal(err)
	}
	sent := f.emails("grace@acme.test", outbox.Invitation)
	if len(sent) != 2 {
		t.Fatalf("%d invitation emails after a resend, want 2", len(sent))
	}
	var fresh string
	for _, ev := range sent {
		if l := f.link(ev); l != old {
			fresh = l
		}
	}
	if fresh == "" || !strings.HasPrefix(fresh, "https://hub.test/accept-invitation#token=") {
		t.Fatalf("the resent email carries %q, the first one %q", fresh, old)
	}
	listed, err := f.svc.Get(ctx, f.admin, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if listed.Status != users.Invited || listed.InvitedAt == nil || !listed.InvitedAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("after the resend the user shows %s invited at %v, want invited at %v", listed.Status, listed.InvitedAt, start.Add(time.Hour))
	}

	if _, err := f.svc.AcceptInvitation(ctx, users.AcceptInput{Token: tokenOf(t, old), Name: "Grace", Password: password}); code(err) != "invalid_token" {
		t.Fatalf("the link from before the resend: %v, want invalid_token", err)
	}
	sess, err := f.svc.AcceptInvitation(ctx, users.AcceptInput{Token: tokenOf(t, fresh), Name: "Grace", Password: password})
	if err != nil {
		t.Fatalf("the resent link: %v", err)
	}
	if sess.User.ID != v.ID || sess.User.Status != users.Active {
		t.Fatalf("the resent link signed in %+v", sess.User)
	}
	if err := f.svc.ResendInvitation(ctx, f.admin, v.ID); code(err) != "not_invited" {
		t.Fatalf("resend to a user who accepted: %v, want not_invited", err)
	}
	if n := len(f.emails("grace@acme.test", outbox.Invitation)); n != 2 {
		t.Fatalf("a refused resend raised an email: %d invitation emails", n)
	}
}

func TestRevokingAnInvitationVoidsTheLinkAndRemovesTheUser(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	v := f.invite(f.admin, "grace@acme.test")
	link := f.linkFor("grace@acme.test")
	if err := f.svc.RevokeInvitation(ctx, f.admin, v.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AcceptInvitation(ctx, users.AcceptInput{Token: tokenOf(t, link), Name: "Grace", Password: password}); code(err) != "invalid_token" {
		t.Fatalf("a revoked invitation's link: %v, want invalid_token", err)
	}
	for _, sort := range []string{"email", "name"} {
		page, err := f.svc.List(ctx, f.admin, users.ListInput{Sort: sort})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			if u.ID == v.ID || u.Email == "grace@acme.test" {
				t.Fatalf("sorted by %s, the list still shows the revoked user %+v", sort, u)
			}
		}
	}
	if _, err := f.svc.Get(ctx, f.admin, v.ID); code(err) != "user_not_found" {
		t.Fatalf("get a revoked user: %v", err)
	}

	// Only an invitation is revoked: a user who accepted stays.
	f.invite(f.admin, "bob@acme.test")
	bob := f.accept("bob@acme.test", "Bob")
	if err := f.svc.RevokeInvitation(ctx, f.admin, bob.User.ID); code(err) != "not_invited" {
		t.Fatalf("revoke the invitation of a user who accepted: %v, want not_invited", err)
	}
	if _, err := f.svc.Get(ctx, f.admin, bob.User.ID); err != nil {
		t.Fatalf("a refused revoke removed the user: %v", err)
	}
}

// An invitation lasts 7 days by the service's clock: its link works until
// then, and not from then on; the email says when it ends.
func TestAnInvitationExpiresAfterSevenDaysByDefault(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	start, set := f.clock()
	const week = 7 * 24 * time.Hour
	// One fixture serves every case, so the cases are no subtests: the
	// fixture's helpers fail the test that made it.
	for _, tc := range []struct {
		name     string
		email    string
		acceptAt time.Duration
		want     string
	}{
		{"a second before 7 days", "early@acme.test", week - time.Second, ""},
		{"at 7 days", "due@acme.test", week, "invalid_token"},
		{"after 8 days", "late@acme.test", week + 24*time.Hour, "invalid_token"},
	} {
		set(0)
		v := f.invite(f.admin, tc.email)
		sent := f.emails(tc.email, outbox.Invitation)
		if len(sent) != 1 {
			t.Fatalf("%s: %d invitation emails", tc.name, len(sent))
		}
		if got, want := sent[0].Data["expires_at"], start.Add(week).Format(time.RFC1123); got != want {
			t.Fatalf("%s: the email says the invitation expires at %q, want %q", tc.name, got, want)
		}
		set(tc.acceptAt)
		_, err := f.svc.AcceptInvitation(ctx, users.AcceptInput{Token: tokenOf(t, f.link(sent[0])), Name: "Late", Password: password})
		if code(err) != tc.want {
			t.Fatalf("%s: accept %v after the invitation: %v, want %q", tc.name, tc.acceptAt, err, tc.want)
		}
		wantStatus := users.Invited
		if tc.want == "" {
			wantStatus = users.Active
		}
		if u, _ := f.stored(v.ID); u.Status != wantStatus {
			t.Fatalf("%s: after the accept the user is %s, want %s", tc.name, u.Status, wantStatus)
		}
	}
}

func TestResettingAnotherUsersPasswordEmailsThemAndEndsTheirSessions(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	f.invite(f.admin, "bob@acme.test")
	first := f.accept("bob@acme.test", "Bob")
	second, err := f.svc.SignIn(ctx, "bob@acme.test", password)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := f.svc.Get(ctx, f.admin, f.admin.Subject)
	if err != nil {
		t.Fatal(err)
	}
	adminSession, err := f.svc.SignIn(ctx, admin.Email, password)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []users.Session{first, second, adminSession} {
		if _, p, r := f.authorize(s.Token); r != "" || p.Subject != s.User.ID {
			t.Fatalf("before the reset, %s's session: %v %v", s.User.Email, p, r)
		}
	}
	claims, err := f.svc.Sessions.Verify(first.Token)
	if err != nil {
		t.Fatal(err)
	}

	if err := f.svc.ResetOtherPassword(ctx, f.admin, first.User.ID); err != nil {
		t.Fatal(err)
	}
	sent := f.emails("bob@acme.test", outbox.PasswordResetRequested)
	if len(sent) != 1 {
		t.Fatalf("%d reset emails to the user, want 1", len(sent))
	}
	link := f.link(sent[0])
	if !strings.HasPrefix(link, "https://hub.test/reset-password#token=") {
		t.Fatalf("reset email link %q", link)
	}
	if n := len(f.emails(admin.Email, outbox.PasswordResetRequested)); n != 0 {
		t.Fatalf("the user who reset another's password got %d reset emails", n)
	}
	if u, _ := f.stored(first.User.ID); u.TokenVersion == claims.TokenVersion {
		t.Fatalf("the token version is still %d: the user's sessions would still pass", u.TokenVersion)
	}
	for _, s := range []users.Session{first, second} {
		if _, p, r := f.authorize(s.Token); r != principal.RefusedEnded {
			t.Fatalf("after the reset, a session of the user: %v %q, want refused %q", p, r, principal.RefusedEnded)
		}
	}
	if _, p, r := f.authorize(adminSession.Token); r != "" || p.Subject != f.admin.Subject {
		t.Fatalf("the session of the user who reset another's password ended: %v %q", p, r)
	}
	if _, err := f.svc.SignIn(ctx, "bob@acme.test", password); code(err) != "invalid_credentials" {
		t.Fatalf("the old password after the reset: %v, want invalid_credentials", err)
	}
	if err := f.svc.ResetPassword(ctx, users.ResetInput{Token: tokenOf(t, link), Password: "a brand new passphrase"}); err != nil {
		t.Fatalf("the reset link: %v", err)
	}
	if _, err := f.svc.SignIn(ctx, "bob@acme.test", "a brand new passphrase"); err != nil {
		t.Fatalf("sign in with the new password: %v", err)
	}

	// Refused resets raise no email and end no session.
	invited := f.invite(f.admin, "invited@acme.test")
	if err := f.svc.ResetOtherPassword(ctx, f.admin, invited.ID); code(err) != "not_active" {
		t.Fatalf("reset the password of an invited user: %v, want not_active", err)
	}
	if err := f.svc.ResetOtherPassword(ctx, f.admin, f.admin.Subject); code(err) != "own_password" {
		t.Fatalf("reset one's own password as another user's: %v, want own_password", err)
	}
	for _, email := range []string{admin.Email, "invited@acme.test"} {
		if n := len(f.emails(email, outbox.PasswordResetRequested)); n != 0 {
			t.Fatalf("a refused reset emailed %s", email)
		}
	}
	if _, _, r := f.authorize(adminSession.Token); r != "" {
		t.Fatalf("a refused reset of one's own password ended the session: %q", r)
	}
}

func TestSigningOutEndsTheSession(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	f.invite(f.admin, "bob@acme.test")
	session := f.accept("bob@acme.test", "Bob")
	other, err := f.svc.SignIn(ctx, "bob@acme.test", password)
	if err != nil {
		t.Fatal(err)
	}
	if resp := f.call("POST", "/auth/logout", session.Token); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /auth/logout: %d %s", resp.StatusCode, resp.Body)
	}
	// A sign-out raises the user's token version, which ends every session
	// of the user issued before it.
	for name, s := range map[string]users.Session{"the signed-out session": session, "another session of the user": other} {
		if _, p, r := f.authorize(s.Token); r != principal.RefusedEnded {
			t.Fatalf("%s after sign-out: %v %q, want refused %q", name, p, r, principal.RefusedEnded)
		}
	}
	resp := f.call("POST", "/auth/logout", session.Token)
	if resp.StatusCode != http.StatusUnauthorized || problemCode(t, resp) != "session_ended" {
		t.Fatalf("the signed-out session used again: %d %s, want 401 session_ended", resp.StatusCode, resp.Body)
	}
	again, err := f.svc.SignIn(ctx, "bob@acme.test", password)
	if err != nil {
		t.Fatal(err)
	}
	if _, p, r := f.authorize(again.Token); r != "" || p.Subject != session.User.ID {
		t.Fatalf("a sign-in after the sign-out: %v %q", p, r)
	}
}

// A partner user reaches only the users of their own partner organization:
// resending, revoking or resetting for a user of the organization or of
// another partner answers 404 user_not_found (as for a user who does not
// exist: the answer does not say the user is there) and changes nothing.
// The same actions on their own partner's users go through.
func TestPartnerUsersCannotResendRevokeOrResetOutsideTheirPartner(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	one := f.partnerUser("Partner One", "one@p1.test")
	two := f.partnerUser("Partner Two", "two@p2.test")
	pu1, pu2 := principalOf(one), principalOf(two)
	admin, err := f.svc.Get(context.Background(), f.admin, f.admin.Subject)
	if err != nil {
		t.Fatal(err)
	}

	orgInvited := f.invite(f.admin, "invited@acme.test")
	f.invite(f.admin, "active@acme.test")
	orgActive := f.accept("active@acme.test", "Active")
	otherInvited := f.invite(pu2, "invited@p2.test")
	ownInvited := f.invite(pu1, "invited@p1.test")
	f.invite(pu1, "active@p1.test")
	ownActive := f.accept("active@p1.test", "Colleague")

	type target struct{ id, email string }
	// One fixture serves every case, so the cases are no subtests: the
	// fixture's helpers fail the test that made it.
	for _, tc := range []struct {
		name, method, action string
		of                   target
		want                 int
	}{
		{"resend to an invited user of the organization", "POST", "invitation", target{orgInvited.ID, orgInvited.Email}, http.StatusNotFound},
		{"resend to an invited user of another partner", "POST", "invitation", target{otherInvited.ID, otherInvited.Email}, http.StatusNotFound},
		{"revoke an invited user of the organization", "DELETE", "invitation", target{orgInvited.ID, orgInvited.Email}, http.StatusNotFound},
		{"revoke an invited user of another partner", "DELETE", "invitation", target{otherInvited.ID, otherInvited.Email}, http.StatusNotFound},
		{"reset the password of a user of the organization", "POST", "password-reset", target{orgActive.User.ID, orgActive.User.Email}, http.StatusNotFound},
		{"reset the password of the organization's primary administrator", "POST", "password-reset", target{admin.ID, admin.Email}, http.StatusNotFound},
		{"reset the password of another partner's user", "POST", "password-reset", target{two.User.ID, two.User.Email}, http.StatusNotFound},
		{"resend to an invited user of their own partner", "POST", "invitation", target{ownInvited.ID, ownInvited.Email}, http.StatusAccepted},
		{"reset the password of a user of their own partner", "POST", "password-reset", target{ownActive.User.ID, ownActive.User.Email}, http.StatusAccepted},
		{"revoke an invited user of their own partner", "DELETE", "invitation", target{ownInvited.ID, ownInvited.Email}, http.StatusNoContent},
	} {
		_, versionBefore := f.stored(tc.of.id)
		emailsBefore := len(f.emails(tc.of.email, outbox.Invitation)) + len(f.emails(tc.of.email, outbox.PasswordResetRequested))
		resp := f.call(tc.method, "/users/"+tc.of.id+"/"+tc.action, one.Token)
		if resp.StatusCode != tc.want {
			t.Fatalf("%s: %s /users/{id}/%s by a partner user: %d %s, want %d", tc.name, tc.method, tc.action, resp.StatusCode, resp.Body, tc.want)
		}
		if tc.want != http.StatusNotFound {
			continue
		}
		if c := problemCode(t, resp); c != "user_not_found" {
			t.Fatalf("%s: answered %s, want user_not_found", tc.name, c)
		}
		if _, version := f.stored(tc.of.id); version != versionBefore {
			t.Fatalf("%s: the user's item went from version %d to %d", tc.name, versionBefore, version)
		}
		if n := len(f.emails(tc.of.email, outbox.Invitation)) + len(f.emails(tc.of.email, outbox.PasswordResetRequested)); n != emailsBefore {
			t.Fatalf("%s: %d emails to the user, %d before", tc.name, n, emailsBefore)
		}
	}
	// Partner two's user, whose password partner one tried to reset, and
	// the organization's, are still signed in.
	for _, s := range []users.Session{two, orgActive} {
		if _, _, r := f.authorize(s.Token); r != "" {
			t.Fatalf("%s's session ended: %q", s.User.Email, r)
		}
	}
}
