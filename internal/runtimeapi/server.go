package runtimeapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Header and trailer names of the Runtime API, as aws-lambda-go's
// runtime_api_client.go spells them.
const (
	headerRequestID          = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMS         = "Lambda-Runtime-Deadline-Ms"
	headerInvokedFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID            = "Lambda-Runtime-Trace-Id"
	// headerErrorType is also the trailer naming a failed streamed response.
	headerErrorType     = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody    = "Lambda-Runtime-Function-Error-Body"
	headerExtensionName = "Lambda-Extension-Name"
	headerExtensionID   = "Lambda-Extension-Identifier"
)

// invocation is one event on its way through the runtime. Whoever removes
// it from runtimeServer.inflight (or finds the process gone before it gets
// there) finishes it, so it is finished exactly once.
type invocation struct {
	requestID string
	event     []byte

	// Set when the runtime takes the event, under runtimeServer.mu.
	takenAt  time.Time
	watchdog *time.Timer

	done   chan struct{}
	result Result
	err    error
}

func newInvocation(event []byte) *invocation {
	return &invocation{requestID: newUUID(), event: event, done: make(chan struct{})}
}

func (inv *invocation) finish(result Result, err error) {
	result.RequestID = inv.requestID
	inv.result, inv.err = result, err
	close(inv.done)
}

// runtimeServer is the HTTP side of the harness: it hands queued
// invocations to the runtime and matches its answers to them.
type runtimeServer struct {
	functionARN string
	timeout     time.Duration
	onTimeout   func()

	pending  chan *invocation
	stopping chan struct{}

	readyOnce  sync.Once
	ready      chan struct{}
	readyAt    time.Time // set before ready is closed
	initOnce   sync.Once
	initFailed chan struct{}
	initErr    *FunctionError // set before initFailed is closed

	sigtermEnabled atomic.Bool

	mu       sync.Mutex
	inflight map[string]*invocation
	exitErr  error
}

func newRuntimeServer(functionARN string, timeout time.Duration, onTimeout func()) *runtimeServer {
	return &runtimeServer{
		functionARN: functionARN,
		timeout:     timeout,
		onTimeout:   onTimeout,
		pending:     make(chan *invocation),
		stopping:    make(chan struct{}),
		ready:       make(chan struct{}),
		initFailed:  make(chan struct{}),
		inflight:    make(map[string]*invocation),
	}
}

func (s *runtimeServer) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.handleInvocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.handleInitError)
	mux.HandleFunc("POST /2020-01-01/extension/register", s.handleRegisterExtension)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", s.handleNextExtensionEvent)
	return mux
}

func (s *runtimeServer) handleNext(w http.ResponseWriter, r *http.Request) {
	s.readyOnce.Do(func() {
		s.readyAt = time.Now()
		close(s.ready)
	})
	var inv *invocation
	select {
	case inv = <-s.pending:
	case <-r.Context().Done():
		return
	case <-s.stopping:
		return
	}
	if !s.take(inv) {
		writeAPIError(w, http.StatusInternalServerError, "Runtime.ExitError", "the function process exited")
		return
	}
	h := w.Header()
	h.Set(headerRequestID, inv.requestID)
	h.Set(headerDeadlineMS, strconv.FormatInt(inv.takenAt.Add(s.timeout).UnixMilli(), 10))
	h.Set(headerInvokedFunctionARN, s.functionARN)
	h.Set(headerTraceID, newTraceID(inv.takenAt))
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(inv.event)
}

// take marks inv as handed to the runtime and starts its timeout, or
// finishes it at once when the process is already gone.
func (s *runtimeServer) take(inv *invocation) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exitErr != nil {
		inv.finish(Result{}, s.exitErr)
		return false
	}
	inv.takenAt = time.Now()
	s.inflight[inv.requestID] = inv
	inv.watchdog = time.AfterFunc(s.timeout, func() { s.expire(inv.requestID) })
	return true
}

// claim removes the invocation with requestID from the in-flight set, so
// the caller is the one to finish it.
func (s *runtimeServer) claim(requestID string) (*invocation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.inflight[requestID]
	if ok {
		delete(s.inflight, requestID)
		inv.watchdog.Stop()
	}
	return inv, ok
}

func (s *runtimeServer) expire(requestID string) {
	inv, ok := s.claim(requestID)
	if !ok {
		return
	}
	inv.finish(Result{Duration: time.Since(inv.takenAt)}, fmt.Errorf("%w after %.2f seconds", ErrTimeout, s.timeout.Seconds()))
	s.onTimeout()
}

// failInflight finishes every invocation the runtime holds with err, and
// any it is handed later.
func (s *runtimeServer) failInflight(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exitErr = err
	for requestID, inv := range s.inflight {
		delete(s.inflight, requestID)
		inv.watchdog.Stop()
		inv.finish(Result{Duration: time.Since(inv.takenAt)}, err)
	}
}

func (s *runtimeServer) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.claim(r.PathValue("id"))
	if !ok {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight with request id "+r.PathValue("id"))
		return
	}
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayloadBytes))
	result := Result{Duration: time.Since(inv.takenAt), ContentType: r.Header.Get("Content-Type")}
	if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
		result.Error = &FunctionError{
			Type:    "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayloadBytes),
		}
		inv.finish(result, nil)
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", result.Error.Message)
		return
	}
	if err != nil {
		inv.finish(result, fmt.Errorf("runtimeapi: reading the response to %s: %w", inv.requestID, err))
		writeAPIError(w, http.StatusBadRequest, "InvalidResponse", err.Error())
		return
	}
	// aws-lambda-go reports a response reader that failed part way through
	// in trailers, after whatever it had already streamed.
	if errorType := r.Trailer.Get(headerErrorType); errorType != "" {
		result.Error = decodeTrailerError(errorType, r.Trailer.Get(trailerErrorBody))
	} else {
		result.Payload = payload
	}
	inv.finish(result, nil)
	writeAccepted(w)
}

func decodeTrailerError(errorType, encodedBody string) *FunctionError {
	body, err := base64.StdEncoding.DecodeString(encodedBody)
	if err != nil {
		return &FunctionError{Type: errorType}
	}
	return parseFunctionError(errorType, body)
}

func (s *runtimeServer) handleInvocationError(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.claim(r.PathValue("id"))
	if !ok {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight with request id "+r.PathValue("id"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayloadBytes))
	result := Result{Duration: time.Since(inv.takenAt)}
	if err != nil {
		inv.finish(result, fmt.Errorf("runtimeapi: reading the error for %s: %w", inv.requestID, err))
		writeAPIError(w, http.StatusBadRequest, "InvalidErrorBody", err.Error())
		return
	}
	result.Error = parseFunctionError(r.Header.Get(headerErrorType), body)
	inv.finish(result, nil)
	writeAccepted(w)
}

func (s *runtimeServer) handleInitError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.ready:
		writeAPIError(w, http.StatusForbidden, "InvalidStateTransition", "init/error after the runtime asked for an invocation")
		return
	default:
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayloadBytes))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidErrorBody", err.Error())
		return
	}
	s.initOnce.Do(func() {
		s.initErr = parseFunctionError(r.Header.Get(headerErrorType), body)
		close(s.initFailed)
	})
	writeAccepted(w)
}

// reportedInitError is the error the runtime reported through init/error,
// if any.
func (s *runtimeServer) reportedInitError() error {
	select {
	case <-s.initFailed:
		return s.initErr
	default:
		return nil
	}
}

// parseFunctionError reads Lambda's error document; as Lambda does, it falls
// back to the error type header when the body is missing or not one.
func parseFunctionError(errorTypeHeader string, body []byte) *FunctionError {
	var fe FunctionError
	if err := json.Unmarshal(body, &fe); err != nil {
		fe = FunctionError{Message: string(body)}
	}
	if fe.Type == "" {
		fe.Type = errorTypeHeader
	}
	if fe.Type == "" {
		fe.Type = "Runtime.Unknown"
	}
	return &fe
}

// handleRegisterExtension accepts the internal extension lambda.WithEnableSIGTERM
// registers; registering any extension is what makes Lambda send SIGTERM
// before SIGKILL.
func (s *runtimeServer) handleRegisterExtension(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(headerExtensionName) == "" {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", headerExtensionName+" header is required")
		return
	}
	s.sigtermEnabled.Store(true)
	w.Header().Set(headerExtensionID, newUUID())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "{}")
}

func (s *runtimeServer) handleNextExtensionEvent(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.stopping:
	}
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func writeAPIError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(FunctionError{Type: errorType, Message: message})
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newTraceID is an X-Ray trace header in Lambda's format, not sampled.
func newTraceID(at time.Time) string {
	var root [12]byte
	var parent [8]byte
	rand.Read(root[:])
	rand.Read(parent[:])
	return fmt.Sprintf("Root=1-%08x-%x;Parent=%x;Sampled=0", at.Unix(), root, parent)
}
