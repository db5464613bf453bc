// Package runtimeapi runs a compiled Lambda bootstrap on this machine the way
// `sam local invoke` does: it serves the part of the Lambda Runtime API that
// aws-lambda-go's client calls, starts the binary against it with the
// environment Lambda would give it, and hands it one invocation at a time.
//
// Served on a free 127.0.0.1 port (AWS_LAMBDA_RUNTIME_API):
//
//	GET  /2018-06-01/runtime/invocation/next           blocks until Invoke queues an event
//	POST /2018-06-01/runtime/invocation/{id}/response  the handler's result (202)
//	POST /2018-06-01/runtime/invocation/{id}/error     the handler's error or panic (202)
//	POST /2018-06-01/runtime/init/error                a failed init, before the first next (202)
//	POST /2020-01-01/extension/register                lambda.WithEnableSIGTERM's internal extension
//	GET  /2020-01-01/extension/event/next              blocks: that extension subscribes to no events
//
// Like Lambda, a function that registered the extension gets SIGTERM and a
// short grace period on Stop, any other gets SIGKILL; an invocation that
// outlives its timeout kills the process; and after a panic the Go runtime
// exits, so later invocations report ErrExited instead of starting a fresh
// process. Build compiles a function for this machine to run.
package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Lambda's limits and defaults the harness applies.
const (
	// DefaultTimeout is a function's timeout when WithTimeout is not given.
	DefaultTimeout = 3 * time.Second
	// DefaultMemoryMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE when WithMemoryMB
	// is not given; the harness does not enforce it.
	DefaultMemoryMB = 128
	// DefaultRegion is AWS_REGION and the invoked ARN's region when
	// WithRegion is not given.
	DefaultRegion = "us-east-1"
	// MaxPayloadBytes is the limit on a synchronous invocation's event and
	// on its response.
	MaxPayloadBytes = 6 << 20

	initTimeout   = 10 * time.Second
	shutdownGrace = 500 * time.Millisecond
	accountID     = "123456789012"
)

// errProcessGone is runningPeakRSS's word that the process has exited.
var errProcessGone = errors.New("the process has exited")

var (
	// ErrExited is returned by Invoke once the function's process is gone:
	// after a panic, a timeout, a crash or Stop.
	ErrExited = errors.New("runtimeapi: function process exited")
	// ErrTimeout is returned by Invoke when the function did not answer
	// within its timeout; the process is killed, as Lambda does.
	ErrTimeout = errors.New("runtimeapi: task timed out")
)

// Result is one invocation's outcome as the function reported it. A function
// error is a result, not a Go error: Error is set and Payload is empty.
type Result struct {
	RequestID string
	Payload   []byte
	// ContentType is what the runtime sent with the response:
	// application/octet-stream from aws-lambda-go unless the handler's
	// result names another.
	ContentType string
	Error       *FunctionError
	// Duration runs from the runtime receiving the event to the harness
	// receiving its response.
	Duration time.Duration
}

// FunctionError is Lambda's error document, as a function's runtime reports
// a handler error, a panic or a failed init.
type FunctionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
	// StackTrace is kept as sent; aws-lambda-go sends frames for panics.
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Option changes how Start runs a function.
type Option func(*settings)

type settings struct {
	functionName string
	memoryMB     int
	timeout      time.Duration
	region       string
	logs         io.Writer
	workDir      string
}

// WithFunctionName sets AWS_LAMBDA_FUNCTION_NAME and the invoked ARN; the
// default is the name of the folder holding the bootstrap.
func WithFunctionName(name string) Option { return func(s *settings) { s.functionName = name } }

// WithMemoryMB sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
func WithMemoryMB(mb int) Option { return func(s *settings) { s.memoryMB = mb } }

// WithTimeout sets the function's timeout, which each invocation's deadline
// is computed from.
func WithTimeout(timeout time.Duration) Option { return func(s *settings) { s.timeout = timeout } }

// WithRegion sets AWS_REGION, AWS_DEFAULT_REGION and the invoked ARN's region.
func WithRegion(region string) Option { return func(s *settings) { s.region = region } }

// WithLogs receives the function's stdout and stderr. Without it they are
// discarded. Writes come from one goroutine at a time.
func WithLogs(w io.Writer) Option { return func(s *settings) { s.logs = w } }

// WithWorkDir sets the process's working directory. The default is the
// bootstrap's folder, as Lambda runs it in LAMBDA_TASK_ROOT.
func WithWorkDir(dir string) Option { return func(s *settings) { s.workDir = dir } }

// Function is one bootstrap process running under the harness.
type Function struct {
	name       string
	cmd        *exec.Cmd
	server     *runtimeServer
	httpServer *http.Server
	startedAt  time.Time

	exited  chan struct{}
	exitErr error // set before exited is closed

	killMu     sync.Mutex
	killReason string

	stopOnce sync.Once
	stopErr  error
}

// Start serves the Runtime API, starts the bootstrap against it and waits
// until the runtime asks for its first invocation, so init errors surface
// here. ctx bounds that wait only; the process runs until Stop, which the
// caller must call once Start has succeeded.
//
// The process gets Lambda's reserved variables (as `sam local invoke` sets
// them, placeholder credentials included), then env, which may override all
// of them but AWS_LAMBDA_RUNTIME_API. It runs in its own process group, which
// Stop kills, and is killed if the calling process dies.
func Start(ctx context.Context, bootstrap string, env []string, opts ...Option) (*Function, error) {
	bootstrap, err := filepath.Abs(bootstrap)
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: bootstrap path: %w", err)
	}
	cfg := settings{
		functionName: filepath.Base(filepath.Dir(bootstrap)),
		memoryMB:     DefaultMemoryMB,
		timeout:      DefaultTimeout,
		region:       DefaultRegion,
		workDir:      filepath.Dir(bootstrap),
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.timeout <= 0 {
		return nil, fmt.Errorf("runtimeapi: timeout %v is not positive", cfg.timeout)
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: listen for the runtime API: %w", err)
	}
	f := &Function{name: cfg.functionName, exited: make(chan struct{})}
	functionARN := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", cfg.region, accountID, cfg.functionName)
	f.server = newRuntimeServer(functionARN, cfg.timeout, func() {
		f.kill(fmt.Sprintf("timed out after %v", cfg.timeout))
	})
	f.httpServer = &http.Server{Handler: f.server.routes(), ReadHeaderTimeout: 10 * time.Second}
	go f.httpServer.Serve(listener)

	cmd := exec.Command(bootstrap)
	cmd.Dir = cfg.workDir
	cmd.Env = append(lambdaEnv(cfg, bootstrap), env...)
	cmd.Env = append(cmd.Env, "AWS_LAMBDA_RUNTIME_API="+listener.Addr().String())
	if cfg.logs != nil {
		cmd.Stdout, cmd.Stderr = cfg.logs, cfg.logs
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second
	f.cmd = cmd

	f.startedAt = time.Now()
	if err := cmd.Start(); err != nil {
		f.httpServer.Close()
		return nil, fmt.Errorf("runtimeapi: start %s: %w", bootstrap, err)
	}
	go f.awaitExit()

	if err := f.awaitInit(ctx); err != nil {
		if stopErr := f.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, fmt.Errorf("runtimeapi: %s: init: %w", f.name, err)
	}
	return f, nil
}

func lambdaEnv(cfg settings, bootstrap string) []string {
	return []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + cfg.functionName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(cfg.memoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(math.Ceil(cfg.timeout.Seconds()))),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + cfg.functionName,
		"AWS_LAMBDA_LOG_STREAM_NAME=$LATEST",
		"AWS_REGION=" + cfg.region,
		"AWS_DEFAULT_REGION=" + cfg.region,
		"AWS_ACCOUNT_ID=" + accountID,
		"AWS_ACCESS_KEY_ID=defaultkey",
		"AWS_SECRET_ACCESS_KEY=defaultsecret",
		"AWS_SAM_LOCAL=true",
		"_HANDLER=" + filepath.Base(bootstrap),
		"LAMBDA_TASK_ROOT=" + filepath.Dir(bootstrap),
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	}
}

func (f *Function) awaitInit(ctx context.Context) error {
	timer := time.NewTimer(initTimeout)
	defer timer.Stop()
	select {
	case <-f.server.ready:
		return nil
	case <-f.server.initFailed:
		return f.server.reportedInitError()
	case <-f.exited:
		if initErr := f.server.reportedInitError(); initErr != nil {
			return initErr
		}
		return f.exitErr
	case <-timer.C:
		return fmt.Errorf("the runtime did not ask for an invocation within %v", initTimeout)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (f *Function) awaitExit() {
	waitErr := f.cmd.Wait()
	status := "exit status 0"
	if waitErr != nil {
		status = waitErr.Error()
	}
	f.killMu.Lock()
	if f.killReason != "" {
		status += " (" + f.killReason + ")"
	}
	f.killMu.Unlock()
	f.exitErr = fmt.Errorf("%w: %s", ErrExited, status)
	f.server.failInflight(f.exitErr)
	close(f.exited)
}

// kill sends SIGKILL to the process group.
func (f *Function) kill(reason string) {
	f.noteKillReason(reason)
	f.signalGroup(syscall.SIGKILL)
}

// noteKillReason records why the harness ends the process; the first reason
// is the one ErrExited reports.
func (f *Function) noteKillReason(reason string) {
	f.killMu.Lock()
	defer f.killMu.Unlock()
	if f.killReason == "" {
		f.killReason = reason
	}
}

func (f *Function) signalGroup(sig syscall.Signal) {
	// The group outlives its leader while children remain; ESRCH means
	// nothing is left to signal.
	_ = syscall.Kill(-f.cmd.Process.Pid, sig)
}

// Invoke hands event to the function once the runtime asks for it and waits
// for the response. Concurrent calls on one Function are served one at a
// time, as one Lambda execution environment serves them. If ctx ends after
// the runtime took the event, Invoke returns but the invocation runs on under
// its timeout.
func (f *Function) Invoke(ctx context.Context, event []byte) (Result, error) {
	if len(event) > MaxPayloadBytes {
		return Result{}, fmt.Errorf("runtimeapi: event of %d bytes is over Lambda's %d-byte limit", len(event), MaxPayloadBytes)
	}
	select {
	case <-f.exited:
		return Result{}, f.exitErr
	default:
	}
	inv := newInvocation(event)
	select {
	case f.server.pending <- inv:
	case <-f.exited:
		return Result{}, f.exitErr
	case <-ctx.Done():
		return Result{}, fmt.Errorf("runtimeapi: waiting for the runtime to take the event: %w", context.Cause(ctx))
	}
	select {
	case <-inv.done:
		return inv.result, inv.err
	case <-ctx.Done():
		return Result{}, fmt.Errorf("runtimeapi: waiting for request %s: %w", inv.requestID, context.Cause(ctx))
	}
}

// ReadyAfter is the time from starting the process to its first request for
// an invocation: the cold start, without Lambda's own overhead.
func (f *Function) ReadyAfter() time.Duration {
	return f.server.readyAt.Sub(f.startedAt)
}

// PID is the function process's id, which is also its process group's.
func (f *Function) PID() int { return f.cmd.Process.Pid }

// PeakRSS is the process's peak resident set size in bytes: VmHWM while it
// runs, the kernel's rusage once it has exited.
func (f *Function) PeakRSS() (int64, error) {
	select {
	case <-f.exited:
		return exitedPeakRSS(f.cmd.ProcessState)
	default:
	}
	peak, err := runningPeakRSS(f.cmd.Process.Pid)
	if errors.Is(err, errProcessGone) {
		// It has exited and awaitExit is reaping it, or has.
		<-f.exited
		return exitedPeakRSS(f.cmd.ProcessState)
	}
	if err != nil {
		return 0, fmt.Errorf("runtimeapi: peak RSS of %s: %w", f.name, err)
	}
	return peak, nil
}

// Stop ends the process group and the Runtime API server. A function that
// enabled SIGTERM gets it first and a grace period to exit. Stop may be
// called more than once.
func (f *Function) Stop() error {
	f.stopOnce.Do(func() {
		f.noteKillReason("stopped")
		if f.server.sigtermEnabled.Load() {
			f.signalGroup(syscall.SIGTERM)
			grace := time.NewTimer(shutdownGrace)
			select {
			case <-f.exited:
			case <-grace.C:
			}
			grace.Stop()
		}
		f.kill("stopped")
		<-f.exited
		close(f.server.stopping)
		if err := f.httpServer.Close(); err != nil {
			f.stopErr = fmt.Errorf("runtimeapi: close the runtime API server: %w", err)
		}
	})
	return f.stopErr
}
