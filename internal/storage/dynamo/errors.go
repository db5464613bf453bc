package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/integration-hub/hub/internal/storage"
)

// Cancellation reason codes of a TransactionCanceledException, one per
// operation of the transaction ("None" for the operations that were fine).
const (
	reasonConditionFailed    = "ConditionalCheckFailed"
	reasonConflict           = "TransactionConflict"
	reasonThrottled          = "ThrottlingError"
	reasonThroughputExceeded = "ProvisionedThroughputExceeded"
)

// throttleCodes are the API error codes that mean DynamoDB refused the
// request for capacity; the SDK retried them before the adapter sees them.
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
}

// translateError is the one place that turns an SDK error into the storage
// port's errors. action names the call for the message ("put", "query");
// ops is the write that failed, or nil for a read.
//
// A failed condition becomes a *storage.ConditionFailedError naming the
// operation; a transaction conflict that outlived the retries becomes
// storage.ErrConflict; throttling, 5xx and connection failures become
// storage.ErrUnavailable. The SDK error stays in the chain for errors.As.
func translateError(err error, action string, ops []storage.Op) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("dynamo: %s: %w", action, err)
	}

	var checkFailed *types.ConditionalCheckFailedException
	if errors.As(err, &checkFailed) && len(ops) == 1 {
		return conditionFailed(ops, 0)
	}

	// What a write's caller may assume about the table: DynamoDB refused a
	// conflicting or throttled request before applying it, but may have
	// applied one it then failed to answer.
	nothingWritten, outcomeUnknown := "", ""
	if ops != nil {
		nothingWritten, outcomeUnknown = ", nothing was written", ", outcome unknown"
	}

	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		for i, reason := range canceled.CancellationReasons {
			if aws.ToString(reason.Code) == reasonConditionFailed && i < len(ops) {
				return conditionFailed(ops, i)
			}
		}
		for _, reason := range canceled.CancellationReasons {
			switch aws.ToString(reason.Code) {
			case reasonConflict:
				return fmt.Errorf("dynamo: %s: %w%s: %w", action, storage.ErrConflict, nothingWritten, err)
			case reasonThrottled, reasonThroughputExceeded:
				return fmt.Errorf("dynamo: %s: %w (throttled)%s: %w", action, storage.ErrUnavailable, nothingWritten, err)
			}
		}
		return fmt.Errorf("dynamo: %s: transaction cancelled: %w", action, err)
	}

	var conflict *types.TransactionConflictException
	if errors.As(err, &conflict) {
		return fmt.Errorf("dynamo: %s: %w%s: %w", action, storage.ErrConflict, nothingWritten, err)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && throttleCodes[apiErr.ErrorCode()] {
		return fmt.Errorf("dynamo: %s: %w (throttled)%s: %w", action, storage.ErrUnavailable, nothingWritten, err)
	}
	var inProgress *types.TransactionInProgressException
	if errors.As(err, &inProgress) {
		return fmt.Errorf("dynamo: %s: %w (transaction still in progress)%s: %w", action, storage.ErrUnavailable, outcomeUnknown, err)
	}
	var internal *types.InternalServerError
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &internal) || (errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500) {
		return fmt.Errorf("dynamo: %s: %w (server error)%s: %w", action, storage.ErrUnavailable, outcomeUnknown, err)
	}
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &sendErr) {
		return fmt.Errorf("dynamo: %s: %w (no answer)%s: %w", action, storage.ErrUnavailable, outcomeUnknown, err)
	}
	// The connection broke while the answer was read: DynamoDB may have
	// applied the request, as when no answer came at all.
	var cut *smithy.DeserializationError
	if errors.As(err, &cut) {
		return fmt.Errorf("dynamo: %s: %w (answer cut)%s: %w", action, storage.ErrUnavailable, outcomeUnknown, err)
	}
	return fmt.Errorf("dynamo: %s: %w", action, err)
}

func conditionFailed(ops []storage.Op, i int) error {
	return &storage.ConditionFailedError{Index: i, Key: ops[i].Target(), Cond: ops[i].Cond.Kind}
}
