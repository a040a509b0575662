package ratelimit

import "time"

// Bucket is a token bucket. It is not safe for concurrent use: each hotspot
// stream owns one and uses it from its receive loop.
type Bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

// New returns a full bucket refilling at rate per second up to burst.
// A rate <= 0 means no limit.
func New(rate float64, burst int) *Bucket {
	b := float64(max(burst, 1))
	return &Bucket{rate: rate, burst: b, tokens: b}
}

// Allow takes a token at now and reports whether there was one.
func (b *Bucket) Allow(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
