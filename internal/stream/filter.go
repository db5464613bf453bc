package stream

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// Filter is a Lambda event filter pattern (the stream trigger's
// FilterCriteria in template.yaml), so the local stack delivers exactly the
// records Lambda would. It supports the pattern forms the hub uses: nested
// objects and arrays of allowed scalar values.
type Filter struct{ pattern map[string]any }

// ParseFilter reads a pattern; an empty pattern matches every record.
func ParseFilter(pattern string) (Filter, error) {
	if pattern == "" {
		return Filter{}, nil
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(pattern), &p); err != nil {
		return Filter{}, fmt.Errorf("stream: filter pattern: %w", err)
	}
	if err := checkPattern(p); err != nil {
		return Filter{}, err
	}
	return Filter{pattern: p}, nil
}

func checkPattern(p map[string]any) error {
	for k, v := range p {
		switch v := v.(type) {
		case map[string]any:
			if err := checkPattern(v); err != nil {
				return err
			}
		case []any:
			for _, s := range v {
				switch s.(type) {
				case string, float64, bool, nil:
				default:
					return fmt.Errorf("stream: filter pattern %q: only scalar values are supported", k)
				}
			}
		default:
			return fmt.Errorf("stream: filter pattern %q: want an object or an array", k)
		}
	}
	return nil
}

// Match reports whether Lambda would deliver the record.
func (f Filter) Match(rec events.DynamoDBEventRecord) bool {
	if f.pattern == nil {
		return true
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return false
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return false
	}
	return match(f.pattern, doc)
}

func match(pattern, doc map[string]any) bool {
	for k, want := range pattern {
		got, ok := doc[k]
		switch want := want.(type) {
		case map[string]any:
			sub, isObj := got.(map[string]any)
			if !ok || !isObj || !match(want, sub) {
				return false
			}
		case []any:
			if !ok || !containsScalar(want, got) {
				return false
			}
		}
	}
	return true
}

func containsScalar(allowed []any, v any) bool {
	for _, a := range allowed {
		if a == v {
			return true
		}
	}
	return false
}
