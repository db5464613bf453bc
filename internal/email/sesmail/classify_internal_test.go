package sesmail

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/integration-hub/hub/internal/email"
)

// An answer from SES keeps its class when the caller's context has ended
// by the time it is classified (the race that made a throttled send under
// a deadline look unclassified); an attempt cut short by the caller's
// context, with no answer, is unclassified.
func TestClassifySESByTheAnswerWhateverTheCallersContext(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	throttled := &smithy.GenericAPIError{Code: "Throttling", Message: "Maximum sending rate exceeded."}
	rejected := &smithy.GenericAPIError{Code: "MessageRejected", Message: "Email address is not verified."}
	tests := []struct {
		name   string
		parent context.Context
		err    error
		want   email.Class
	}{
		{"throttled, caller still waiting", context.Background(), throttled, email.Transient},
		{"throttled, caller's context over", done, throttled, email.Transient},
		{"rejected, caller's context over", done, rejected, email.Permanent},
		{"no answer, caller's context over", done, fmt.Errorf("operation error SES: SendEmail: %w", context.Canceled), email.Unclassified},
		{"no answer in time, caller still waiting", context.Background(), fmt.Errorf("operation error SES: SendEmail: %w", context.DeadlineExceeded), email.Transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifySES(tt.parent, tt.err)
			if got.Class != tt.want || !errors.Is(got, tt.err) {
				t.Fatalf("class %s (%v), want %s", got.Class, got, tt.want)
			}
		})
	}
}
