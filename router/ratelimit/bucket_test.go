package ratelimit

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		rate  float64
		burst int
		// offsets of Allow calls from t0 and the answers expected
		at   []time.Duration
		want []bool
	}{
		{"burst then refuse", 25, 3, []time.Duration{0, 0, 0, 0}, []bool{true, true, true, false}},
		{"refills at rate", 10, 1, []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond}, []bool{true, false, true, false, true}},
		{"unlimited", 0, 1, []time.Duration{0, 0, 0}, []bool{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.rate, tt.burst)
			for i, d := range tt.at {
				if got := b.Allow(t0.Add(d)); got != tt.want[i] {
					t.Fatalf("call %d at %v: Allow = %v, want %v", i, d, got, tt.want[i])
				}
			}
		})
	}
}
