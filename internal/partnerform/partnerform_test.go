package partnerform_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/partnerform"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings/settingstest"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestSubmittingTheFormActivatesThePartnerAndAllItsUsersAtOnce(t *testing.T) {
	for _, backend := range []struct {
		name  string
		table func(*testing.T) storage.Table
	}{
		{"embedded", settingstest.Embedded},
		{"dynamodb-local", settingstest.DynamoDB},
	} {
		t.Run(backend.name, func(t *testing.T) {
			h := settingstest.New(t, backend.table(t))
			ctx := context.Background()
			org := h.NewOrg(principal.Standard)
			pending := h.Partner(org, "Invited Partner", "first@partner.test", true)
			colleague, err := h.Users.Invite(ctx, org.Admin, users.InviteInput{Email: "second@partner.test", PartnerID: pending.Partner})
			if err != nil {
				t.Fatal(err)
			}
			other := h.Partner(org, "Other Invited Partner", "other@partner.test", true)

			form := h.Serve("partner-form", settingstest.Request{Method: "PUT", Path: "/partner-form", Caller: org.Admin, IfMatch: `"v0"`,
				Body: `{"questions":[{"type":"url","label":"Website","required":true},{"type":"multiple_choice","label":"Markets","options":["EU","US"]}],"terms_url":"https://acme.test/partner-terms"}`})
			if form.Status != 200 {
				t.Fatalf("PUT /partner-form: %d %s", form.Status, form.Body)
			}
			var read struct {
				Questions []struct{ ID string }
				TermsURL  string `json:"terms_url"`
			}
			resp := h.Serve("partner-form", settingstest.Request{Method: "GET", Path: "/partner-form", Caller: pending})
			resp.Decode(t, &read)
			if resp.Status != 200 || len(read.Questions) != 2 || read.TermsURL != "https://acme.test/partner-terms" {
				t.Fatalf("the pending partner reads %d %s", resp.Status, resp.Body)
			}
			website, markets := read.Questions[0].ID, read.Questions[1].ID

			submit := func(p principal.Principal, body string) settingstest.Response {
				return h.Serve("partner-form", settingstest.Request{Method: "POST", Path: "/partner-form/answers", Caller: p, Body: body})
			}
			refusals := []struct {
				name, body  string
				code, field string
			}{
				{"terms not accepted", `{"answers":{"` + website + `":"https://partner.test"}}`, "terms_not_accepted", "accept_terms"},
				{"required answer missing", `{"answers":{},"accept_terms":true}`, "answer_required", "answers." + website},
				{"not an option", `{"answers":{"` + website + `":"https://partner.test","` + markets + `":["APAC"]},"accept_terms":true}`, "invalid_option", "answers." + markets},
			}
			for _, r := range refusals {
				if resp := submit(pending, r.body); resp.Status != 400 || resp.Problem.Code != r.code || resp.Problem.Field != r.field {
					t.Fatalf("%s: %d %s", r.name, resp.Status, resp.Body)
				}
			}
			if evs := submitted(h, org.ID); len(evs) != 0 {
				t.Fatalf("a refused submission raised %d events", len(evs))
			}

			resp = submit(pending, `{"answers":{"`+website+`":"https://partner.test","`+markets+`":["EU"]},"accept_terms":true}`)
			var sub partnerform.Submission
			resp.Decode(t, &sub)
			if resp.Status != 201 || resp.Header.Get("Location") != "/partner-form/answers/"+pending.Partner ||
				sub.Partner != pending.Partner || sub.TermsURL != "https://acme.test/partner-terms" || len(sub.Answers) != 2 ||
				sub.Answers[0].Question.Label != "Website" || sub.FormVersion != 1 {
				t.Fatalf("submit: %d %s", resp.Status, resp.Body)
			}

			pt := partnerOf(t, h, org.ID, pending.Partner)
			if pt.Status != users.PartnerActive {
				t.Fatalf("partner status %s after the submission", pt.Status)
			}
			for _, id := range []string{pending.Subject, colleague.ID} {
				for _, k := range []storage.Key{keys.User(org.ID, id), keys.Member(org.ID, pending.Partner, id)} {
					if u := userAt(t, h, k); u.PartnerPending {
						t.Fatalf("%s is still pending after the submission", k)
					}
				}
			}
			if u := userAt(t, h, keys.User(org.ID, other.Subject)); !u.PartnerPending {
				t.Fatal("another partner's user was activated")
			}
			// The colleague's first invitation was bound to the version the
			// submission moved on; the fresh one it sent signs them in active.
			if s := h.Accept(org.ID, colleague.Email); s.User.Status != users.Active {
				t.Fatalf("colleague after accepting the fresh invitation: %+v", s.User)
			}
			if u := userAt(t, h, keys.User(org.ID, colleague.ID)); u.PartnerPending || u.Status != users.Active {
				t.Fatalf("colleague %+v", u)
			}
			evs := submitted(h, org.ID)
			if len(evs) != 1 || evs[0].Data["partner_id"] != pending.Partner || evs[0].Data["submitted_by"] != "first@partner.test" || len(evs[0].To) != 0 {
				t.Fatalf("partner_form.submitted events: %+v", evs)
			}

			// The partner's users are no longer pending; a second submission
			// conflicts whoever sends it.
			active := pending
			active.PartnerPending = false
			for _, p := range []principal.Principal{pending, active} {
				if resp := submit(p, `{"answers":{"`+website+`":"https://partner.test"},"accept_terms":true}`); resp.Status != 409 || resp.Problem.Code != "already_submitted" {
					t.Fatalf("second submission: %d %s", resp.Status, resp.Body)
				}
			}
			if evs := submitted(h, org.ID); len(evs) != 1 {
				t.Fatalf("%d partner_form.submitted events after a refused second submission", len(evs))
			}

			resp = h.Serve("partner-form", settingstest.Request{Method: "GET", Path: "/partner-form/answers/" + pending.Partner, Caller: org.Admin})
			if resp.Status != 200 || !strings.Contains(resp.Body, "https://partner.test") {
				t.Fatalf("hub reads the answers: %d %s", resp.Status, resp.Body)
			}
			if resp = h.Serve("partner-form", settingstest.Request{Method: "GET", Path: "/partner-form/answers/" + other.Partner, Caller: org.Admin}); resp.Status != 404 || resp.Problem.Code != "answers_not_found" {
				t.Fatalf("answers of a partner that has not submitted: %d %s", resp.Status, resp.Body)
			}
			var page partnerform.Page
			resp = h.Serve("partner-form", settingstest.Request{Method: "GET", Path: "/partner-form/answers?limit=10", Caller: org.Admin})
			resp.Decode(t, &page)
			if resp.Status != 200 || len(page.Answers) != 1 || page.Answers[0].Partner != pending.Partner {
				t.Fatalf("list: %d %s", resp.Status, resp.Body)
			}
		})
	}
}

func TestAFormWithoutQuestionsStillActivatesAnInvitedPartner(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	org := h.NewOrg(principal.Standard)
	pending := h.Partner(org, "Invited Partner", "first@partner.test", true)
	resp := h.Serve("partner-form", settingstest.Request{Method: "POST", Path: "/partner-form/answers", Caller: pending, Body: `{"answers":{}}`})
	if resp.Status != 201 {
		t.Fatalf("submit an empty form: %d %s", resp.Status, resp.Body)
	}
	if pt := partnerOf(t, h, org.ID, pending.Partner); pt.Status != users.PartnerActive {
		t.Fatalf("partner status %s", pt.Status)
	}
}

// A partner with more users than one GetMany reads (the partner, form,
// answers and organization share the first) is read in several, and then
// refused as too many to activate in one write, not failed.
func TestAPartnerWithMoreUsersThanOneReadIsRefusedAsTooMany(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	ctx := context.Background()
	org := h.NewOrg(principal.Standard)
	pending := h.Partner(org, "Large Partner", "user0@partner.test", true)
	for i := 1; i < storage.MaxGetKeys; i++ {
		if _, err := h.Users.Invite(ctx, org.Admin, users.InviteInput{Email: fmt.Sprintf("user%d@partner.test", i), PartnerID: pending.Partner}); err != nil {
			t.Fatal(err)
		}
	}
	resp := h.Serve("partner-form", settingstest.Request{Method: "POST", Path: "/partner-form/answers", Caller: pending, Body: `{"answers":{}}`})
	if resp.Status != 409 || resp.Problem.Code != "too_many_partner_users" {
		t.Fatalf("submit for %d users: %d %s", storage.MaxGetKeys, resp.Status, resp.Body)
	}
	if pt := partnerOf(t, h, org.ID, pending.Partner); pt.Status != users.PartnerPending {
		t.Fatalf("partner status %s after a refused submission", pt.Status)
	}
}

func TestTheFormsTermsMustBeAnHTTPSURL(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	org := h.NewOrg(principal.Standard)
	for _, terms := range []string{"http://acme.test/terms", "https://user:pw@acme.test/terms", "/terms", "https://acme.test/terms#part-2"} {
		resp := h.Serve("partner-form", settingstest.Request{Method: "PUT", Path: "/partner-form", Caller: org.Admin, IfMatch: `"v0"`,
			Body: `{"questions":[],"terms_url":"` + terms + `"}`})
		if resp.Status != 400 || resp.Problem.Field != "terms_url" {
			t.Errorf("terms %s: %d %s", terms, resp.Status, resp.Body)
		}
	}
}

func submitted(h *settingstest.Hub, org string) []outbox.Event {
	var out []outbox.Event
	for _, ev := range h.Events(org) {
		if ev.Kind == outbox.PartnerFormSubmitted {
			out = append(out, ev)
		}
	}
	return out
}

func partnerOf(t *testing.T, h *settingstest.Hub, org, partner string) users.Partner {
	t.Helper()
	it, err := h.Table.Get(context.Background(), keys.Partner(org, partner))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := users.PartnerFromItem(it)
	if err != nil {
		t.Fatal(err)
	}
	return pt
}

func userAt(t *testing.T, h *settingstest.Hub, k storage.Key) users.User {
	t.Helper()
	it, err := h.Table.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	u, err := users.FromItem(it)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
