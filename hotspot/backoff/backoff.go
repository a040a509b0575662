package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields delays growing from Min to Max with "full jitter": each
// delay is uniform in [d/2, d] where d doubles per failure.
type Backoff struct {
	Min, Max time.Duration
	attempt  int
}

// Next returns the next delay.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 500 * time.Millisecond
	}
	if hi < lo {
		hi = 30 * time.Second
	}
	d := lo
	for i := 0; i < b.attempt && d < hi; i++ {
		d *= 2
	}
	if d > hi {
		d = hi
	}
	b.attempt++
	half := d / 2
	return half + rand.N(half+1)
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.attempt = 0 }

// Sleep waits for the next delay or until ctx ends; it reports whether the
// caller should go on.
func (b *Backoff) Sleep(ctx context.Context) bool {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
