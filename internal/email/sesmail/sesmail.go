// Package sesmail sends the hub's email through Amazon SES (the v1
// SendEmail API), classifying each failure for the notifier's retries. It
// is apart from package email so that only the function that sends (the
// notifier) links the SES client.
package sesmail

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/integration-hub/hub/internal/awsenv"
	"github.com/integration-hub/hub/internal/email"
)

// NewClient builds an SES (v1 API) client. With an empty endpoint it uses
// the environment's region and credentials (as in Lambda); with an endpoint
// it sends every request there, and an endpoint on a loopback address or
// over plain HTTP is taken for the emulator and gets dummy credentials and a
// fixed region. The SDK's own retries are off: the SES sender retries with
// its RetryPolicy, and two layers of retries would multiply the attempts.
// Build it once and share it.
func NewClient(_ context.Context, endpoint string) (*ses.Client, error) {
	cfg, err := awsenv.Config(os.Getenv, endpoint)
	if err != nil {
		return nil, fmt.Errorf("email: SES client: %w", err)
	}
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	return ses.NewFromConfig(cfg, func(o *ses.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// Sender sends through Amazon SES's SendEmail (v1 API).
type Sender struct {
	client *ses.Client
	from   string
	retry  email.RetryPolicy
}

// Option configures a Sender.
type Option func(*Sender)

// WithRetryPolicy replaces email.DefaultRetryPolicy (tests use short delays).
func WithRetryPolicy(p email.RetryPolicy) Option {
	return func(s *Sender) { s.retry = p.WithDefaults() }
}

// New sends from the given address, which must be a verified SES
// identity.
func New(client *ses.Client, from string, opts ...Option) *Sender {
	s := &Sender{client: client, from: from, retry: email.DefaultRetryPolicy}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Send sends m as one message to all its recipients. email.Transient failures are
// retried under the sender's RetryPolicy; the error returned is a
// *email.SendError whose class says whether a later retry may succeed.
func (s *Sender) Send(ctx context.Context, m email.Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	utf8 := aws.String("UTF-8")
	body := &types.Body{}
	if m.Text != "" {
		body.Text = &types.Content{Data: aws.String(m.Text), Charset: utf8}
	}
	if m.HTML != "" {
		body.Html = &types.Content{Data: aws.String(m.HTML), Charset: utf8}
	}
	input := &ses.SendEmailInput{
		Source:      aws.String(s.from),
		Destination: &types.Destination{ToAddresses: m.To},
		Message: &types.Message{
			Subject: &types.Content{Data: aws.String(m.Subject), Charset: utf8},
			Body:    body,
		},
	}
	return s.retry.Do(ctx, func(attemptCtx context.Context) error {
		if _, err := s.client.SendEmail(attemptCtx, input); err != nil {
			return classifySES(ctx, err)
		}
		return nil
	})
}

// SES error codes by what they mean for a retry. The throttling code of the
// v1 API is "Throttling" ("Maximum sending rate exceeded."); the others are
// the generic AWS codes some endpoints use.
var (
	sesTransientCodes = map[string]bool{
		"Throttling":                  true,
		"ThrottlingException":         true,
		"TooManyRequestsException":    true,
		"RequestThrottled":            true,
		"ServiceUnavailable":          true,
		"ServiceUnavailableException": true,
		"InternalFailure":             true,
		"InternalError":               true,
		"RequestTimeout":              true,
		"RequestTimeoutException":     true,
	}
	sesPermanentCodes = map[string]bool{
		(&types.MessageRejected{}).ErrorCode():                    true,
		(&types.MailFromDomainNotVerifiedException{}).ErrorCode(): true,
		"InvalidParameterValue":                                   true,
	}
)

// dailyQuotaExceeded is the message of a "Throttling" error that no retry
// within the day can pass.
const dailyQuotaExceeded = "Daily message quota exceeded"

// classifySES turns an error of the SES client into a *email.SendError. parent is
// the caller's context. An answer from SES is classified by its code,
// whenever it came; an attempt that ended without one after parent was done
// is unclassified: the message may or may not have gone.
func classifySES(parent context.Context, err error) *email.SendError {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) && parent.Err() != nil {
		return &email.SendError{Class: email.Unclassified, Err: err}
	}
	if apiErr != nil {
		code := apiErr.ErrorCode()
		switch {
		case sesPermanentCodes[code]:
			return &email.SendError{Class: email.Permanent, Code: code, Err: err}
		case sesTransientCodes[code] && !strings.Contains(apiErr.ErrorMessage(), dailyQuotaExceeded):
			return &email.SendError{Class: email.Transient, Code: code, Err: err}
		case sesTransientCodes[code]:
			return &email.SendError{Class: email.Unclassified, Code: code, Err: err}
		}
		return &email.SendError{Class: classifyStatus(err), Code: code, Err: err}
	}
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &sendErr) || errors.Is(err, context.DeadlineExceeded) {
		return &email.SendError{Class: email.Transient, Err: err}
	}
	return &email.SendError{Class: classifyStatus(err), Err: err}
}

// classifyStatus classifies by the HTTP status alone: an answer that is not
// SES's (a proxy's 502 page) carries no error code.
func classifyStatus(err error) email.Class {
	var withStatus interface{ HTTPStatusCode() int }
	if !errors.As(err, &withStatus) {
		return email.Unclassified
	}
	status := withStatus.HTTPStatusCode()
	if status >= 500 || status == http.StatusTooManyRequests {
		return email.Transient
	}
	return email.Unclassified
}
