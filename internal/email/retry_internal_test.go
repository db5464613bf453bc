package email

import (
	"testing"
	"time"
)

func TestBackoffDoublesUpToItsCapWithJitterAboveHalf(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.WithDefaults()
	tests := []struct {
		retry int
		full  time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{80, time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			if got := p.backoff(tt.retry); got < tt.full/2 || got > tt.full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.retry, got, tt.full/2, tt.full)
			}
		}
	}
}
