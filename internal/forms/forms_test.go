package forms_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/forms"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/settings/settingstest"
)

func sampleForm() forms.Form {
	return forms.Form{Questions: []forms.Question{
		{ID: "name", Type: forms.Text, Label: "Product name", Required: true},
		{ID: "about", Type: forms.LongText, Label: "What does it do?"},
		{ID: "tier", Type: forms.SingleChoice, Label: "Tier", Options: []string{"Free", "Paid"}},
		{ID: "regions", Type: forms.MultipleChoice, Label: "Regions", Options: []string{"EU", "US", "APAC"}},
		{ID: "gdpr", Type: forms.Checkbox, Label: "GDPR compliant", Required: true},
		{ID: "beta", Type: forms.Checkbox, Label: "Beta"},
		{ID: "docs", Type: forms.URL, Label: "Documentation"},
		{ID: "support", Type: forms.Email, Label: "Support address"},
	}}
}

func answers(t *testing.T, s string) forms.AnswersInput {
	t.Helper()
	var in forms.AnswersInput
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestValidateAnswers(t *testing.T) {
	const base = `"name":"Widget","gdpr":true`
	cases := []struct {
		name, answers string
		code, field   string
	}{
		{"required only", `{` + base + `}`, "", ""},
		{"everything", `{` + base + `,"about":"Line one\nLine two","tier":"Paid","regions":["EU","US"],"beta":false,"docs":"https://docs.acme.test/widget#setup","support":" Help@Acme.test "}`, "", ""},
		{"optional nulls and blanks", `{` + base + `,"about":"  ","tier":null,"regions":[],"docs":""}`, "", ""},
		{"required text missing", `{"gdpr":true}`, "answer_required", "answers.name"},
		{"required text blank", `{"name":"   ","gdpr":true}`, "answer_required", "answers.name"},
		{"required checkbox unchecked", `{"name":"Widget","gdpr":false}`, "answer_required", "answers.gdpr"},
		{"unknown question", `{` + base + `,"color":"red"}`, "unknown_question", "answers.color"},
		{"text of the wrong type", `{"name":42,"gdpr":true}`, "wrong_type", "answers.name"},
		{"checkbox of the wrong type", `{"name":"Widget","gdpr":"yes"}`, "wrong_type", "answers.gdpr"},
		{"choices of the wrong type", `{` + base + `,"regions":"EU"}`, "wrong_type", "answers.regions"},
		{"text too long", `{"name":"` + strings.Repeat("x", forms.MaxTextLength+1) + `","gdpr":true}`, "invalid_length", "answers.name"},
		{"text on two lines", `{"name":"Wid\nget","gdpr":true}`, "control_characters", "answers.name"},
		{"long text too long", `{` + base + `,"about":"` + strings.Repeat("x", forms.MaxLongTextLength+1) + `"}`, "invalid_length", "answers.about"},
		{"not an option", `{` + base + `,"tier":"Enterprise"}`, "invalid_option", "answers.tier"},
		{"option in another case", `{` + base + `,"tier":"paid"}`, "invalid_option", "answers.tier"},
		{"not among the options", `{` + base + `,"regions":["EU","Mars"]}`, "invalid_option", "answers.regions"},
		{"an option twice", `{` + base + `,"regions":["EU","EU"]}`, "duplicate_option", "answers.regions"},
		{"not a url", `{` + base + `,"docs":"docs.acme.test"}`, "invalid_url", "answers.docs"},
		{"javascript url", `{` + base + `,"docs":"javascript:alert(1)"}`, "invalid_url", "answers.docs"},
		{"not an email", `{` + base + `,"support":"help at acme"}`, "invalid_email", "answers.support"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := forms.ValidateAnswers(sampleForm(), answers(t, tc.answers))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.Invalid || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("err = %v, want %s on %s", err, tc.code, tc.field)
			}
		})
	}
}

func TestAnswersAreStoredInFormOrderWithTheirQuestion(t *testing.T) {
	got, err := forms.ValidateAnswers(sampleForm(), answers(t, `{"support":" Help@Acme.test ","gdpr":true,"name":" Widget ","regions":["US"],"beta":false,"about":""}`))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range got {
		ids = append(ids, a.Question.ID)
	}
	if strings.Join(ids, ",") != "name,regions,gdpr,beta,support" {
		t.Fatalf("stored answers %v", ids)
	}
	if got[0].Text != "Widget" || got[0].Question.Label != "Product name" || got[1].Choices[0] != "US" ||
		*got[2].Checked != true || *got[3].Checked != false || got[4].Text != "help@acme.test" {
		t.Fatalf("stored %+v", got)
	}
}

func TestRevisionKeepsIDsAndAnswersKeepTheQuestionAsAsked(t *testing.T) {
	first, err := forms.Revise(nil, []forms.QuestionInput{
		{Type: forms.Text, Label: "Product name", Required: true},
		{Type: forms.SingleChoice, Label: "Tier", Options: []string{"Free", "Paid"}},
		{Type: forms.URL, Label: "Documentation"},
	})
	if err != nil {
		t.Fatal(err)
	}
	name, tier, docs := first[0], first[1], first[2]
	if name.ID == "" || tier.ID == "" || name.ID == tier.ID {
		t.Fatalf("ids %q %q", name.ID, tier.ID)
	}
	given, err := forms.ValidateAnswers(forms.Form{Questions: first}, forms.AnswersInput{
		name.ID: json.RawMessage(`"Widget"`), tier.ID: json.RawMessage(`"Paid"`),
	})
	if err != nil {
		t.Fatal(err)
	}

	// Reorder, rename the name question, change the tier's options, remove
	// the documentation question, add one.
	second, err := forms.Revise(first, []forms.QuestionInput{
		{ID: tier.ID, Type: forms.SingleChoice, Label: "Pricing tier", Options: []string{"Free", "Pro"}},
		{ID: name.ID, Type: forms.Text, Label: "Name of the product", Required: true},
		{Type: forms.Email, Label: "Support address"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if second[0].ID != tier.ID || second[1].ID != name.ID || second[2].ID == "" || second[2].ID == docs.ID {
		t.Fatalf("revision ids: %+v", second)
	}
	if given[0].Question.Label != "Product name" || given[1].Question.Label != "Tier" || given[1].Text != "Paid" ||
		strings.Join(given[1].Question.Options, ",") != "Free,Paid" {
		t.Fatalf("an earlier answer changed with the form: %+v", given)
	}

	cases := []struct {
		name        string
		in          []forms.QuestionInput
		code, field string
	}{
		{"nil", nil, "required", "questions"},
		{"id of a removed question", []forms.QuestionInput{{ID: docs.ID, Type: forms.URL, Label: "Docs"}}, "unknown_question", "questions[0].id"},
		{"id twice", []forms.QuestionInput{{ID: name.ID, Type: forms.Text, Label: "A"}, {ID: name.ID, Type: forms.Text, Label: "B"}}, "duplicate_question", "questions[1].id"},
		{"no type", []forms.QuestionInput{{Label: "A"}}, "required", "questions[0].type"},
		{"unknown type", []forms.QuestionInput{{Type: "date", Label: "A"}}, "invalid_type", "questions[0].type"},
		{"no label", []forms.QuestionInput{{Type: forms.Text, Label: " "}}, "invalid_length", "questions[0].label"},
		{"label too long", []forms.QuestionInput{{Type: forms.Text, Label: strings.Repeat("x", forms.MaxLabelLength+1)}}, "invalid_length", "questions[0].label"},
		{"help too long", []forms.QuestionInput{{Type: forms.Text, Label: "A", Help: strings.Repeat("x", forms.MaxHelpLength+1)}}, "invalid_length", "questions[0].help"},
		{"choice without options", []forms.QuestionInput{{Type: forms.MultipleChoice, Label: "A"}}, "invalid_options", "questions[0].options"},
		{"blank option", []forms.QuestionInput{{Type: forms.SingleChoice, Label: "A", Options: []string{"x", " "}}}, "invalid_length", "questions[0].options[1]"},
		{"option twice", []forms.QuestionInput{{Type: forms.SingleChoice, Label: "A", Options: []string{"Yes", "yes"}}}, "duplicate_option", "questions[0].options[1]"},
		{"options on a text", []forms.QuestionInput{{Type: forms.Text, Label: "A", Options: []string{"x"}}}, "options_not_allowed", "questions[0].options"},
		{"too many questions", make([]forms.QuestionInput, forms.MaxQuestions+1), "too_many_questions", "questions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := forms.Revise(second, tc.in)
			e, ok := apperr.As(err)
			if !ok || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("err = %v, want %s on %s", err, tc.code, tc.field)
			}
		})
	}
}

func TestIntegrationFormArea(t *testing.T) {
	h := settingstest.New(t, settingstest.Embedded(t))
	org := h.NewOrg(principal.Standard)
	serve := func(method, ifMatch, body string) settingstest.Response {
		return h.Serve("integration-form", settingstest.Request{Method: method, Path: "/integration-form", Caller: org.Admin, IfMatch: ifMatch, Body: body})
	}
	resp := serve("GET", "", "")
	if resp.Status != 200 || resp.Header.Get("ETag") != `"v0"` || !strings.Contains(resp.Body, `"questions":[]`) {
		t.Fatalf("GET before any write: %d %s %s", resp.Status, resp.Header.Get("ETag"), resp.Body)
	}
	if resp = serve("PUT", "", `{"questions":[]}`); resp.Status != 428 {
		t.Fatalf("PUT without If-Match: %d", resp.Status)
	}
	if resp = serve("PUT", `"v0"`, `{"questions":[{"type":"url","label":"Docs"}],"terms_url":"https://acme.test/terms"}`); resp.Status != 400 || resp.Problem.Field != "terms_url" {
		t.Fatalf("terms on the Integration Form: %d %s", resp.Status, resp.Body)
	}
	resp = serve("PUT", `"v0"`, `{"questions":[{"type":"url","label":"Docs","required":true}]}`)
	var doc forms.Document
	resp.Decode(t, &doc)
	if resp.Status != 200 || resp.Header.Get("ETag") != `"v1"` || len(doc.Questions) != 1 || doc.Questions[0].ID == "" || doc.UpdatedBy != org.Admin.Subject {
		t.Fatalf("first PUT: %d %s %s", resp.Status, resp.Header.Get("ETag"), resp.Body)
	}
	if resp = serve("PUT", `"v0"`, `{"questions":[]}`); resp.Status != 412 || resp.Problem.Code != "stale_version" {
		t.Fatalf("second PUT from v0: %d %s", resp.Status, resp.Body)
	}
	stored, version, err := forms.LoadIntegrationForm(t.Context(), h.Table, org.ID)
	if err != nil || version != 1 || stored.Questions[0].ID != doc.Questions[0].ID {
		t.Fatalf("LoadIntegrationForm = %+v, %d, %v", stored, version, err)
	}
	if _, err := forms.ValidateAnswers(stored.Form, forms.AnswersInput{}); err == nil {
		t.Fatal("a required question went unanswered")
	}
}
