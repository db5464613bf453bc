// Package fields checks the free-text fields of requests the same way in
// every area: trimmed, bounded in characters (not bytes), and free of
// control characters, each failure an Invalid error naming the field with
// a stable code.
package fields

import (
	"strings"
	"unicode/utf8"

	"github.com/integration-hub/hub/internal/apperr"
)

// Line is a trimmed line of min to max characters without control
// characters.
func Line(field, s string, min, max int) (string, error) {
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

// Paragraph is trimmed text of at most max characters; line breaks and
// tabs are its only control characters.
func Paragraph(field, s string, max int) (string, error) {
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
