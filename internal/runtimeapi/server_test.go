package runtimeapi

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// These tests play the runtime's side with plain HTTP, for the answers
// aws-lambda-go never gives on purpose.

const baseURL = "/2018-06-01/runtime/"

func newTestServer(t *testing.T) (*runtimeServer, *httptest.Server) {
	t.Helper()
	s := newRuntimeServer("arn:aws:lambda:us-east-1:123456789012:function:test", time.Minute, func() {})
	srv := httptest.NewServer(s.routes())
	t.Cleanup(func() {
		close(s.stopping)
		srv.Close()
	})
	return s, srv
}

// handOut queues an invocation and takes it as the runtime would.
func handOut(t *testing.T, s *runtimeServer, srv *httptest.Server) *invocation {
	t.Helper()
	inv := newInvocation([]byte(`{}`))
	go func() { s.pending <- inv }()
	resp, err := http.Get(srv.URL + baseURL + "invocation/next")
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get(headerRequestID); resp.StatusCode != http.StatusOK || got != inv.requestID {
		t.Fatalf("next = %d with request id %q, want 200 with %q", resp.StatusCode, got, inv.requestID)
	}
	return inv
}

func post(t *testing.T, req *http.Request) (status int, body string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestInvocationAnswers(t *testing.T) {
	tests := []struct {
		name        string
		request     func(url string) *http.Request
		wantStatus  int
		wantPayload string
		wantError   *FunctionError
	}{
		{
			name: "response",
			request: func(url string) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, url+"/response", strings.NewReader(`{"ok":true}`))
				return req
			},
			wantStatus:  http.StatusAccepted,
			wantPayload: `{"ok":true}`,
		},
		{
			name: "response that failed part way, in trailers",
			request: func(url string) *http.Request {
				// A body of unknown length goes chunked, so trailers can follow it.
				req, _ := http.NewRequest(http.MethodPost, url+"/response", io.MultiReader(strings.NewReader("partial")))
				req.Trailer = http.Header{
					headerErrorType:  {"readError"},
					trailerErrorBody: {base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"disk gone","errorType":"readError"}`))},
				}
				return req
			},
			wantStatus: http.StatusAccepted,
			wantError:  &FunctionError{Type: "readError", Message: "disk gone"},
		},
		{
			name: "response over the limit",
			request: func(url string) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, url+"/response", bytes.NewReader(make([]byte, MaxPayloadBytes+1)))
				return req
			},
			wantStatus: http.StatusRequestEntityTooLarge,
			wantError:  &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: "Response payload size exceeded maximum allowed payload size (6291456 bytes)."},
		},
		{
			name: "error document",
			request: func(url string) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, url+"/error", strings.NewReader(`{"errorMessage":"no such user","errorType":"NotFound"}`))
				return req
			},
			wantStatus: http.StatusAccepted,
			wantError:  &FunctionError{Type: "NotFound", Message: "no such user"},
		},
		{
			name: "error type only in the header",
			request: func(url string) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, url+"/error", nil)
				req.Header.Set(headerErrorType, "Runtime.Crash")
				return req
			},
			wantStatus: http.StatusAccepted,
			wantError:  &FunctionError{Type: "Runtime.Crash"},
		},
		{
			name: "error body that is not a document",
			request: func(url string) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, url+"/error", strings.NewReader("segfault"))
				return req
			},
			wantStatus: http.StatusAccepted,
			wantError:  &FunctionError{Type: "Runtime.Unknown", Message: "segfault"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newTestServer(t)
			inv := handOut(t, s, srv)
			status, body := post(t, tt.request(srv.URL+baseURL+"invocation/"+inv.requestID))
			if status != tt.wantStatus {
				t.Errorf("status = %d (%s), want %d", status, body, tt.wantStatus)
			}
			<-inv.done
			if inv.err != nil {
				t.Fatalf("invocation failed: %v", inv.err)
			}
			if string(inv.result.Payload) != tt.wantPayload {
				t.Errorf("Payload = %q, want %q", inv.result.Payload, tt.wantPayload)
			}
			got := inv.result.Error
			switch {
			case tt.wantError == nil && got != nil:
				t.Errorf("Error = %+v, want none", got)
			case tt.wantError != nil && (got == nil || got.Type != tt.wantError.Type || got.Message != tt.wantError.Message):
				t.Errorf("Error = %+v, want %+v", got, tt.wantError)
			}

			again, _ := http.NewRequest(http.MethodPost, srv.URL+baseURL+"invocation/"+inv.requestID+"/response", strings.NewReader(`{}`))
			if status, _ := post(t, again); status != http.StatusBadRequest {
				t.Errorf("second answer: status = %d, want 400", status)
			}
		})
	}
}

func TestInitError(t *testing.T) {
	tests := []struct {
		name       string
		afterReady bool
		wantStatus int
		wantErr    string
	}{
		{name: "during init", wantStatus: http.StatusAccepted, wantErr: "Runtime.ConfigError: no table"},
		{name: "after the first next", afterReady: true, wantStatus: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newTestServer(t)
			if tt.afterReady {
				handOut(t, s, srv)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+baseURL+"init/error", strings.NewReader(`{"errorMessage":"no table"}`))
			req.Header.Set(headerErrorType, "Runtime.ConfigError")
			if status, body := post(t, req); status != tt.wantStatus {
				t.Errorf("status = %d (%s), want %d", status, body, tt.wantStatus)
			}
			var gotErr string
			if err := s.reportedInitError(); err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("reported init error = %q, want %q", gotErr, tt.wantErr)
			}
		})
	}
}

func TestRegisterExtension(t *testing.T) {
	tests := []struct {
		name        string
		extension   string
		wantStatus  int
		wantSIGTERM bool
	}{
		{name: "named", extension: "GoLangEnableSIGTERM", wantStatus: http.StatusOK, wantSIGTERM: true},
		{name: "unnamed", wantStatus: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newTestServer(t)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/2020-01-01/extension/register", strings.NewReader(`{"events":[]}`))
			if tt.extension != "" {
				req.Header.Set(headerExtensionName, tt.extension)
			}
			if status, body := post(t, req); status != tt.wantStatus {
				t.Errorf("status = %d (%s), want %d", status, body, tt.wantStatus)
			}
			if got := s.sigtermEnabled.Load(); got != tt.wantSIGTERM {
				t.Errorf("SIGTERM enabled = %v, want %v", got, tt.wantSIGTERM)
			}
		})
	}
}
