package integrations

import (
	"fmt"
	"strings"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/fields"
)

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
		label, err := fields.Line(item, v, 1, maxLength)
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
