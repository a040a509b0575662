package chainview

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

type fakeSource struct {
	mu       sync.Mutex
	down     bool
	epoch    uint64
	hotspots map[string]bool
	calls    int
}

var errDown = errors.New("connection refused")

func (f *fakeSource) Status(context.Context) (Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return Status{}, errDown
	}
	return Status{ChainID: "c", Epoch: f.epoch}, nil
}

func (f *fakeSource) OUI(_ context.Context, id uint64) (OUI, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return OUI{}, errDown
	}
	if id != 1 {
		return OUI{}, ErrNotFound
	}
	return OUI{ID: 1, Config: &hexproofv1.OuiConfig{MaxCopies: 2}, EscrowDC: 10}, nil
}

func (f *fakeSource) Hotspot(_ context.Context, pub []byte) (Hotspot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return Hotspot{}, errDown
	}
	if !f.hotspots[string(pub)] {
		return Hotspot{}, ErrNotFound
	}
	return Hotspot{Mode: hexproofv1.HotspotMode_HOTSPOT_MODE_FULL}, nil
}

func (f *fakeSource) VoucherPaid(context.Context, uint64, []byte, uint64) (uint64, error) {
	return 0, nil
}

func TestSnapshotSurvivesOutage(t *testing.T) {
	src := &fakeSource{epoch: 3}
	refreshed := 0
	v := New(Config{OUIs: []uint64{1, 2}}, src, logging.Discard(), func(*Snapshot) { refreshed++ })
	if v.Snapshot() != nil {
		t.Fatal("snapshot before any refresh")
	}
	if err := v.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := v.Snapshot()
	if s == nil || s.Status.Epoch != 3 || len(s.OUIs) != 1 || s.OUIs[0].EscrowDC != 10 {
		t.Fatalf("snapshot %+v (OUI 2 is not on chain and must be skipped)", s)
	}
	src.mu.Lock()
	src.down = true
	src.mu.Unlock()
	if err := v.Refresh(t.Context()); err == nil {
		t.Fatal("refresh succeeded with the chain down")
	}
	if v.Snapshot() != s || refreshed != 1 {
		t.Fatal("a failed refresh replaced the snapshot")
	}
}

func TestHotspotCache(t *testing.T) {
	known, unknown := make([]byte, 32), make([]byte, 32)
	known[0], unknown[0] = 1, 2
	src := &fakeSource{hotspots: map[string]bool{string(known): true}}
	v := New(Config{HotspotTTL: time.Minute, HotspotMissTTL: time.Second}, src, logging.Discard(), nil)
	now := time.Unix(1000, 0)
	v.now = func() time.Time { return now }
	ctx := t.Context()

	steps := []struct {
		name      string
		advance   time.Duration
		down      bool
		pub       []byte
		found     bool
		err       bool
		wantCalls int
	}{
		{"known hotspot asks the chain", 0, false, known, true, false, 1},
		{"then comes from the cache", 10 * time.Second, false, known, true, false, 1},
		{"unknown hotspot", 0, false, unknown, false, false, 2},
		{"miss cached briefly", 500 * time.Millisecond, false, unknown, false, false, 2},
		{"miss asked again after its TTL", time.Second, false, unknown, false, false, 3},
		{"chain down: known hotspot still accepted", 2 * time.Minute, true, known, true, false, 4},
		{"chain down: unknown hotspot is an error, not a refusal", 2 * time.Minute, true, unknown, false, true, 5},
		{"bad key length is not found without asking", 0, false, []byte{1}, false, false, 5},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			now = now.Add(s.advance)
			src.mu.Lock()
			src.down = s.down
			src.mu.Unlock()
			_, found, err := v.Hotspot(ctx, s.pub)
			if found != s.found || (err != nil) != s.err {
				t.Fatalf("found %v err %v, want found %v err %v", found, err, s.found, s.err)
			}
			src.mu.Lock()
			calls := src.calls
			src.mu.Unlock()
			if calls != s.wantCalls {
				t.Fatalf("%d chain lookups, want %d", calls, s.wantCalls)
			}
		})
	}
}
