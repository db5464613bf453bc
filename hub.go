// Package hub embeds template.yaml, so that every function reads the table's
// schema at init from the one file that declares it (go:embed cannot reach
// above a package's folder, hence this file at the root).
package hub

import _ "embed"

// TemplateYAML is the SAM template the functions were built with.
//
//go:embed template.yaml
var TemplateYAML []byte
