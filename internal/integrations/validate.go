package integrations

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/integration-hub/hub/internal/apperr"
)

// oneLine is a trimmed line of min to max characters without control
// characters.
func oneLine(field, s string, min, max int) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < min || n > max {
		return "", apperr.Field(field, "invalid_length", "%s has %d to %d characters", field, min, max)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", apperr.Field(field, "control_characters", "%s is one line without control characters", field)
		}
	}
	return s, nil
}

// paragraph is trimmed text of at most max characters; line breaks and
// tabs are its only control characters.
func paragraph(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		return "", apperr.Field(field, "invalid_length", "%s has at most %d characters", field, max)
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || r == 0x7f {
			return "", apperr.Field(field, "control_characters", "%s has no control characters but line breaks and tabs", field)
		}
	}
	return s, nil
}

// labels is a list of at most maxItems one-line labels of 1 to maxLength
// characters, none repeated (ignoring case), in the order given.
func labels(field string, in []string, maxItems, maxLength int) ([]string, error) {
	if len(in) > maxItems {
		return nil, apperr.Field(field, "too_many", "%s has at most %d entries", field, maxItems)
	}
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for i, v := range in {
		item := fmt.Sprintf("%s[%d]", field, i)
		label, err := oneLine(item, v, 1, maxLength)
		if err != nil {
			return nil, err
		}
		folded := strings.ToLower(label)
		if seen[folded] {
			return nil, apperr.Field(item, "duplicate", "%q is listed twice in %s", label, field)
		}
		seen[folded] = true
		out = append(out, label)
	}
	return out, nil
}
