package bench_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/runtimeapi"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/testenv"
)

// minimal is the baseline Lambda (testdata/minimal); clientOnly is the
// minimal Lambda with the DynamoDB client linked and constructed
// (testdata/dynamodb-client), a second baseline for cold start that shows
// the SDK's share.
const (
	minimal    = "minimal"
	clientOnly = "dynamodb-client"
)

// baselines are the Lambdas the functions are measured against, in the
// order the tables list them after the functions.
var baselines = []string{minimal, clientOnly}

func isBaseline(name string) bool { return name == minimal || name == clientOnly }

// lambdas are the compiled bootstraps of every function and of the
// minimal Lambda, built once per test binary with the deploy flags for this
// machine (runtimeapi.Build), and the environment they run with.
type lambdas struct {
	root string
	bins map[string]string
	env  []string
	// calls counts the requests that reach DynamoDB Local through the
	// functions' endpoint.
	calls atomic.Int64
}

var (
	builtOnce sync.Once
	built     *lambdas
	builtErr  error
)

func buildLambdas(tb testing.TB) *lambdas {
	tb.Helper()
	builtOnce.Do(func() { built, builtErr = build(tb) })
	if builtErr != nil {
		tb.Fatal(builtErr)
	}
	return built
}

func build(tb testing.TB) (*lambdas, error) {
	tmpl, err := template.Find()
	if err != nil {
		return nil, err
	}
	l := &lambdas{root: filepath.Dir(tmpl), bins: map[string]string{}}
	out, err := os.MkdirTemp("", "hub-bench-bin-*")
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	dirs, err := filepath.Glob(filepath.Join(l.root, "functions", "*"))
	if err != nil {
		return nil, err
	}
	for _, b := range baselines {
		dirs = append(dirs, filepath.Join(l.root, "internal", "proof", "bench", "testdata", b))
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		bin, err := runtimeapi.Build(ctx, dir, filepath.Join(out, name))
		if err != nil {
			return nil, err
		}
		l.bins[name] = bin
	}

	// The functions reach DynamoDB Local through a proxy that counts the
	// requests, so a call made at init shows.
	endpoint := testenv.DynamoDBLocal(tb)
	target, _ := url.Parse(endpoint)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.calls.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	tm, err := template.Load()
	if err != nil {
		return nil, err
	}
	client, err := dynamo.NewClient(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	table := "bench-" + strings.ToLower(ids.New())
	if err := dynamo.CreateTable(ctx, client, table, tm.Table.Schema, tm.Table.StreamView); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(out, "master.key")
	// The master secret the notifier's event files were sealed with.
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))+"\n"), 0o600); err != nil {
		return nil, err
	}
	l.env = []string{
		"HUB_TABLE=" + table, "HUB_DYNAMODB_ENDPOINT=" + srv.URL, "HUB_KEY_FILE=" + keyFile,
		"HUB_PUBLIC_BASE_URL=https://hub.test", "HUB_SENDER=hub@hub.test", "HUB_SES_ENDPOINT=" + testenv.SESLocal(tb),
	}
	return l, nil
}

// names are the functions, sorted, then the baselines.
func (l *lambdas) names() []string {
	var out []string
	for n := range l.bins {
		if !isBaseline(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return append(out, baselines...)
}

// BenchmarkColdStart starts each compiled bootstrap under the Lambda
// Runtime API harness until it asks for its first invocation, next to the
// minimal Go Lambda built the same way (goal: at most 1.5 times it) and to
// the minimal Lambda with the DynamoDB client (what the SDK costs before
// the hub's own code). It reports the medians (ready-p50-ns,
// minimal-ready-p50-ns, client-ready-p50-ns) and the DynamoDB requests
// made before the first invocation (init-ddb-requests: goal 0).
func BenchmarkColdStart(b *testing.B) {
	l := buildLambdas(b)
	ctx := context.Background()
	start := func(b *testing.B, name string) time.Duration {
		f, err := runtimeapi.Start(ctx, l.bins[name], l.env, runtimeapi.WithFunctionName(name))
		if err != nil {
			b.Fatalf("start %s: %v", name, err)
		}
		ready := f.ReadyAfter()
		if err := f.Stop(); err != nil {
			b.Fatal(err)
		}
		return ready
	}
	for _, name := range l.names() {
		if isBaseline(name) {
			continue
		}
		// The function and the baselines start in turns, in rotating
		// order, so the machine's drift over the run falls on all alike
		// (measured apart, the functions started last looked slowest).
		b.Run("function="+name, func(b *testing.B) {
			var ts timings
			base := map[string]timings{}
			var initCalls int64
			order := append([]string{name}, baselines...)
			n := 0
			for b.Loop() {
				n++
				for turn := range order {
					who := order[(turn+n)%len(order)]
					if who != name {
						base[who] = append(base[who], start(b, who))
						continue
					}
					before := l.calls.Load()
					ts = append(ts, start(b, name))
					initCalls += l.calls.Load() - before
				}
			}
			b.ReportMetric(float64(ts.p50().Nanoseconds()), "ready-p50-ns")
			b.ReportMetric(float64(base[minimal].p50().Nanoseconds()), "minimal-ready-p50-ns")
			b.ReportMetric(float64(base[clientOnly].p50().Nanoseconds()), "client-ready-p50-ns")
			b.ReportMetric(float64(initCalls)/float64(len(ts)), "init-ddb-requests")
		})
	}
}

// heaviestEvents are the event files whose path costs the most memory:
// a sign-in verifies a password with argon2id at 19 MiB even for an
// unknown address.
var heaviestEvents = map[string]string{"auth": "auth/login-unknown-email.json"}

// eventFile is the event a function is invoked with: its heaviest, or the
// first of its files under events/ ("" for a baseline, which
// echoes any).
func (l *lambdas) eventFile(name string) string {
	if f, ok := heaviestEvents[name]; ok {
		return filepath.Join(l.root, "events", f)
	}
	files, _ := filepath.Glob(filepath.Join(l.root, "events", name, "*.json"))
	sort.Strings(files)
	if len(files) == 0 {
		return ""
	}
	return files[0]
}

func (l *lambdas) eventFor(tb testing.TB, name string) []byte {
	f := l.eventFile(name)
	if f == "" {
		return []byte(`{"hello":"world"}`)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// binaryRow is one function's line of the binaries table.
type binaryRow struct {
	Function string `json:"function"`
	// SizeBytes is the linux/arm64 bootstrap as deployed; HostSizeBytes
	// the one measured here.
	SizeBytes     int64  `json:"size_bytes"`
	HostSizeBytes int64  `json:"host_size_bytes"`
	Invocations   int    `json:"invocations"`
	Event         string `json:"event"`
	FunctionError string `json:"function_error,omitempty"`
	PeakRSSBytes  int64  `json:"peak_rss_bytes"`
}

// invocations is how many times TestReportBinaries invokes each function.
const invocations = 1000

// TestReportBinaries builds each function for linux/arm64 as deployed
// (size), and invokes its bootstrap built for this machine 1,000 times
// with its event file under the Runtime API harness: the peak resident
// memory of the process (goal: at most 64 MiB, so every function runs at
// 128 MB), next to the baselines'.
func TestReportBinaries(t *testing.T) {
	out := needReport(t, "binaries.json")
	l := buildLambdas(t)
	ctx := context.Background()
	armDir := t.TempDir()
	var rows []binaryRow
	for _, name := range l.names() {
		row := binaryRow{Function: name, Invocations: invocations}
		src := filepath.Join(l.root, "functions", name)
		if isBaseline(name) {
			src = filepath.Join(l.root, "internal", "proof", "bench", "testdata", name)
		}
		arm := filepath.Join(armDir, name)
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", arm, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s for linux/arm64: %v\n%s", name, err, b)
		}
		if fi, err := os.Stat(arm); err == nil {
			row.SizeBytes = fi.Size()
		}
		if fi, err := os.Stat(l.bins[name]); err == nil {
			row.HostSizeBytes = fi.Size()
		}
		event := l.eventFor(t, name)
		row.Event = eventName(l, name)
		f, err := runtimeapi.Start(ctx, l.bins[name], l.env, runtimeapi.WithFunctionName(name), runtimeapi.WithTimeout(10*time.Second))
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		for i := range invocations {
			res, err := f.Invoke(ctx, event)
			if err != nil {
				t.Fatalf("%s invocation %d: %v", name, i, err)
			}
			if res.Error != nil && row.FunctionError == "" {
				row.FunctionError = res.Error.Error()
			}
		}
		if row.PeakRSSBytes, err = f.PeakRSS(); err != nil {
			t.Fatal(err)
		}
		if err := f.Stop(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%-16s %8d bytes (arm64)  peak RSS %6.1f MiB over %d invocations of %s", name, row.SizeBytes, float64(row.PeakRSSBytes)/(1<<20), invocations, row.Event)
		rows = append(rows, row)
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func eventName(l *lambdas, name string) string {
	f := l.eventFile(name)
	if f == "" {
		return "(an echo)"
	}
	rel, _ := filepath.Rel(l.root, f)
	return rel
}
