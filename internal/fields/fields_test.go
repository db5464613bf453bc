package fields_test

import (
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/fields"
)

func TestLineAndParagraphNameTheFieldAndTheProblem(t *testing.T) {
	cases := []struct {
		name, in   string
		paragraph  bool
		want, code string
	}{
		{"trimmed", "  Acme  ", false, "Acme", ""},
		{"characters, not bytes", strings.Repeat("é", 5), false, strings.Repeat("é", 5), ""},
		{"too long", strings.Repeat("a", 6), false, "", "invalid_length"},
		{"empty", "   ", false, "", "invalid_length"},
		{"line break in a line", "a\nb", false, "", "control_characters"},
		{"line break in a paragraph", "a\nb", true, "a\nb", ""},
		{"NUL in a paragraph", "a\x00b", true, "", "control_characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			var err error
			if tc.paragraph {
				got, err = fields.Paragraph("description", tc.in, 5)
			} else {
				got, err = fields.Line("description", tc.in, 1, 5)
			}
			if tc.code == "" {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != tc.code || e.Field != "description" || e.Kind != apperr.Invalid {
				t.Fatalf("err = %v, want %s on description", err, tc.code)
			}
		})
	}
}
