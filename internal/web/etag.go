package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/integration-hub/hub/internal/apperr"
)

// ETag is the entity tag of a settings document's version.
func ETag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// SetETag sets the ETag header for a version.
func SetETag(w http.ResponseWriter, version int64) { w.Header().Set("ETag", ETag(version)) }

// IfMatch reads the version an update is conditional on. An update without
// If-Match is refused (428), so nothing is overwritten blindly; a tag of
// another form can never match (412).
func IfMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, apperr.New(apperr.PreconditionNeeded, "if_match_required", "send the ETag of the version you read in If-Match")
	}
	h = strings.TrimPrefix(h, "W/")
	v, ok := strings.CutPrefix(strings.Trim(h, `"`), "v")
	n, err := strconv.ParseInt(v, 10, 64)
	if !ok || err != nil || n < 1 {
		return 0, apperr.New(apperr.PreconditionFailed, "stale_version", "If-Match does not name a current version")
	}
	return n, nil
}
