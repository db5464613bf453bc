// Package tableschema is the table's schema as the functions read it at
// init: schema.json, generated from template.yaml's table resource by
// `go test ./internal/tableschema -update` and checked against it by the
// same test, so it can never drift from the template. Parsing the whole
// template at init cost every cold start 2 ms (BenchmarkColdStart) for
// these few names.
package tableschema

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/integration-hub/hub/internal/storage"
)

//go:embed schema.json
var schemaJSON []byte

// Load returns the table's key attributes, indexes and TTL attribute.
func Load() (storage.Schema, error) {
	var s storage.Schema
	if err := json.Unmarshal(schemaJSON, &s); err != nil {
		return storage.Schema{}, fmt.Errorf("tableschema: %w", err)
	}
	if s.PK == "" || s.SK == "" {
		return storage.Schema{}, fmt.Errorf("tableschema: schema.json names no key attributes")
	}
	return s, nil
}
