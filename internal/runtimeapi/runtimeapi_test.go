package runtimeapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/runtimeapi"
)

// echoBootstrap is testdata/echo built once for every test.
var echoBootstrap string

const parentModeEnv = "RUNTIMEAPI_TEST_PARENT_OF"

func TestMain(m *testing.M) {
	if bootstrap := os.Getenv(parentModeEnv); bootstrap != "" {
		os.Exit(runAsParent(bootstrap))
	}
	os.Exit(buildEchoAndRun(m))
}

func buildEchoAndRun(m *testing.M) int {
	outDir, err := os.MkdirTemp("", "runtimeapi-echo-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(outDir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	echoBootstrap, err = runtimeapi.Build(ctx, "testdata/echo", outDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// runAsParent starts the function with its logs on stdout, prints its pid
// and keeps it busy until this process is killed, for
// TestParentDeathKillsFunction.
func runAsParent(bootstrap string) int {
	f, err := runtimeapi.Start(context.Background(), bootstrap, nil,
		runtimeapi.WithLogs(os.Stdout), runtimeapi.WithTimeout(time.Minute))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(f.PID())
	_, err = f.Invoke(context.Background(), []byte(`{"sleepMs":60000}`))
	fmt.Fprintln(os.Stderr, "the parent outlived a minute-long invocation:", err)
	return 1
}

func startEcho(t *testing.T, env []string, opts ...runtimeapi.Option) (*runtimeapi.Function, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	f, err := runtimeapi.Start(ctx, echoBootstrap, env, append([]runtimeapi.Option{runtimeapi.WithLogs(logs)}, opts...)...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return f, logs
}

func invoke(t *testing.T, f *runtimeapi.Function, event string) (runtimeapi.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return f.Invoke(ctx, []byte(event))
}

func TestInvokeOneProcess(t *testing.T) {
	f, logs := startEcho(t, nil)
	var requestIDs []string
	tests := []struct {
		name        string
		event       string
		wantPayload string
		wantError   *runtimeapi.FunctionError
	}{
		{name: "object round trip", event: `{"hello":"world","n":[1,2,3]}`, wantPayload: `{"hello":"world","n":[1,2,3]}`},
		{name: "empty object", event: `{}`, wantPayload: `{}`},
		{name: "handler error", event: `{"fail":true}`, wantError: &runtimeapi.FunctionError{Type: "errorString", Message: "failing as asked"}},
		{name: "undecodable event", event: `[1,2]`, wantError: &runtimeapi.FunctionError{Type: "wrapError", Message: "echo: decode event: json: cannot unmarshal array into Go value of type main.instructions"}},
		{name: "works after an error", event: `{"after":"error"}`, wantPayload: `{"after":"error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := invoke(t, f, tt.event)
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if res.RequestID == "" {
				t.Error("RequestID is empty")
			}
			if string(res.Payload) != tt.wantPayload {
				t.Errorf("Payload = %s, want %s", res.Payload, tt.wantPayload)
			}
			switch {
			case tt.wantError == nil && res.Error != nil:
				t.Errorf("Error = %v, want none", res.Error)
			case tt.wantError != nil && (res.Error == nil || res.Error.Type != tt.wantError.Type || res.Error.Message != tt.wantError.Message):
				t.Errorf("Error = %+v, want %+v", res.Error, tt.wantError)
			}
			requestIDs = append(requestIDs, res.RequestID)
		})
	}
	if f.ReadyAfter() <= 0 {
		t.Errorf("ReadyAfter = %v, want > 0", f.ReadyAfter())
	}
	if peak, err := f.PeakRSS(); err != nil || peak < 1<<20 {
		t.Errorf("PeakRSS while running = %d, %v; want at least 1 MiB", peak, err)
	}
	if err := f.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, requestID := range requestIDs {
		if !strings.Contains(logs.String(), "echo: handling "+requestID) {
			t.Errorf("logs lack the handler's line for %s:\n%s", requestID, logs)
		}
	}
}

func TestInvokeConcurrentCallersShareOneProcess(t *testing.T) {
	f, _ := startEcho(t, nil)
	const callers = 8
	var wg sync.WaitGroup
	for caller := range callers {
		wg.Go(func() {
			event := fmt.Sprintf(`{"caller":%d}`, caller)
			res, err := invoke(t, f, event)
			if err != nil || string(res.Payload) != event {
				t.Errorf("caller %d: Invoke = %s, %v; want %s", caller, res.Payload, err, event)
			}
		})
	}
	wg.Wait()
}

func TestInvocationContextAndEnvironment(t *testing.T) {
	t.Setenv("RUNTIMEAPI_TEST_HOST_ONLY", "1")
	const timeout = 5 * time.Second
	f, _ := startEcho(t, []string{"HUB_TABLE=hub-test", "AWS_REGION=eu-west-1"},
		runtimeapi.WithFunctionName("EchoFunction"), runtimeapi.WithMemoryMB(256),
		runtimeapi.WithTimeout(timeout), runtimeapi.WithRegion("eu-west-1"))

	before := time.Now()
	res, err := invoke(t, f, `{"context":true}`)
	after := time.Now()
	if err != nil || res.Error != nil {
		t.Fatalf("Invoke = %v, %v", res.Error, err)
	}
	var got struct {
		RequestID          string   `json:"requestId"`
		InvokedFunctionARN string   `json:"invokedFunctionArn"`
		DeadlineMS         int64    `json:"deadlineMs"`
		TraceID            string   `json:"traceId"`
		FunctionName       string   `json:"functionName"`
		MemoryLimitMB      int      `json:"memoryLimitMb"`
		Environ            []string `json:"environ"`
	}
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatalf("decode %s: %v", res.Payload, err)
	}
	if got.RequestID != res.RequestID {
		t.Errorf("handler saw request id %q, Result has %q", got.RequestID, res.RequestID)
	}
	if want := "arn:aws:lambda:eu-west-1:123456789012:function:EchoFunction"; got.InvokedFunctionARN != want {
		t.Errorf("invoked ARN = %q, want %q", got.InvokedFunctionARN, want)
	}
	if lo, hi := before.Add(timeout).UnixMilli(), after.Add(timeout).UnixMilli(); got.DeadlineMS < lo || got.DeadlineMS > hi {
		t.Errorf("deadline = %d, want within [%d, %d]", got.DeadlineMS, lo, hi)
	}
	if !strings.HasPrefix(got.TraceID, "Root=1-") {
		t.Errorf("trace id = %q, want an X-Ray trace header", got.TraceID)
	}
	if got.FunctionName != "EchoFunction" || got.MemoryLimitMB != 256 {
		t.Errorf("lambdacontext has %q with %d MB, want EchoFunction with 256 MB", got.FunctionName, got.MemoryLimitMB)
	}
	for _, want := range []string{"HUB_TABLE=hub-test", "AWS_REGION=eu-west-1", "_HANDLER=bootstrap", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST"} {
		if !slices.Contains(got.Environ, want) {
			t.Errorf("environment lacks %s: %v", want, got.Environ)
		}
	}
	if slices.ContainsFunc(got.Environ, func(kv string) bool { return strings.HasPrefix(kv, "RUNTIMEAPI_TEST_HOST_ONLY=") }) {
		t.Error("the host's environment leaked into the function's")
	}
}

func TestInvocationThatEndsTheProcess(t *testing.T) {
	tests := []struct {
		name      string
		event     string
		timeout   time.Duration
		wantType  string // the function error reported, or
		wantErr   error  // the harness error
		wantExit  string
		wantInLog string
	}{
		{
			name: "panic", event: `{"panic":true}`, timeout: 5 * time.Second,
			wantType: "string", wantExit: "exit status 1", wantInLog: "echo: panicking as asked",
		},
		{
			name: "response over 6 MB", event: fmt.Sprintf(`{"responseBytes":%d}`, runtimeapi.MaxPayloadBytes+1), timeout: 5 * time.Second,
			wantType: "Function.ResponseSizeTooLarge", wantExit: "exit status 1",
		},
		{
			name: "handler ignores its deadline", event: `{"sleepMs":60000}`, timeout: 300 * time.Millisecond,
			wantErr: runtimeapi.ErrTimeout, wantExit: "signal: killed (timed out after 300ms)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, logs := startEcho(t, nil, runtimeapi.WithTimeout(tt.timeout))
			res, err := invoke(t, f, tt.event)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Invoke error = %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("Invoke: %v", err)
			case res.Error == nil || res.Error.Type != tt.wantType:
				t.Fatalf("Result.Error = %+v, want type %s", res.Error, tt.wantType)
			}

			if peak, err := f.PeakRSS(); err != nil || peak <= 0 {
				t.Errorf("PeakRSS of the ending process = %d, %v; want > 0", peak, err)
			}
			_, err = invoke(t, f, `{}`)
			if !errors.Is(err, runtimeapi.ErrExited) || !strings.Contains(err.Error(), tt.wantExit) {
				t.Errorf("next Invoke error = %v, want ErrExited with %q", err, tt.wantExit)
			}
			if err := f.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if !strings.Contains(logs.String(), tt.wantInLog) {
				t.Errorf("logs lack %q:\n%s", tt.wantInLog, logs)
			}
		})
	}
}

func TestInvokeGivesUpWithContext(t *testing.T) {
	f, _ := startEcho(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Invoke(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Invoke with a cancelled context = %v, want context.Canceled", err)
	}
	if res, err := invoke(t, f, `{"still":"serving"}`); err != nil || string(res.Payload) != `{"still":"serving"}` {
		t.Errorf("next Invoke = %s, %v", res.Payload, err)
	}
}

func TestStartReportsFailedInit(t *testing.T) {
	logs := &bytes.Buffer{}
	_, err := runtimeapi.Start(t.Context(), echoBootstrap, []string{"ECHO_FAIL_INIT=1"}, runtimeapi.WithLogs(logs))
	if !errors.Is(err, runtimeapi.ErrExited) || !strings.Contains(err.Error(), "init") {
		t.Errorf("Start = %v, want an init error wrapping ErrExited", err)
	}
	if !strings.Contains(logs.String(), "echo: failing init as asked") {
		t.Errorf("logs lack the init failure:\n%s", logs)
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	tests := []struct {
		name       string
		env        []string
		wantInLogs string
	}{
		{name: "SIGKILL"},
		{name: "SIGTERM first when enabled", env: []string{"ECHO_ENABLE_SIGTERM=1"}, wantInLogs: "echo: SIGTERM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, logs := startEcho(t, tt.env)
			if _, err := invoke(t, f, `{}`); err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			for range 2 {
				if err := f.Stop(); err != nil {
					t.Fatalf("Stop: %v", err)
				}
			}
			pid := f.PID()
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process %d after Stop: kill(0) = %v, want ESRCH", pid, err)
			}
			if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process group %d after Stop: kill(0) = %v, want ESRCH", pid, err)
			}
			if _, err := invoke(t, f, `{}`); !errors.Is(err, runtimeapi.ErrExited) {
				t.Errorf("Invoke after Stop = %v, want ErrExited", err)
			}
			if peak, err := f.PeakRSS(); err != nil || peak <= 0 {
				t.Errorf("PeakRSS after Stop = %d, %v; want > 0", peak, err)
			}
			if !strings.Contains(logs.String(), tt.wantInLogs) {
				t.Errorf("logs lack %q:\n%s", tt.wantInLogs, logs)
			}
		})
	}
}

// TestParentDeathKillsFunction kills the harness while the function is busy
// in a handler, so only the kernel's parent-death signal can end it in time.
func TestParentDeathKillsFunction(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), parentModeEnv+"="+echoBootstrap)
	parent.Stderr = os.Stderr
	stdout, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatalf("start the parent: %v", err)
	}
	t.Cleanup(func() {
		parent.Process.Kill()
		parent.Wait()
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("the parent printed no pid: %v", lines.Err())
	}
	pid, err := strconv.Atoi(lines.Text())
	if err != nil {
		t.Fatalf("parent printed %q, want a pid", lines.Text())
	}
	t.Cleanup(func() { syscall.Kill(-pid, syscall.SIGKILL) })
	for !strings.HasPrefix(lines.Text(), "echo: handling") {
		if !lines.Scan() {
			t.Fatalf("the function never logged its invocation: %v", lines.Err())
		}
	}
	if err := parent.Process.Kill(); err != nil {
		t.Fatalf("kill the parent: %v", err)
	}

	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for processAlive(pid) {
		select {
		case <-deadline.C:
			t.Fatalf("function %d still runs 5s after its parent died", pid)
		case <-poll.C:
		}
	}
}

// processAlive reports whether pid runs; a zombie waiting for a reaper that
// is not its parent counts as dead.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, afterName, ok := bytes.Cut(stat, []byte(") "))
	return ok && len(afterName) > 0 && afterName[0] != 'Z' && afterName[0] != 'X'
}
