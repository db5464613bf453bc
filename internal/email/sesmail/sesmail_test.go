package sesmail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/email/sesmail"
	"github.com/integration-hub/hub/internal/email/sestest"
	"github.com/integration-hub/hub/internal/testenv"
)

const sender = "hub@example.com"

// fastRetries keeps the backoff of tests in milliseconds.
var fastRetries = email.RetryPolicy{
	MaxAttempts:    4,
	BaseDelay:      time.Millisecond,
	MaxDelay:       4 * time.Millisecond,
	MaxElapsed:     5 * time.Second,
	AttemptTimeout: 5 * time.Second,
}

var addressCount atomic.Int64

// uniqueAddress gives each test its own recipient: the emulator is shared
// by the whole test binary.
func uniqueAddress(label string) string {
	return fmt.Sprintf("%s-%d-%d@example.com", label, time.Now().UnixNano(), addressCount.Add(1))
}

func TestMain(m *testing.M) { testenv.Main(m) }

func newSES(t *testing.T, endpoint string, policy email.RetryPolicy) *sesmail.Sender {
	t.Helper()
	client, err := sesmail.NewClient(context.Background(), endpoint)
	if err != nil {
		t.Fatalf("NewSESClient: %v", err)
	}
	return sesmail.New(client, sender, sesmail.WithRetryPolicy(policy))
}

func TestSESDeliversToTheEmulator(t *testing.T) {
	emulator := testenv.SESLocal(t)
	proxy := sestest.NewProxy(t, emulator)
	first, second := uniqueAddress("first"), uniqueAddress("second")
	msg := email.Message{
		To:      []string{first, second},
		Subject: "Grüße from the hub",
		Text:    "Hello ✓\nhttps://hub.example.com/accept-invitation#token=abc",
		HTML:    `<p>Hello ✓ <a href="https://hub.example.com/accept-invitation#token=abc">accept</a></p>`,
		EventID: "01JEVENT",
	}
	if err := newSES(t, proxy.URL, fastRetries).Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := sestest.SentTo(t, emulator, first)
	if len(got) != 1 {
		t.Fatalf("the emulator holds %d messages to %s, want 1", len(got), first)
	}
	stored := got[0]
	if stored.From != sender || stored.Subject != msg.Subject || stored.Body.Text != msg.Text || stored.Body.HTML != msg.HTML {
		t.Errorf("stored message = %+v, want from %s, subject %q and both bodies as sent", stored, sender, msg.Subject)
	}
	var forwarded []string
	for _, form := range proxy.Forwarded() {
		if form.Get("Destination.ToAddresses.member.1") == first {
			forwarded = append(forwarded, form.Get("Destination.ToAddresses.member.2"), form.Get("Message.Subject.Charset"), form.Get("Message.Body.Html.Charset"))
		}
	}
	if want := []string{second, "UTF-8", "UTF-8"}; strings.Join(forwarded, " ") != strings.Join(want, " ") {
		t.Errorf("request carried second recipient and charsets %q, want %q", forwarded, want)
	}
}

func TestSESClassifiesFailuresAndRetriesOnlyTransientOnes(t *testing.T) {
	emulator := testenv.SESLocal(t)
	proxy := sestest.NewProxy(t, emulator)
	ses := newSES(t, proxy.URL, fastRetries)
	tests := []struct {
		name     string
		fault    sestest.Fault
		class    email.Class
		code     string
		attempts int
	}{
		{"throttled", sestest.Throttled, email.Transient, "Throttling", fastRetries.MaxAttempts},
		{"service unavailable", sestest.Unavailable, email.Transient, "ServiceUnavailable", fastRetries.MaxAttempts},
		{"bad gateway without an SES error", sestest.BadGateway, email.Transient, "UnknownError", fastRetries.MaxAttempts},
		{"connection dropped", sestest.ConnectionReset, email.Transient, "", fastRetries.MaxAttempts},
		{"message rejected", sestest.Rejected, email.Permanent, "MessageRejected", 1},
		{"MAIL FROM domain not verified", sestest.DomainNotReady, email.Permanent, "MailFromDomainNotVerifiedException", 1},
		{"invalid address", sestest.InvalidAddress, email.Permanent, "InvalidParameterValue", 1},
		{"access denied", sestest.AccessDenied, email.Unclassified, "AccessDenied", 1},
		{"daily quota exceeded", sestest.DailyQuota, email.Unclassified, "Throttling", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := uniqueAddress("fault")
			proxy.FailAlways(to, tt.fault)
			err := ses.Send(context.Background(), email.Message{To: []string{to}, Subject: "s", Text: "t"})
			var sendErr *email.SendError
			if !errors.As(err, &sendErr) {
				t.Fatalf("Send = %v, want a *SendError", err)
			}
			if sendErr.Class != tt.class || sendErr.Code != tt.code || sendErr.Attempts != tt.attempts {
				t.Errorf("Send = class %s, code %q, %d attempts; want %s, %q, %d (%v)",
					sendErr.Class, sendErr.Code, sendErr.Attempts, tt.class, tt.code, tt.attempts, err)
			}
			if got := proxy.Attempts(to); got != tt.attempts {
				t.Errorf("SES saw %d requests, want %d", got, tt.attempts)
			}
			if got := sestest.SentTo(t, emulator, to); len(got) != 0 {
				t.Errorf("a failed send reached the inbox: %+v", got)
			}
		})
	}
}

func TestSESRetriesThrottlingUntilItPasses(t *testing.T) {
	emulator := testenv.SESLocal(t)
	proxy := sestest.NewProxy(t, emulator)
	to := uniqueAddress("throttled")
	proxy.FailNext(to, sestest.Throttled, sestest.Throttled)
	if err := newSES(t, proxy.URL, fastRetries).Send(context.Background(), email.Message{To: []string{to}, Subject: "s", Text: "t"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := proxy.Attempts(to); got != 3 {
		t.Errorf("SES saw %d requests, want 3", got)
	}
	if got := sestest.SentTo(t, emulator, to); len(got) != 1 {
		t.Errorf("the emulator holds %d messages, want 1", len(got))
	}
}

func TestSESRetriesStayWithinTheirTimeBounds(t *testing.T) {
	emulator := testenv.SESLocal(t)
	proxy := sestest.NewProxy(t, emulator)
	slow := email.RetryPolicy{MaxAttempts: 100, BaseDelay: 40 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxElapsed: 150 * time.Millisecond, AttemptTimeout: time.Second}
	tests := []struct {
		name    string
		policy  email.RetryPolicy
		timeout time.Duration
	}{
		{"total time of the policy", slow, time.Minute},
		{"deadline of the context", func() email.RetryPolicy { p := slow; p.MaxElapsed = time.Minute; return p }(), 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := uniqueAddress("bounded")
			proxy.FailAlways(to, sestest.Throttled)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			start := time.Now()
			err := newSES(t, proxy.URL, tt.policy).Send(ctx, email.Message{To: []string{to}, Subject: "s", Text: "t"})
			elapsed := time.Since(start)
			if !email.IsTransient(err) {
				t.Fatalf("Send = %v, want the last transient error", err)
			}
			// Bounded by time, not by its 100 attempts (4 s of waits):
			// the margins are wide so that a busy machine cannot fail it,
			// a policy that ignored the bound still would.
			if elapsed > 2*time.Second {
				t.Errorf("Send took %v, far past its 150 ms bound", elapsed)
			}
			if got := proxy.Attempts(to); got < 1 || got > 10 {
				t.Errorf("SES saw %d requests, want the few a 150 ms bound allows", got)
			}
		})
	}
}

func TestSESTimesOutAStalledAttempt(t *testing.T) {
	var requests atomic.Int64
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer stalled.Close()
	defer close(release)
	policy := fastRetries
	policy.MaxAttempts, policy.AttemptTimeout = 2, 50*time.Millisecond
	err := newSES(t, stalled.URL, policy).Send(context.Background(), email.Message{To: []string{"ada@example.com"}, Subject: "s", Text: "t"})
	if !email.IsTransient(err) {
		t.Fatalf("Send = %v, want a transient error", err)
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("server saw %d requests, want 2", got)
	}
}

func TestSESRefusesAnInvalidMessageWithoutCallingSES(t *testing.T) {
	emulator := testenv.SESLocal(t)
	proxy := sestest.NewProxy(t, emulator)
	err := newSES(t, proxy.URL, fastRetries).Send(context.Background(), email.Message{To: []string{"not-an-address"}, Subject: "s", Text: "t"})
	if !email.IsPermanent(err) {
		t.Fatalf("Send = %v, want a permanent error", err)
	}
	if got := proxy.Attempts("not-an-address"); got != 0 {
		t.Errorf("SES saw %d requests, want none", got)
	}
}

func TestNewSESClientRefusesARelativeEndpoint(t *testing.T) {
	for _, endpoint := range []string{"localhost:8005", "/ses", "::"} {
		if _, err := sesmail.NewClient(context.Background(), endpoint); err == nil {
			t.Errorf("NewSESClient(%q) accepted it", endpoint)
		}
	}
}
