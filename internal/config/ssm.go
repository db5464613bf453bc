package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SSM reads SecureString parameters with SSM's GetParameter, signed with
// the SDK's Signature Version 4 signer. It stands in for the SDK's SSM
// client, whose package initialisation alone cost every function 2 ms of
// its cold start (BenchmarkColdStart) for the one call made at init.
type SSM struct {
	Region      string
	Credentials aws.CredentialsProvider
	// Endpoint overrides https://ssm.<region>.amazonaws.com (as the SDK's
	// AWS_ENDPOINT_URL_SSM does).
	Endpoint string
	// HTTP is the client requests go through; nil means http.DefaultClient.
	HTTP *http.Client
	// Attempts bounds the tries of a throttled or failed call (default 5);
	// Backoff is the first wait between them, doubled each time, jittered
	// (default 100 ms).
	Attempts int
	Backoff  time.Duration
}

// SSMError is an error answer of SSM ("ParameterNotFound",
// "ThrottlingException", ...).
type SSMError struct {
	Status  int
	Type    string
	Message string
}

func (e *SSMError) Error() string {
	return fmt.Sprintf("ssm: %s (HTTP %d): %s", e.Type, e.Status, e.Message)
}

// retryable: throttled or failed on SSM's side; a refused request (an
// unknown parameter, denied access) fails the same way every time.
func (e *SSMError) retryable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests ||
		strings.Contains(e.Type, "Throttling") || e.Type == "InternalServerError"
}

func (s *SSM) endpoint() string {
	if s.Endpoint != "" {
		return strings.TrimRight(s.Endpoint, "/")
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(s.Region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return "https://ssm." + s.Region + "." + domain
}

// Parameter returns the decrypted value of the named parameter, retrying
// throttling, 5xx answers and network failures with jittered backoff.
func (s *SSM) Parameter(ctx context.Context, name string) (string, error) {
	if s.Region == "" {
		return "", errors.New("ssm: no region (AWS_REGION)")
	}
	attempts, backoff := s.Attempts, s.Backoff
	if attempts <= 0 {
		attempts = 5
	}
	if backoff <= 0 {
		backoff = 100 * time.Millisecond
	}
	var err error
	for attempt := 1; ; attempt++ {
		var value string
		value, err = s.getParameter(ctx, name)
		var ssmErr *SSMError
		if err == nil || (errors.As(err, &ssmErr) && !ssmErr.retryable()) || ctx.Err() != nil || attempt == attempts {
			return value, err
		}
		wait := backoff<<(attempt-1)/2 + rand.N(backoff<<(attempt-1)/2+1)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("ssm: %w after %v", ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}

func (s *SSM) getParameter(ctx context.Context, name string) (string, error) {
	body, err := json.Marshal(struct {
		Name           string
		WithDecryption bool
	}{name, true})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint()+"/", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("ssm: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("ssm: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", s.Region, time.Now()); err != nil {
		return "", fmt.Errorf("ssm: sign: %w", err)
	}
	hc := s.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("ssm: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("ssm: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		// "com.amazonaws...#ParameterNotFound" names the type after '#'.
		if i := strings.LastIndexByte(e.Type, '#'); i >= 0 {
			e.Type = e.Type[i+1:]
		}
		if e.Type == "" {
			e.Type = http.StatusText(resp.StatusCode)
		}
		return "", &SSMError{Status: resp.StatusCode, Type: e.Type, Message: e.Message}
	}
	var out struct{ Parameter struct{ Value *string } }
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("ssm: malformed answer: %w", err)
	}
	if out.Parameter.Value == nil {
		return "", fmt.Errorf("ssm: parameter %s has no value", name)
	}
	return *out.Parameter.Value, nil
}
