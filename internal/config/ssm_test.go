package config_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/integration-hub/hub/internal/config"
)

// fakeSSM answers GetParameter like SSM: the first `failures` calls with
// failStatus/failType, then the value.
func fakeSSM(t *testing.T, failures int32, failStatus int, failType string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if got := r.Header.Get("X-Amz-Target"); got != "AmazonSSM.GetParameter" {
			t.Errorf("X-Amz-Target = %q", got)
		}
		if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/eu-west-1/ssm/aws4_request") {
			t.Errorf("request not signed for ssm in eu-west-1: %q", auth)
		}
		if r.Header.Get("X-Amz-Security-Token") != "session" {
			t.Errorf("session token not sent")
		}
		var in struct {
			Name           string
			WithDecryption bool
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &in); err != nil || in.Name != "/hub/key" || !in.WithDecryption {
			t.Errorf("body = %s", body)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if n <= failures {
			w.WriteHeader(failStatus)
			_, _ = io.WriteString(w, `{"__type":"com.amazonaws.ssm#`+failType+`","message":"no"}`)
			return
		}
		_, _ = io.WriteString(w, `{"Parameter":{"Name":"/hub/key","Type":"SecureString","Value":"c2VjcmV0","Version":3}}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func newSSM(endpoint string) *config.SSM {
	return &config.SSM{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "session"),
		Endpoint:    endpoint,
		Backoff:     time.Millisecond,
	}
}

func TestSSMParameterIsReadWithASignedGetParameter(t *testing.T) {
	srv, calls := fakeSSM(t, 0, 0, "")
	got, err := newSSM(srv.URL).Parameter(context.Background(), "/hub/key")
	if err != nil || got != "c2VjcmV0" || calls.Load() != 1 {
		t.Fatalf("Parameter = %q, %v after %d calls; want the value in one call", got, err, calls.Load())
	}
}

func TestSSMRetriesThrottlingAndServerErrorsButNotARefusal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failures  int32
		status    int
		errType   string
		wantCalls int32
		wantErr   string // "" when the value must come back
	}{
		{"throttled twice then served", 2, http.StatusBadRequest, "ThrottlingException", 3, ""},
		{"5xx twice then served", 2, http.StatusInternalServerError, "InternalServerError", 3, ""},
		{"throttled past the attempts", 10, http.StatusBadRequest, "ThrottlingException", 5, "ThrottlingException"},
		{"unknown parameter is not retried", 10, http.StatusBadRequest, "ParameterNotFound", 1, "ParameterNotFound"},
		{"denied access is not retried", 10, http.StatusBadRequest, "AccessDeniedException", 1, "AccessDeniedException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := fakeSSM(t, tc.failures, tc.status, tc.errType)
			got, err := newSSM(srv.URL).Parameter(context.Background(), "/hub/key")
			if calls.Load() != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tc.wantCalls)
			}
			if tc.wantErr == "" {
				if err != nil || got != "c2VjcmV0" {
					t.Fatalf("Parameter = %q, %v; want the value", got, err)
				}
				return
			}
			var ssmErr *config.SSMError
			if !errors.As(err, &ssmErr) || ssmErr.Type != tc.wantErr {
				t.Fatalf("err = %v, want an SSMError of type %s", err, tc.wantErr)
			}
		})
	}
}
