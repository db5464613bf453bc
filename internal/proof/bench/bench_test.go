// Package bench_test measures the hub with Go's benchmark harness, each
// figure next to its baseline in the same run: the authorizer next to a
// bare jwt.Parse of the same token, each route's handler (through the API
// Gateway V2 adapter, on DynamoDB Local) next to the bare DynamoDB calls it
// makes, each compiled bootstrap's cold start next to a minimal Go Lambda
// built the same way, and a list page at 100 and at 100,000 items.
//
// Tables that are counts rather than timings (DynamoDB calls per route,
// binary sizes, peak memory over 1,000 invocations) are written by the
// TestReport* functions when -report names a folder; without it they skip,
// so `make test` runs none of this. infra/bench runs both and writes
// build/bench/results.md and results.json.
package bench_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/integration-hub/hub/internal/testenv"
)

// reportDir is where the TestReport* functions write their JSON tables.
var reportDir = flag.String("report", "", "write the report tables (JSON) to this folder; the TestReport functions skip without it")

func TestMain(m *testing.M) { testenv.Main(m) }

// needReport skips a report test unless -report is set, and returns the
// path of its JSON file.
func needReport(t *testing.T, name string) string {
	t.Helper()
	if *reportDir == "" {
		t.Skip("a report table: run with -report <folder> (infra/bench does)")
	}
	if err := os.MkdirAll(*reportDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(*reportDir, name)
}

// call is one DynamoDB call a client made.
type call struct {
	op     string
	params any
}

// recorder counts and keeps the DynamoDB calls of a client, from SDK
// middleware: one per call, whatever its retries.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) middleware(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("proof-recorder",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				r.mu.Lock()
				r.calls = append(r.calls, call{op: strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%T", in.Parameters), "*dynamodb."), "Input"), params: in.Parameters})
				r.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

// take returns the calls since the last take.
func (r *recorder) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

func names(calls []call) string {
	var out []string
	for _, c := range calls {
		out = append(out, c.op)
	}
	return strings.Join(out, " + ")
}

// timings collects per-iteration durations for a median.
type timings []time.Duration

func (ts timings) p50() time.Duration {
	if len(ts) == 0 {
		return 0
	}
	s := append(timings(nil), ts...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// reportMedian adds the median iteration as the benchmark's p50-ns metric.
func reportMedian(b *testing.B, ts timings) {
	b.ReportMetric(float64(ts.p50().Nanoseconds()), "p50-ns")
}
