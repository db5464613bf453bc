// Package email renders the hub's emails and sends them: through Amazon SES
// in AWS (and against the aws-ses-v2-local emulator), or into a folder on
// the local stack. The notifier (internal/notifier) declares the sender
// interface it needs; this package holds the concrete senders.
//
// A failed send says what a retry can do about it: IsTransient errors
// (throttling, server and network errors) are worth retrying soon and the
// SES sender already retried them; IsPermanent errors (the message was
// refused for what it is) will fail the same way every time; any other error
// (access denied, sending paused) is left to the caller's retry policy.
package email

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Message is one email to send.
type Message struct {
	To      []string
	Subject string
	Text    string
	HTML    string
	// EventID is the outbox event the message was made for; senders use it
	// to name and trace the message, never to de-duplicate.
	EventID string
}

// Validate reports a message that no provider would accept, as a permanent
// error.
func (m Message) Validate() error {
	if len(m.To) == 0 {
		return invalid("the message has no recipients")
	}
	for _, to := range m.To {
		addr, err := mail.ParseAddress(to)
		if err != nil || addr.Address != to {
			return invalid(fmt.Sprintf("recipient %q is not a plain email address", to))
		}
	}
	if strings.TrimSpace(m.Subject) == "" {
		return invalid("the message has no subject")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return invalid("the subject spans several lines")
	}
	if m.Text == "" && m.HTML == "" {
		return invalid("the message has no body")
	}
	return nil
}

func invalid(reason string) error {
	return &SendError{Class: Permanent, Code: CodeInvalidMessage, Err: errors.New(reason)}
}

// Class says what retrying a failed send can achieve.
type Class int

const (
	// Unclassified failures are neither transient nor about the message
	// (access denied, sending paused, the caller's context ended): retrying
	// soon will not help, but the message may go once the cause is fixed.
	Unclassified Class = iota
	// Transient failures (throttling, server errors, network errors) are
	// expected to pass; the SES sender retries them with backoff.
	Transient
	// Permanent failures are about the message itself (rejected, invalid
	// address, unverified sender domain): it will fail the same way again.
	Permanent
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	default:
		return "unclassified"
	}
}

// CodeInvalidMessage is the SendError code of a message refused by Validate.
const CodeInvalidMessage = "InvalidMessage"

var (
	// ErrPermanent matches every error of class Permanent.
	ErrPermanent = errors.New("email: permanently refused")
	// ErrTransient matches every error of class Transient.
	ErrTransient = errors.New("email: transient failure")
)

// SendError is a failed send.
type SendError struct {
	Class Class
	// Code is the provider's error code ("MessageRejected", "Throttling"),
	// CodeInvalidMessage, or "" for a failure without one (network).
	Code string
	// Attempts is how many times the message was offered to the provider.
	Attempts int
	Err      error
}

func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("email: send failed")
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *SendError) Unwrap() error { return e.Err }

func (e *SendError) Is(target error) bool {
	return target == ErrPermanent && e.Class == Permanent ||
		target == ErrTransient && e.Class == Transient
}

// IsPermanent reports whether err says the message can never be sent as it
// is, so retrying it is pointless.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// IsTransient reports whether err is a failure expected to pass on its own.
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }
