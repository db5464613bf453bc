package forms_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/forms"
	"github.com/integration-hub/hub/internal/proof/fuzzcheck"
)

// FuzzIntegrationFormInput decodes PUT /integration-form's body and
// revises an empty form with it: an accepted revision gives every
// question an id of its own.
func FuzzIntegrationFormInput(f *testing.F) {
	for _, seed := range []string{
		`{"questions":[{"type":"url","label":"Documentation","required":true}]}`,
		`{"questions":[{"type":"single_choice","label":"Tier","options":["a","b"]},{"type":"email","label":"Contact"}]}`,
		`{"questions":[{"id":"q1","type":"text","label":"x"}]}`, `{"questions":[]}`, `{"questions":[{"type":"nope"}]}`, `{"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := fuzzcheck.Decode[forms.IntegrationInput](t, body)
		if !ok {
			return
		}
		questions, err := forms.Revise(nil, in.Questions)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, q := range questions {
			if q.ID == "" || seen[q.ID] {
				t.Fatalf("Revise(%s) gave questions without distinct ids: %+v", body, questions)
			}
			seen[q.ID] = true
		}
	})
}
