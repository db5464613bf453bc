// Package faults_test breaks the hub's dependencies while it works: DynamoDB
// throttles, fails with 5xx, times out or loses its answer (an HTTP
// transport in the functions' client, dynamo.WithHTTPClient); SES throttles
// and rejects (sestest.Proxy); the local stack is killed in the middle of
// its writes. A request either succeeds after retries or answers 503 with
// nothing written; the notifier reports only the records that failed and
// never sends an email twice; a crash leaves no half-applied write.
package faults_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fault is what DynamoDB does to a request.
type fault string

const (
	throttled   fault = "throttled"
	serverError fault = "500"
	unavailable fault = "503"
	timedOut    fault = "timeout"
	// answerLost: DynamoDB applies the request, and its answer never
	// arrives.
	answerLost fault = "answer lost"
	// answerCut: DynamoDB answers, and the connection breaks while the
	// body is read.
	answerCut fault = "answer cut"
)

// faults is the transport of the functions' DynamoDB client. While armed,
// it fails the first `attempts` attempts of every call (every attempt when
// attempts is 0), telling attempts apart by the SDK's amz-sdk-request
// header.
type faults struct {
	// next reaches DynamoDB Local, a new connection each request: a
	// pooled connection the emulator closed while idle would fail an
	// attempt the test meant to succeed.
	next     http.Transport
	mu       sync.Mutex
	kind     fault
	armed    bool
	attempts int
	injected int
}

func newFaults() *faults {
	f := &faults{}
	f.next.DisableKeepAlives = true
	return f
}

func (f *faults) arm(kind fault, attempts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kind, f.armed, f.attempts, f.injected = kind, true, attempts, 0
}

func (f *faults) disarm() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = false
	return f.injected
}

// attempt is the SDK's attempt number of a request ("attempt=2; max=4").
func attempt(req *http.Request) int {
	var n, max int
	if _, err := fmt.Sscanf(req.Header.Get("Amz-Sdk-Request"), "attempt=%d; max=%d", &n, &max); err != nil {
		return 1
	}
	return n
}

func (f *faults) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	fail := f.armed && (f.attempts == 0 || attempt(req) <= f.attempts)
	kind := f.kind
	if fail {
		f.injected++
	}
	f.mu.Unlock()
	if !fail {
		return f.next.RoundTrip(req)
	}
	switch kind {
	case timedOut:
		drain(req)
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: timeoutError{}}
	case answerLost:
		resp, err := f.next.RoundTrip(req)
		if err == nil {
			drain(&http.Request{Body: resp.Body})
		}
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: timeoutError{}}
	case answerCut:
		resp, err := f.next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(io.MultiReader(strings.NewReader(string(body[:len(body)/2])), errReader{&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}))
		return resp, nil
	}
	drain(req)
	status, body := http.StatusBadRequest, awsError("ThrottlingException")
	switch kind {
	case serverError:
		status, body = http.StatusInternalServerError, awsError("InternalServerError")
	case unavailable:
		status, body = http.StatusServiceUnavailable, `{}`
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status),
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"injected"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req,
	}, nil
}

func awsError(errorType string) string {
	return `{"__type":"com.amazonaws.dynamodb.v20120810#` + errorType + `","message":"injected"}`
}

func drain(req *http.Request) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout (injected)" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var _ net.Error = timeoutError{}

// maxAttempts is the functions' client's attempts per call in these
// tests; transient faults fail all but two of them, leaving one to spare.
const (
	maxAttempts     = 5
	transientFaults = maxAttempts - 2
)

// request is one request the hub serves while DynamoDB fails; each call
// makes a fresh one (new addresses, the current ETag).
type request struct {
	name string
	make func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request
}

func fresh(org *prooftest.Org) string { return strings.ToLower(ids.New()) + "@" + org.Domain() }

// requests are reads and writes of each kind: single-item conditional
// writes, transactions of several items with guards and events, a read of
// one item and a query.
var requests = []request{
	{"invite a user", func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request {
		return prooftest.Request{Method: "POST", Path: "/users", Caller: org.Admin, Body: prooftest.JSONBody(map[string]string{"email": fresh(org)})}
	}},
	{"create a partner with its first user", func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request {
		return prooftest.Request{Method: "POST", Path: "/partners", Caller: org.Admin, Body: prooftest.JSONBody(map[string]any{
			"name": "Partner " + ids.New(), "mode": "create", "first_user": map[string]string{"email": fresh(org)}})}
	}},
	{"update the company", func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request {
		return prooftest.Request{Method: "PATCH", Path: "/company", Caller: org.Admin, IfMatch: h.ETag("/company", org.Admin),
			Body: prooftest.JSONBody(map[string]string{"name": "Acme " + ids.New()})}
	}},
	{"replace the notification settings", func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request {
		return prooftest.Request{Method: "PUT", Path: "/notifications", Caller: org.Admin, IfMatch: h.ETag("/notifications", org.Admin),
			Body: prooftest.JSONBody(map[string]any{"events": []map[string]any{{"name": "run.failed", "enabled": true, "addresses": []string{fresh(org)}}}})}
	}},
	{"create an API key", func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request {
		return prooftest.Request{Method: "POST", Path: "/api-keys", Caller: org.Admin, Body: []byte(`{"name":"faults","scopes":["tenants:read"]}`)}
	}},
	{"create an integration", func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request {
		return prooftest.Request{Method: "POST", Path: "/integrations", Caller: org.Admin, Body: prooftest.JSONBody(map[string]any{"name": "Integration " + ids.New(), "published": true})}
	}},
	{"create a tenant", func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request {
		return prooftest.Request{Method: "POST", Path: "/v2/tenants", Caller: org.Admin, Body: prooftest.JSONBody(map[string]string{
			"integration_id": org.Resource(prooftest.Integrations), "end_user_id": "faults-" + ids.New()})}
	}},
	{"delete an integration", func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request {
		created := h.MustDo(prooftest.Request{Method: "POST", Path: "/integrations", Caller: org.Admin,
			Body: prooftest.JSONBody(map[string]any{"name": "Deleted " + ids.New(), "published": true})}, http.StatusCreated)
		return prooftest.Request{Method: "DELETE", Path: "/integrations/" + created.Field("id"), Caller: org.Admin}
	}},
	{"list users", func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request {
		return prooftest.Request{Method: "GET", Path: "/users", Caller: org.Admin}
	}},
	{"read the company", func(h *prooftest.DynamoDBHub, org *prooftest.Org) prooftest.Request {
		return prooftest.Request{Method: "GET", Path: "/company", Caller: org.Admin}
	}},
}

// TestDynamoDBFaultsEndInSuccessOr503WithNothingWritten sends each request
// while the functions' DynamoDB client meets each fault: on the first
// attempts only, the request succeeds (the SDK's retries) and its writes
// are whole; on every attempt, it answers 503 with a problem document and
// Retry-After, and the table is exactly as before.
func TestDynamoDBFaultsEndInSuccessOr503WithNothingWritten(t *testing.T) {
	endpoint := testenv.DynamoDBLocal(t)
	f := newFaults()
	h := prooftest.OpenDynamoDB(t, endpoint, f, maxAttempts)
	org := h.NewOrg(principal.Standard)
	for _, kind := range []fault{throttled, serverError, unavailable, timedOut} {
		for _, req := range requests {
			t.Run(string(kind)+"/"+req.name, func(t *testing.T) {
				h.Reconnect()
				r := req.make(h, org)
				f.arm(kind, transientFaults)
				resp := h.Do(r)
				injected := f.disarm()
				if resp.Status >= 300 || injected == 0 {
					t.Errorf("with %d of %d attempts failing (%d injected): %s %s, want success after retries", transientFaults, maxAttempts, injected, resp.Summary(), resp.Body)
				}
				if broken := prooftest.Invariants(h.Scan(), time.Now()); len(broken) > 0 {
					t.Errorf("after a retried request: %s", strings.Join(broken, "; "))
				}

				r = req.make(h, org)
				before := prooftest.FromItems(h.Scan())
				f.arm(kind, 0)
				resp = h.Do(r)
				f.disarm()
				after := prooftest.FromItems(h.Scan())
				if resp.Status != http.StatusServiceUnavailable || !resp.IsProblem || resp.Problem.Code != "unavailable" || resp.Header.Get("Retry-After") == "" {
					t.Errorf("with every attempt failing: %s %s (Retry-After %q), want 503 unavailable with Retry-After", resp.Summary(), resp.Body, resp.Header.Get("Retry-After"))
				}
				if changes := prooftest.Diff(before, after); len(changes) > 0 {
					t.Errorf("a request that failed wrote: %s", prooftest.Describe(changes))
				}
			})
		}
	}
}

// TestALostOrCutAnswerLeavesTheWriteWholeOrAbsent loses DynamoDB's answer
// after DynamoDB applied the call (it never arrives, or the connection
// breaks while it is read), on the first attempt of every call or on
// every attempt. The SDK retries a call whose outcome it does not know;
// whatever the hub then answers, the table holds each write whole or not
// at all, and the answer is never a 5xx but 503.
func TestALostOrCutAnswerLeavesTheWriteWholeOrAbsent(t *testing.T) {
	endpoint := testenv.DynamoDBLocal(t)
	f := newFaults()
	h := prooftest.OpenDynamoDB(t, endpoint, f, maxAttempts)
	org := h.NewOrg(principal.Standard)
	cases := []struct {
		kind     fault
		attempts int // 0: every attempt
		// knownGap: the 5xx it answers today (it must still happen, so
		// that its fix removes it from here).
		knownGap string
	}{
		{answerLost, 1, ""},
		{answerCut, 1, ""},
		{answerLost, 0, ""},
		{answerCut, 0, ""},
	}
	for _, c := range cases {
		seen := false
		for _, req := range requests {
			name := fmt.Sprintf("%s on %s/%s", c.kind, map[bool]string{true: "every attempt", false: "the first attempt"}[c.attempts == 0], req.name)
			t.Run(name, func(t *testing.T) {
				h.Reconnect()
				r := req.make(h, org)
				f.arm(c.kind, c.attempts)
				resp := h.Do(r)
				f.disarm()
				t.Logf("answered %s", resp.Summary())
				if resp.Status >= 500 && resp.Status != http.StatusServiceUnavailable {
					if c.knownGap != "" {
						seen = true
						t.Logf("known gap: %s", c.knownGap)
					} else {
						t.Errorf("answered %s %s", resp.Summary(), resp.Body)
					}
				}
				if broken := prooftest.Invariants(h.Scan(), time.Now()); len(broken) > 0 {
					t.Errorf("half-applied: %s", strings.Join(broken, "; "))
				}
			})
		}
		if c.knownGap != "" && !seen {
			t.Errorf("known gap %q no longer happens: remove it", c.knownGap)
		}
	}
}

// TestAfterABrownoutTheRetryQuotaEndsRetriesWith503 fails every attempt
// of one execution environment's calls until the SDK's retry quota (a
// token bucket each client spends on retries and refills on successes) is
// spent. From then on a fault that a retry would have ridden out is not
// retried: the request answers 503, with nothing written, rather than
// hammering DynamoDB while it is failing; a new environment retries again.
func TestAfterABrownoutTheRetryQuotaEndsRetriesWith503(t *testing.T) {
	endpoint := testenv.DynamoDBLocal(t)
	f := newFaults()
	h := prooftest.OpenDynamoDB(t, endpoint, f, maxAttempts)
	org := h.NewOrg(principal.Standard)
	read := requests[len(requests)-1]
	f.arm(serverError, 0)
	spent := false
	for range 200 {
		h.Do(read.make(h, org))
		before := f.injected
		h.Do(read.make(h, org))
		if f.injected-before == 1 {
			spent = true // one attempt, no retry
			break
		}
	}
	f.disarm()
	if !spent {
		t.Fatal("200 failing calls did not spend the retry quota")
	}
	invite := requests[0]
	before := prooftest.FromItems(h.Scan())
	f.arm(serverError, 1)
	resp := h.Do(invite.make(h, org))
	f.disarm()
	if resp.Status != http.StatusServiceUnavailable || resp.Problem.Code != "unavailable" {
		t.Errorf("with the quota spent, one failed attempt: %s %s, want 503 unavailable", resp.Summary(), resp.Body)
	}
	if changes := prooftest.Diff(before, prooftest.FromItems(h.Scan())); len(changes) > 0 {
		t.Errorf("wrote: %s", prooftest.Describe(changes))
	}
	h.Reconnect()
	f.arm(serverError, 1)
	resp = h.Do(invite.make(h, org))
	f.disarm()
	if resp.Status != http.StatusCreated {
		t.Errorf("in a new environment, one failed attempt: %s %s, want 201 after a retry", resp.Summary(), resp.Body)
	}
}
