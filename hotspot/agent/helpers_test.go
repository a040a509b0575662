package agent

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hexproof/hexproof/hotspot/poc"
	"github.com/hexproof/hexproof/hotspot/routing"
	"github.com/hexproof/hexproof/hotspot/status"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

const testChainID = "hexproof-test"

// fakeChain is an in-memory chain.
type fakeChain struct {
	mu     sync.Mutex
	height uint64
	hash   []byte
	ouis   []routing.OUI
	epoch  uint64
	claims []*hexproofv1.Voucher
}

func (f *fakeChain) ChainID(context.Context) (string, error) { return testChainID, nil }
func (f *fakeChain) Params(context.Context) (poc.Params, error) {
	return poc.Params{BeaconIntervalBlocks: 1000, EntropyValidityBlocks: 100}, nil
}
func (f *fakeChain) LatestBlock(context.Context) (poc.Block, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return poc.Block{Height: f.height, Hash: f.hash}, nil
}
func (f *fakeChain) OUIs(context.Context) ([]routing.OUI, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ouis, nil
}
func (f *fakeChain) CurrentEpoch(context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.epoch, nil
}
func (f *fakeChain) ClaimVoucher(_ context.Context, v *hexproofv1.Voucher) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims = append(f.claims, v)
	return nil
}
func (f *fakeChain) Hotspot(context.Context, identity.Address) (status.Hotspot, error) {
	return status.Hotspot{Onboarded: true, Owner: "hxp1owner", Mode: "full", Location: "8c2a1072b59ffff", Region: "EU868", GainDdbi: 30}, nil
}
func (f *fakeChain) Rewards(context.Context, identity.Address) ([]status.Reward, error) {
	return []status.Reward{{Epoch: 1, Total: 42, Beacon: 42}}, nil
}
func (f *fakeChain) PocHistory(context.Context, identity.Address, int) ([]status.PocEntry, error) {
	return nil, nil
}

// beaconHeight returns a height at which key is due to beacon with interval
// 1000, so the test does not wait for a slot.
func beaconHeight(key []byte) uint64 {
	return 5000 + poc.Slot(key, 5, 1000)
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
