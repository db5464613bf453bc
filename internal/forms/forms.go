// Package forms holds the custom forms of an organization: the question
// model both forms share (the Integration Form, answered for each
// integration, and the Partner Form, answered once per partner
// organization), the revision of a form's questions, and the validation of
// answers.
//
// Questions have stable ids: the server makes one when a question is
// added and a revision keeps it. An answer stores a copy of its question as
// it was asked, so reordering, editing or removing questions never loses or
// changes an answer already given.
//
// This package also serves the Integration Form area (IntegrationRoutes).
package forms

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/fields"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/users"
)

// Type is the kind of answer a question asks for.
type Type string

const (
	Text           Type = "text"            // one line
	LongText       Type = "long_text"       // several lines
	SingleChoice   Type = "single_choice"   // one of the options
	MultipleChoice Type = "multiple_choice" // any of the options
	Checkbox       Type = "checkbox"        // yes or no
	URL            Type = "url"             // an http or https URL
	Email          Type = "email"           // an email address
)

// Limits of a form and of its answers.
const (
	MaxQuestions      = 50
	MaxLabelLength    = 200
	MaxHelpLength     = 1000
	MaxOptions        = 50
	MaxOptionLength   = 200
	MaxTextLength     = 1000
	MaxLongTextLength = 10000
)

// Question is one question of a form.
type Question struct {
	ID       string   `json:"id"`
	Type     Type     `json:"type"`
	Label    string   `json:"label"`
	Help     string   `json:"help,omitempty"`
	Required bool     `json:"required"`
	Options  []string `json:"options,omitempty"`
}

// Form is a form's questions, in the order they are asked. TermsURL is the
// Partner Form's terms and conditions, which a partner must accept when it
// is set.
type Form struct {
	Questions []Question `json:"questions"`
	TermsURL  string     `json:"terms_url,omitempty"`
}

// QuestionInput is a question as an editor sends it: without an id for a
// new question, with its id for one the form already has.
type QuestionInput struct {
	ID       string   `json:"id,omitempty"`
	Type     Type     `json:"type"`
	Label    string   `json:"label"`
	Help     string   `json:"help,omitempty"`
	Required bool     `json:"required"`
	Options  []string `json:"options,omitempty"`
}

// Revise returns the questions that replace current's: in the order given,
// with a fresh id for each question without one. An id must be one of
// current's questions; a question of current not given is removed.
// Answers already given keep their own copy of each question.
func Revise(current []Question, in []QuestionInput) ([]Question, error) {
	if in == nil {
		return nil, apperr.Field("questions", "required", "questions lists the form's questions, [] for none")
	}
	if len(in) > MaxQuestions {
		return nil, apperr.Field("questions", "too_many_questions", "a form has at most %d questions", MaxQuestions)
	}
	known := make(map[string]bool, len(current))
	for _, q := range current {
		known[q.ID] = true
	}
	seen := make(map[string]bool, len(in))
	out := make([]Question, 0, len(in))
	for i, qi := range in {
		field := fmt.Sprintf("questions[%d]", i)
		q, err := qi.validate(field)
		if err != nil {
			return nil, err
		}
		switch {
		case q.ID == "":
			q.ID = ids.New()
		case !known[q.ID]:
			return nil, apperr.Field(field+".id", "unknown_question", "the form has no question %q; leave id out for a new question", q.ID)
		case seen[q.ID]:
			return nil, apperr.Field(field+".id", "duplicate_question", "question %q is listed twice", q.ID)
		}
		seen[q.ID] = true
		out = append(out, q)
	}
	return out, nil
}

func (qi QuestionInput) validate(field string) (Question, error) {
	q := Question{ID: strings.TrimSpace(qi.ID), Type: qi.Type, Required: qi.Required}
	var err error
	if q.Label, err = fields.Line(field+".label", qi.Label, 1, MaxLabelLength); err != nil {
		return Question{}, err
	}
	if q.Help, err = fields.Paragraph(field+".help", qi.Help, MaxHelpLength); err != nil {
		return Question{}, err
	}
	switch qi.Type {
	case SingleChoice, MultipleChoice:
		if len(qi.Options) == 0 || len(qi.Options) > MaxOptions {
			return Question{}, apperr.Field(field+".options", "invalid_options", "a choice has 1 to %d options", MaxOptions)
		}
		seen := make(map[string]bool, len(qi.Options))
		for j, o := range qi.Options {
			opt, err := fields.Line(fmt.Sprintf("%s.options[%d]", field, j), o, 1, MaxOptionLength)
			if err != nil {
				return Question{}, err
			}
			if seen[strings.ToLower(opt)] {
				return Question{}, apperr.Field(fmt.Sprintf("%s.options[%d]", field, j), "duplicate_option", "option %q is listed twice", opt)
			}
			seen[strings.ToLower(opt)] = true
			q.Options = append(q.Options, opt)
		}
	case Text, LongText, Checkbox, URL, Email:
		if len(qi.Options) > 0 {
			return Question{}, apperr.Field(field+".options", "options_not_allowed", "only choices have options")
		}
	case "":
		return Question{}, apperr.Field(field+".type", "required", "type is one of %s", typeList)
	default:
		return Question{}, apperr.Field(field+".type", "invalid_type", "type is one of %s", typeList)
	}
	return q, nil
}

var typeList = strings.Join([]string{string(Text), string(LongText), string(SingleChoice), string(MultipleChoice), string(Checkbox), string(URL), string(Email)}, ", ")

// Answer is the answer to one question, with the question as it was asked.
// Text holds the answer to a text, long_text, url, email or single_choice
// question; Choices to a multiple_choice; Checked to a checkbox.
type Answer struct {
	Question Question `json:"question"`
	Text     string   `json:"text,omitempty"`
	Choices  []string `json:"choices,omitempty"`
	Checked  *bool    `json:"checked,omitempty"`
}

// AnswersInput are answers as sent, by question id: a string for text,
// long_text, url, email and single_choice, a list of strings for
// multiple_choice, true or false for checkbox.
type AnswersInput map[string]json.RawMessage

// ValidateAnswers checks answers against form and returns them as they are
// stored, in the form's order, each with its question as asked: every
// required question answered, each answer of its question's type, choices
// among the options, URLs and email addresses well-formed, text within its
// length. An optional question left out, empty or null is not stored.
// Errors name the field "answers.<question id>".
func ValidateAnswers(form Form, answers AnswersInput) ([]Answer, error) {
	asked := make(map[string]bool, len(form.Questions))
	for _, q := range form.Questions {
		asked[q.ID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(answers)) {
		if !asked[id] {
			return nil, apperr.Field("answers."+id, "unknown_question", "the form has no question %q", id)
		}
	}
	out := make([]Answer, 0, len(form.Questions))
	for _, q := range form.Questions {
		a, given, err := answer(q, answers[q.ID])
		if err != nil {
			return nil, err
		}
		if !given {
			if q.Required {
				return nil, apperr.Field("answers."+q.ID, "answer_required", "%q needs an answer", q.Label)
			}
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// answer reads the answer to q; given is false for an empty answer (and
// for a checkbox left unchecked when it is required).
func answer(q Question, raw json.RawMessage) (a Answer, given bool, err error) {
	field := "answers." + q.ID
	a = Answer{Question: q}
	if len(raw) == 0 || string(raw) == "null" {
		return a, false, nil
	}
	wrongType := func(want string) error {
		return apperr.Field(field, "wrong_type", "the answer to %q is %s", q.Label, want)
	}
	switch q.Type {
	case Checkbox:
		var checked bool
		if json.Unmarshal(raw, &checked) != nil {
			return a, false, wrongType("true or false")
		}
		a.Checked = &checked
		return a, checked || !q.Required, nil
	case MultipleChoice:
		var choices []string
		if json.Unmarshal(raw, &choices) != nil {
			return a, false, wrongType("a list of options")
		}
		chosen := make(map[string]bool, len(choices))
		for _, c := range choices {
			if !slices.Contains(q.Options, c) {
				return a, false, apperr.Field(field, "invalid_option", "%q is not an option of %q", c, q.Label)
			}
			if chosen[c] {
				return a, false, apperr.Field(field, "duplicate_option", "%q is chosen twice", c)
			}
			chosen[c] = true
		}
		a.Choices = choices
		return a, len(choices) > 0, nil
	}
	var text string
	if json.Unmarshal(raw, &text) != nil {
		return a, false, wrongType("a string")
	}
	if strings.TrimSpace(text) == "" {
		return a, false, nil
	}
	switch q.Type {
	case Text:
		a.Text, err = fields.Line(field, text, 1, MaxTextLength)
	case LongText:
		a.Text, err = fields.Paragraph(field, text, MaxLongTextLength)
	case SingleChoice:
		if !slices.Contains(q.Options, text) {
			return a, false, apperr.Field(field, "invalid_option", "%q is not an option of %q", text, q.Label)
		}
		a.Text = text
	case URL:
		a.Text, err = settings.WebURL(field, text)
	case Email:
		var norm string
		if norm, err = users.NormalizeEmail(text); err != nil {
			err = apperr.Field(field, "invalid_email", "%s", err.Error())
		}
		a.Text = norm
	default:
		return a, false, fmt.Errorf("forms: question %s has unknown type %q", q.ID, q.Type)
	}
	return a, err == nil, err
}
