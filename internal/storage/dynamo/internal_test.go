package dynamo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/integration-hub/hub/internal/storage"
)

// sdkError wraps apiErr the way the SDK returns it from a call whose
// retries ran out.
func sdkError(status int, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "DynamoDB",
		OperationName: "TransactWriteItems",
		Err: &retry.MaxAttemptsError{Attempt: 5, Err: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      apiErr,
		}},
	}
}

func canceledBy(codes ...string) *types.TransactionCanceledException {
	reasons := make([]types.CancellationReason, len(codes))
	for i, code := range codes {
		reasons[i] = types.CancellationReason{Code: aws.String(code)}
	}
	return &types.TransactionCanceledException{CancellationReasons: reasons}
}

func TestTranslateError(t *testing.T) {
	threeOps := []storage.Op{
		storage.Put(storage.Item{Key: storage.Key{PK: "ORG#1", SK: "USER#1"}, Type: "user"}, storage.Absent()),
		storage.Check(storage.Key{PK: "ORG#1", SK: "SETTINGS"}, storage.VersionIs(4)),
		storage.Put(storage.Item{Key: storage.Key{PK: "EMAIL#a", SK: "GUARD"}, Type: "guard"}, storage.Absent()),
	}
	oneOp := threeOps[1:2]
	tests := []struct {
		name string
		err  error
		ops  []storage.Op
		// wantIs is the sentinel the result must match, or nil.
		wantIs error
		// wantFailedOn is the operation whose condition failed, or -1.
		wantFailedOn int
		wantText     string
		rejectText   string
	}{
		{"single condition", sdkError(400, &types.ConditionalCheckFailedException{}), oneOp, storage.ErrConditionFailed, 0, "operation 0 (ORG#1 / SETTINGS)", ""},
		{"transaction condition", sdkError(400, canceledBy("None", "None", reasonConditionFailed)), threeOps, storage.ErrConditionFailed, 2, "EMAIL#a / GUARD", ""},
		{"condition beats conflict", sdkError(400, canceledBy(reasonConflict, reasonConditionFailed, "None")), threeOps, storage.ErrConditionFailed, 1, "", ""},
		{"transaction conflict", sdkError(400, canceledBy("None", reasonConflict, "None")), threeOps, storage.ErrConflict, -1, "nothing was written", ""},
		{"transaction throttled", sdkError(400, canceledBy(reasonThroughputExceeded, "None", "None")), threeOps, storage.ErrUnavailable, -1, "throttled", ""},
		{"transaction invalid", sdkError(400, canceledBy("ValidationError", "None", "None")), threeOps, nil, -1, "transaction cancelled", ""},
		{"conflict exception", sdkError(400, &types.TransactionConflictException{}), oneOp, storage.ErrConflict, -1, "", ""},
		{"throughput exceeded on a read", sdkError(400, &types.ProvisionedThroughputExceededException{}), nil, storage.ErrUnavailable, -1, "throttled", "written"},
		{"throttling", sdkError(400, &types.ThrottlingException{}), oneOp, storage.ErrUnavailable, -1, "nothing was written", ""},
		{"in progress", sdkError(400, &types.TransactionInProgressException{}), threeOps, storage.ErrUnavailable, -1, "outcome unknown", ""},
		{"internal error", sdkError(500, &types.InternalServerError{}), oneOp, storage.ErrUnavailable, -1, "outcome unknown", ""},
		{"503", sdkError(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), oneOp, storage.ErrUnavailable, -1, "server error", ""},
		{"no answer", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: errors.New("connection refused")}}, nil, storage.ErrUnavailable, -1, "no answer", ""},
		{"answer cut while read", &smithy.OperationError{Err: &smithy.DeserializationError{Err: io.ErrUnexpectedEOF}}, oneOp, storage.ErrUnavailable, -1, "outcome unknown", ""},
		{"cancelled context", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: context.Canceled}}, oneOp, context.Canceled, -1, "", "unavailable"},
		{"missing table", sdkError(400, &types.ResourceNotFoundException{}), nil, nil, -1, "ResourceNotFoundException", ""},
	}
	sentinels := []error{storage.ErrConditionFailed, storage.ErrConflict, storage.ErrUnavailable, context.Canceled}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := translateError(tc.err, "write", tc.ops)
			if got == nil {
				t.Fatal("translateError returned nil")
			}
			for _, sentinel := range sentinels {
				if errors.Is(got, sentinel) != (sentinel == tc.wantIs) {
					t.Errorf("errors.Is(%v, %v) = %v", got, sentinel, !(sentinel == tc.wantIs))
				}
			}
			for i := range tc.ops {
				if storage.FailedOn(got, i) != (i == tc.wantFailedOn) {
					t.Errorf("FailedOn(%v, %d) = %v", got, i, i != tc.wantFailedOn)
				}
			}
			if tc.wantFailedOn >= 0 {
				var cf *storage.ConditionFailedError
				errors.As(got, &cf)
				op := tc.ops[tc.wantFailedOn]
				if cf.Key != op.Target() || cf.Cond != op.Cond.Kind {
					t.Errorf("ConditionFailedError = %+v, want key %s, cond %d", cf, op.Target(), op.Cond.Kind)
				}
			}
			if !strings.Contains(got.Error(), tc.wantText) {
				t.Errorf("error %q does not say %q", got, tc.wantText)
			}
			if tc.rejectText != "" && strings.Contains(got.Error(), tc.rejectText) {
				t.Errorf("error %q says %q", got, tc.rejectText)
			}
		})
	}
	if err := translateError(nil, "write", threeOps); err != nil {
		t.Errorf("translateError(nil) = %v", err)
	}
}

func TestRetryableCancellation(t *testing.T) {
	tests := []struct {
		codes []string
		want  bool
	}{
		{[]string{"None", reasonConflict}, true},
		{[]string{reasonThrottled}, true},
		{[]string{reasonThroughputExceeded, "None"}, true},
		{[]string{reasonConflict, reasonConditionFailed}, false},
		{[]string{reasonConditionFailed}, false},
		{[]string{"ValidationError"}, false},
	}
	for _, tc := range tests {
		err := sdkError(400, canceledBy(tc.codes...))
		if got := newRetryer(clientSettings{maxAttempts: 3}).IsErrorRetryable(err); got != tc.want {
			t.Errorf("retryable(%v) = %v, want %v", tc.codes, got, tc.want)
		}
	}
}
