// Package apperr holds the hub's error kinds. Domain code returns *Error (or
// wraps one); internal/web maps a kind to an HTTP status and an RFC 9457
// problem document in exactly one place.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	Internal           Kind = iota // a bug or an unexpected failure; details are logged, not shown
	Invalid                        // the request is malformed or a field is wrong
	Unauthenticated                // no valid credential
	Forbidden                      // the principal may not do this
	NotFound                       // no such thing for this principal
	Conflict                       // the change collides with the current state
	PreconditionFailed             // If-Match did not match
	PreconditionNeeded             // an update without If-Match
	TooLarge                       // the body is over the limit
	UnsupportedMedia               // the body is not JSON
	RateLimited                    // too many attempts
	Unavailable                    // a dependency failed after retries; try again
)

// Error is a classified error with a stable machine-readable code and,
// for an invalid input, the field that is wrong.
type Error struct {
	Kind   Kind
	Code   string // stable, e.g. "email_taken"
	Detail string // for people; never contains a secret
	Field  string // JSON pointer-ish path of the offending field, if any
	Err    error  // the cause, for logs
}

func (e *Error) Error() string {
	s := e.Code
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// New makes an error of a kind.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Field makes an Invalid error about one field.
func Field(field, code, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: code, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Wrap classifies a cause.
func Wrap(kind Kind, code string, err error) *Error {
	return &Error{Kind: kind, Code: code, Err: err}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf is the kind of err, Internal when it carries none.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}
