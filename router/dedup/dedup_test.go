package dedup

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func hs(i byte) [32]byte { return [32]byte{i} }

func TestOffer(t *testing.T) {
	t0 := time.Unix(100, 0)
	ms := time.Millisecond
	type offer struct {
		at      time.Duration
		hotspot byte
		rssi    int32
		want    Outcome
	}
	tests := []struct {
		name      string
		maxCopies int
		offers    []offer
		best      byte
	}{
		{"first copies bought, the rest duplicates", 2, []offer{
			{0, 1, -100, Buy}, {10 * ms, 2, -90, Buy}, {20 * ms, 3, -50, Duplicate}, {30 * ms, 4, -60, Duplicate},
		}, 3},
		{"same hotspot twice is bought once", 3, []offer{
			{0, 1, -100, Buy}, {5 * ms, 1, -100, Duplicate}, {6 * ms, 2, -100, Buy},
		}, 1},
		{"after the window: late", 3, []offer{
			{0, 1, -100, Buy}, {250 * ms, 2, -10, Late},
		}, 1},
		{"after the retransmit gap: a new frame", 1, []offer{
			{0, 1, -100, Buy}, {50 * ms, 2, -90, Duplicate}, {1500 * ms, 2, -90, Buy}, {1510 * ms, 1, -10, Duplicate},
		}, 1},
		{"max_copies 0 buys nothing", 0, []offer{{0, 1, -100, Duplicate}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Config{Window: 200 * ms, Retransmit: time.Second, TTL: 10 * time.Second, MaxEntries: 100})
			var last time.Time
			for i, o := range tt.offers {
				cp := Copy{Hotspot: hs(o.hotspot), RSSI: o.rssi}
				now := t0.Add(o.at)
				last = now
				matters, _ := c.Matters("k", cp, tt.maxCopies, now)
				got, _ := c.Offer("k", cp, tt.maxCopies, now)
				if got != o.want {
					t.Fatalf("offer %d: %v, want %v", i, got, o.want)
				}
				if got == Buy && !matters {
					t.Fatalf("offer %d bought but Matters said it would not matter", i)
				}
			}
			best, ok := c.Best("k", last)
			if !ok || best.Hotspot != hs(tt.best) {
				t.Fatalf("best = %v %v, want hotspot %d", best.Hotspot[0], ok, tt.best)
			}
		})
	}
}

func TestBestTieBreaksOnSNR(t *testing.T) {
	c := New(Config{})
	now := time.Unix(1, 0)
	c.Offer("k", Copy{Hotspot: hs(1), RSSI: -50, SNR: 10}, 1, now)
	c.Offer("k", Copy{Hotspot: hs(2), RSSI: -50, SNR: 70}, 1, now)
	c.Offer("k", Copy{Hotspot: hs(3), RSSI: -50, SNR: 20}, 1, now)
	if b, _ := c.Best("k", now); b.Hotspot != hs(2) {
		t.Fatalf("best = %d, want 2", b.Hotspot[0])
	}
	if m, why := c.Matters("k", Copy{Hotspot: hs(4), RSSI: -60}, 1, now); m || why != Duplicate {
		t.Fatalf("a weaker copy beyond max_copies: matters=%v %v", m, why)
	}
	if m, why := c.Matters("k", Copy{Hotspot: hs(4), RSSI: -10}, 1, now.Add(time.Second/2)); m || why != Late {
		t.Fatalf("a late copy: matters=%v %v", m, why)
	}
	if m, _ := c.Matters("k", Copy{Hotspot: hs(4), RSSI: -40}, 1, now); !m {
		t.Fatal("a stronger copy does not matter")
	}
}

func TestUnbuy(t *testing.T) {
	c := New(Config{})
	now := time.Unix(1, 0)
	if o, _ := c.Offer("k", Copy{Hotspot: hs(1)}, 1, now); o != Buy {
		t.Fatal(o)
	}
	c.Unbuy("k", hs(1))
	if o, _ := c.Offer("k", Copy{Hotspot: hs(2)}, 1, now); o != Buy {
		t.Fatalf("after Unbuy: %v, want Buy", o)
	}
}

func TestBounded(t *testing.T) {
	c := New(Config{TTL: 10 * time.Second, MaxEntries: 64 * shards})
	t0 := time.Unix(1, 0)
	for i := 0; i < 10_000; i++ {
		c.Offer(fmt.Sprint(i), Copy{}, 1, t0.Add(time.Duration(i)*time.Microsecond))
	}
	if n := c.Len(); n > 64*shards {
		t.Fatalf("holds %d frames, bound is %d", n, 64*shards)
	}
	// Expiry by time: one offer per shard much later sweeps the rest.
	later := t0.Add(time.Minute)
	for i := 0; i < 5000; i++ {
		c.Offer(fmt.Sprint("late", i), Copy{}, 1, later)
	}
	if _, ok := c.Best("0", later); ok {
		t.Fatal("expired frame still known")
	}
	if n := c.Len(); n > 5000 {
		t.Fatalf("holds %d frames after expiry, want at most the 5000 fresh ones", n)
	}
}

func TestConcurrentOffersBuyExactlyMaxCopies(t *testing.T) {
	c := New(Config{})
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	bought := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o, _ := c.Offer("k", Copy{Hotspot: hs(byte(i))}, 3, now); o == Buy {
				mu.Lock()
				bought++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if bought != 3 {
		t.Fatalf("bought %d, want 3", bought)
	}
}

func BenchmarkOffer(b *testing.B) {
	c := New(Config{})
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("frame-%d-0123456789abcdef", i)
	}
	now := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Offer(keys[i%len(keys)], Copy{Hotspot: hs(byte(i))}, 3, now)
			i++
		}
	})
}
