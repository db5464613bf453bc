// Package web holds what every HTTP function shares: RFC 9457 problem
// documents, strict JSON decoding, the principal read from the API Gateway
// request context, ETag/If-Match, structured logs with the request id, and a
// router that records the routes it serves so they can be checked against
// template.yaml.
package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/storage"
)

// ProblemType prefixes each problem's type URI; the code completes it.
const ProblemType = "urn:integration-hub:problem:"

// Problem is an RFC 9457 problem document with the hub's extensions.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Code is stable: clients branch on it, never on the detail text.
	Code string `json:"code"`
	// Field names the input that is wrong, for a 4xx about one field.
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

var statusOf = map[apperr.Kind]int{
	apperr.Internal:           http.StatusInternalServerError,
	apperr.Invalid:            http.StatusBadRequest,
	apperr.Unauthenticated:    http.StatusUnauthorized,
	apperr.Forbidden:          http.StatusForbidden,
	apperr.NotFound:           http.StatusNotFound,
	apperr.Conflict:           http.StatusConflict,
	apperr.PreconditionFailed: http.StatusPreconditionFailed,
	apperr.PreconditionNeeded: http.StatusPreconditionRequired,
	apperr.TooLarge:           http.StatusRequestEntityTooLarge,
	apperr.UnsupportedMedia:   http.StatusUnsupportedMediaType,
	apperr.RateLimited:        http.StatusTooManyRequests,
	apperr.Unavailable:        http.StatusServiceUnavailable,
}

// Classify turns any error into an *apperr.Error. Storage errors that reach
// a handler unclassified get their natural kind; anything else is internal.
func Classify(err error) *apperr.Error {
	if e, ok := apperr.As(err); ok {
		return e
	}
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return apperr.Wrap(apperr.NotFound, "not_found", err)
	case errors.Is(err, storage.ErrConditionFailed):
		return apperr.Wrap(apperr.Conflict, "conflict", err)
	case errors.Is(err, storage.ErrBadCursor):
		return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_cursor", Field: "cursor", Detail: "the cursor is not valid for this list", Err: err}
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrUnavailable):
		return apperr.Wrap(apperr.Unavailable, "unavailable", err)
	}
	return apperr.Wrap(apperr.Internal, "internal", err)
}

// ProblemFor is the problem document for an error: the one mapping from
// error kinds to HTTP.
func ProblemFor(err error) Problem {
	e := Classify(err)
	status := statusOf[e.Kind]
	p := Problem{
		Type:   ProblemType + e.Code,
		Title:  http.StatusText(status),
		Status: status,
		Code:   e.Code,
		Detail: e.Detail,
		Field:  e.Field,
	}
	if e.Kind == apperr.Internal {
		p.Detail = "" // internal causes are logged, never shown
	}
	if e.Kind == apperr.Unavailable && p.Detail == "" {
		p.Detail = "a dependency is unavailable; try again"
	}
	return p
}

// WriteError answers with the problem document for err and logs it: 5xx at
// error level with the cause, 4xx at info level without it.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemFor(err)
	p.RequestID = RequestID(r)
	log := Logger(r)
	if p.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", slog.Int("status", p.Status), slog.String("code", p.Code), slog.String("error", err.Error()))
	} else {
		log.InfoContext(r.Context(), "request refused", slog.Int("status", p.Status), slog.String("code", p.Code), slog.String("field", p.Field))
	}
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if p.Status == http.StatusUnauthorized {
		// RFC 9110 §15.5.2: a 401 names the scheme that would be accepted.
		w.Header().Set("WWW-Authenticate", `Bearer realm="integration-hub"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// JSON answers with v as JSON.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// NoContent answers 204.
func NoContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }
