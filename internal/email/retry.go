package email

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how a sender retries transient failures: jittered
// exponential backoff, at most MaxAttempts tries, and no wait that would end
// after MaxElapsed or after the context's deadline.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the backoff before the first retry; it doubles on each
	// retry up to MaxDelay, and each wait is jittered down to half of it.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxElapsed bounds the whole send, waits included.
	MaxElapsed time.Duration
	// AttemptTimeout bounds one call to the provider, so a stalled
	// connection becomes a transient failure instead of using up the
	// caller's time.
	AttemptTimeout time.Duration
}

// DefaultRetryPolicy suits SES: a sandbox account sends one message per
// second and throttles beyond, so the first retry waits about a second. The
// whole send stays well under the notifier's Lambda timeout.
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts:    5,
	BaseDelay:      time.Second,
	MaxDelay:       8 * time.Second,
	MaxElapsed:     25 * time.Second,
	AttemptTimeout: 10 * time.Second,
}

func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.MaxAttempts < 1 {
		p.MaxAttempts = DefaultRetryPolicy.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultRetryPolicy.BaseDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = max(p.BaseDelay, DefaultRetryPolicy.MaxDelay)
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = DefaultRetryPolicy.MaxElapsed
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = DefaultRetryPolicy.AttemptTimeout
	}
	return p
}

// backoff is the wait before retry number n (1 for the first retry): half
// the exponential delay plus a random part of the other half, so concurrent
// senders spread out but never retry at once.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + rand.N(half+1)
}

// do calls attempt until it succeeds, fails with an error that is not
// transient, or the policy's bounds are reached; the error it returns is a
// *SendError carrying the number of attempts.
func (p RetryPolicy) Do(ctx context.Context, attempt func(context.Context) error) error {
	p = p.WithDefaults()
	start := time.Now()
	for n := 1; ; n++ {
		attemptCtx, cancel := context.WithTimeout(ctx, p.AttemptTimeout)
		err := attempt(attemptCtx)
		cancel()
		if err == nil {
			return nil
		}
		var sendErr *SendError
		if !errors.As(err, &sendErr) {
			sendErr = &SendError{Class: Unclassified, Err: err}
		}
		sendErr.Attempts = n
		if sendErr.Class != Transient || n >= p.MaxAttempts {
			return sendErr
		}
		wait := p.backoff(n)
		if time.Since(start)+wait > p.MaxElapsed {
			return sendErr
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return sendErr
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return sendErr
		case <-timer.C:
		}
	}
}
