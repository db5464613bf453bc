package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/integration-hub/hub/internal/apperr"
)

// MaxBody is the largest request body accepted unless a route says otherwise.
const MaxBody = 64 << 10

// Decode reads a JSON body into v strictly: application/json only, at most
// limit bytes (MaxBody when 0), valid UTF-8, no unknown fields, exactly one
// value. Every failure is an Invalid (or TooLarge / UnsupportedMedia) error
// naming the field where JSON says which.
func Decode(r *http.Request, v any, limit int64) error {
	if limit <= 0 {
		limit = MaxBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return apperr.New(apperr.UnsupportedMedia, "unsupported_media_type", "send the body as application/json")
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return apperr.Wrap(apperr.Invalid, "unreadable_body", err)
	}
	if int64(len(body)) > limit {
		return apperr.New(apperr.TooLarge, "body_too_large", fmt.Sprintf("the body is over %d bytes", limit))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.New(apperr.Invalid, "empty_body", "a JSON body is required")
	}
	if !utf8.Valid(body) {
		return apperr.New(apperr.Invalid, "invalid_utf8", "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, body, v)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.Invalid, "trailing_data", "the body has data after its JSON value")
	}
	return nil
}

func decodeError(err error, body []byte, v any) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return apperr.New(apperr.Invalid, "malformed_json", fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.Invalid, "malformed_json", "the JSON body ends early")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "/"
		}
		return apperr.Field(field, "wrong_type", "%s must be %s, not %s", field, jsonType(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Field(name, "unknown_field", "unknown field %q", name)
	}
	// A value's own UnmarshalJSON (a time, say) fails without naming
	// where it sits.
	if field := failingField(body, v); field != "" {
		return apperr.Field(field, "invalid_value", "%s: %s", field, strings.TrimPrefix(err.Error(), "json: "))
	}
	return apperr.Wrap(apperr.Invalid, "malformed_json", err)
}

// failingField finds the top-level member of the body whose value alone
// fails to decode into a fresh value of v's type, or "".
func failingField(body []byte, v any) string {
	var members map[string]json.RawMessage
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || json.Unmarshal(body, &members) != nil {
		return ""
	}
	for _, name := range slices.Sorted(maps.Keys(members)) {
		one, err := json.Marshal(map[string]json.RawMessage{name: members[name]})
		if err != nil {
			continue
		}
		if json.Unmarshal(one, reflect.New(t.Elem()).Interface()) != nil {
			return name
		}
	}
	return ""
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "of another type"
}

// Limit reads a list's `limit` query parameter: 0 when absent (the list's
// default), else a whole number from 1 to max.
func Limit(r *http.Request, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, apperr.Field("limit", "invalid_limit", "limit is a whole number from 1 to %d", max)
	}
	return n, nil
}
