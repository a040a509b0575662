package routing

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hexproof/hexproof/hotspot/frame"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func testOUIs() []OUI {
	return []OUI{
		{OUI: 2, Config: &hexproofv1.OuiConfig{
			DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x48000000, End: 0x48000fff}},
			EuiPairs:      []*hexproofv1.EuiPair{{JoinEui: 10, DevEui: 0}},
			Routers:       []*hexproofv1.RouterEndpoint{{Endpoint: "b:1"}},
		}},
		{OUI: 1, Config: &hexproofv1.OuiConfig{
			DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x48000800, End: 0x48001fff}, {Start: 0x26000000, End: 0x26ffffff}},
			EuiPairs:      []*hexproofv1.EuiPair{{JoinEui: 10, DevEui: 5}, {JoinEui: 11, DevEui: 6}},
			Routers:       []*hexproofv1.RouterEndpoint{{Endpoint: "a:1"}},
		}},
	}
}

func ouisOf(rs []Route) []uint64 {
	var out []uint64
	for _, r := range rs {
		out = append(out, r.OUI)
	}
	return out
}

func TestLookup(t *testing.T) {
	tb := NewTable(testOUIs())
	tests := []struct {
		name string
		info frame.Info
		want []uint64
	}{
		{"devaddr in one", frame.Info{Kind: frame.Data, DevAddr: 0x48000001}, []uint64{2}},
		{"devaddr overlap", frame.Info{Kind: frame.Data, DevAddr: 0x48000900}, []uint64{1, 2}},
		{"devaddr second range", frame.Info{Kind: frame.Data, DevAddr: 0x26abcdef}, []uint64{1}},
		{"devaddr none", frame.Info{Kind: frame.Data, DevAddr: 0x01000000}, nil},
		{"join exact and wildcard", frame.Info{Kind: frame.Join, JoinEUI: 10, DevEUI: 5}, []uint64{1, 2}},
		{"join wildcard", frame.Info{Kind: frame.Join, JoinEUI: 10, DevEUI: 99}, []uint64{2}},
		{"join exact", frame.Info{Kind: frame.Join, JoinEUI: 11, DevEUI: 6}, []uint64{1}},
		{"join none", frame.Info{Kind: frame.Join, JoinEUI: 11, DevEUI: 7}, nil},
		{"beacon", frame.Info{Kind: frame.Beacon}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ouisOf(tb.Lookup(tc.info))
			if len(got) != len(tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v want %v", got, tc.want)
				}
			}
		})
	}
}

type fakeSource struct {
	mu   sync.Mutex
	ouis []OUI
	err  error
}

func (f *fakeSource) OUIs(context.Context) ([]OUI, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ouis, f.err
}

func TestCacheSurvivesChainOutage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "routes.json")
	src := &fakeSource{ouis: testOUIs()}
	c, err := NewCache(path, src, time.Hour, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.err = errors.New("chain down")
	if err := c.Refresh(context.Background()); err == nil {
		t.Fatal("refresh did not fail")
	}
	if c.Table().Len() != 2 {
		t.Fatalf("table lost on failed refresh: %d", c.Table().Len())
	}
	// A restart while the chain is down still routes from the disk copy.
	c2, err := NewCache(path, src, time.Hour, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	got := ouisOf(c2.Table().Lookup(frame.Info{Kind: frame.Data, DevAddr: 0x48000900}))
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("after restart got %v", got)
	}
	if ep := c2.Table().Lookup(frame.Info{Kind: frame.Join, JoinEUI: 11, DevEUI: 6})[0].Routers[0].GetEndpoint(); ep != "a:1" {
		t.Fatalf("router %q", ep)
	}
}
