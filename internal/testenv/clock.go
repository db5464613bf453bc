package testenv

import (
	"sync"
	"time"
)

// TickingClock reads a millisecond later at every reading, from now: what
// is created one after the other sorts in that order (ids have
// millisecond resolution), and a test of a few thousand readings never
// reaches a minute.
func TickingClock() func() time.Time {
	var mu sync.Mutex
	last := time.Now()
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		last = last.Add(time.Millisecond)
		return last
	}
}
