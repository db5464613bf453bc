package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/dynamo"
)

// faultyTransport answers the first failures calls of one DynamoDB
// operation with a canned error response, as DynamoDB would, and sends
// everything else on to DynamoDB Local. DynamoDB Local never conflicts or
// throttles, so this is how those paths are exercised.
type faultyTransport struct {
	operation string
	failures  int64
	status    int
	body      string
	calls     atomic.Int64
}

func (ft *faultyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("X-Amz-Target") != "DynamoDB_20120810."+ft.operation || ft.calls.Add(1) > ft.failures {
		return http.DefaultTransport.RoundTrip(req)
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode: ft.status,
		Status:     http.StatusText(ft.status),
		Header: http.Header{
			"Content-Type":     {"application/x-amz-json-1.0"},
			"X-Amzn-Requestid": {"injected-fault"},
		},
		Body:          io.NopCloser(strings.NewReader(ft.body)),
		ContentLength: int64(len(ft.body)),
		Request:       req,
	}, nil
}

// awsError is a DynamoDB JSON error document.
func awsError(errorType, extraMembers string) string {
	doc := `{"__type":"com.amazonaws.dynamodb.v20120810#` + errorType + `","message":"injected"`
	if extraMembers != "" {
		doc += "," + extraMembers
	}
	return doc + "}"
}

func cancellation(codes ...string) string {
	reasons := make([]string, len(codes))
	for i, code := range codes {
		reasons[i] = `{"Code":"` + code + `"}`
	}
	return awsError("TransactionCanceledException", `"CancellationReasons":[`+strings.Join(reasons, ",")+`]`)
}

func TestInjectedFaultsAreRetriedThenMapped(t *testing.T) {
	const maxAttempts = 4
	putTwo := func(ctx context.Context, tbl *dynamo.Table, pk string) error {
		return tbl.Write(ctx,
			storage.Put(item(pk, "A", 1), storage.Absent()),
			storage.Put(item(pk, "B", 1), storage.Absent()))
	}
	putOne := func(ctx context.Context, tbl *dynamo.Table, pk string) error {
		return tbl.Write(ctx, storage.Put(item(pk, "A", 1), storage.Absent()))
	}
	tests := []struct {
		name      string
		operation string
		status    int
		body      string
		do        func(ctx context.Context, tbl *dynamo.Table, pk string) error
		// isWrite: check that a persistent fault leaves nothing written.
		isWrite bool
		// persistentErr is what the caller sees once retries run out.
		persistentErr error
	}{
		{"transaction conflict", "TransactWriteItems", 400, cancellation("None", "TransactionConflict"), putTwo, true, storage.ErrConflict},
		{"transaction throttled", "TransactWriteItems", 400, cancellation("ThrottlingError", "None"), putTwo, true, storage.ErrUnavailable},
		{"transaction in progress", "TransactWriteItems", 400, awsError("TransactionInProgressException", ""), putTwo, true, storage.ErrUnavailable},
		{"transaction 503", "TransactWriteItems", 503, `{}`, putTwo, true, storage.ErrUnavailable},
		{"put conflicts with a transaction", "PutItem", 400, awsError("TransactionConflictException", ""), putOne, true, storage.ErrConflict},
		{"put throughput exceeded", "PutItem", 400, awsError("ProvisionedThroughputExceededException", ""), putOne, true, storage.ErrUnavailable},
		{"put internal error", "PutItem", 500, awsError("InternalServerError", ""), putOne, true, storage.ErrUnavailable},
		{"get throttled", "GetItem", 400, awsError("ThrottlingException", ""), func(ctx context.Context, tbl *dynamo.Table, pk string) error {
			_, err := tbl.Get(ctx, storage.Key{PK: pk, SK: "A"})
			if errors.Is(err, storage.ErrNotFound) {
				return nil
			}
			return err
		}, false, storage.ErrUnavailable},
		{"query request limit", "Query", 400, awsError("RequestLimitExceeded", ""), func(ctx context.Context, tbl *dynamo.Table, pk string) error {
			_, err := tbl.Query(ctx, storage.Query{PK: pk})
			return err
		}, false, storage.ErrUnavailable},
	}
	f := newFixture(t)
	ctx := context.Background()
	for i, tc := range tests {
		for _, failures := range []int64{maxAttempts - 1, 1000} {
			persistent := failures >= maxAttempts
			t.Run(fmt.Sprintf("%s/%d failures", tc.name, failures), func(t *testing.T) {
				pk := fmt.Sprintf("FAULT#%d#%d", i, failures)
				transport := &faultyTransport{operation: tc.operation, failures: failures, status: tc.status, body: tc.body}
				tbl := f.tableWith(t,
					dynamo.WithRetries(maxAttempts, time.Millisecond),
					dynamo.WithHTTPClient(&http.Client{Transport: transport}))

				err := tc.do(ctx, tbl, pk)

				wantCalls := min(failures+1, maxAttempts)
				if got := transport.calls.Load(); got != wantCalls {
					t.Errorf("%s called %d times, want %d", tc.operation, got, wantCalls)
				}
				if !persistent {
					if err != nil {
						t.Fatalf("err = %v after %d transient failures, want success", err, failures)
					}
					if tc.isWrite {
						if _, err := f.table.Get(ctx, storage.Key{PK: pk, SK: "A"}); err != nil {
							t.Errorf("the retried write is missing: %v", err)
						}
					}
					return
				}
				t.Logf("after %d attempts: %v", maxAttempts, err)
				if !errors.Is(err, tc.persistentErr) {
					t.Fatalf("err = %v, want %v", err, tc.persistentErr)
				}
				if errors.Is(err, storage.ErrConditionFailed) {
					t.Errorf("err = %v also matches ErrConditionFailed", err)
				}
				if tc.isWrite {
					if _, err := f.table.Get(ctx, storage.Key{PK: pk, SK: "A"}); !errors.Is(err, storage.ErrNotFound) {
						t.Errorf("after a failed write: Get err = %v, want ErrNotFound", err)
					}
				}
			})
		}
	}
}

func TestConditionFailureIsNotRetried(t *testing.T) {
	f := newFixture(t)
	guard := item("EMAIL#a@example.com", "GUARD", 1)
	f.mustWrite(t, storage.Put(guard, storage.Absent()))
	counter := &faultyTransport{operation: "TransactWriteItems"}
	tbl := f.tableWith(t, dynamo.WithHTTPClient(&http.Client{Transport: counter}))

	err := tbl.Write(context.Background(),
		storage.Put(item("ORG#1", "USER#1", 1), storage.Absent()),
		storage.Put(guard, storage.Absent()))

	if !storage.FailedOn(err, 1) {
		t.Fatalf("err = %v, want a failed condition on operation 1", err)
	}
	if calls := counter.calls.Load(); calls != 1 {
		t.Errorf("TransactWriteItems called %d times, want 1", calls)
	}
}
