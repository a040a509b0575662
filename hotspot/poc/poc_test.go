package poc

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

type fakeChain struct {
	p Params
	b Block
}

func (f *fakeChain) Params(context.Context) (Params, error)     { return f.p, nil }
func (f *fakeChain) LatestBlock(context.Context) (Block, error) { return f.b, nil }

type fakeTx struct {
	mu     sync.Mutex
	status hexproofv1.TxAckStatus
	sent   [][]byte
	win    []*hexproofv1.DownlinkWindow
}

func (f *fakeTx) Transmit(_ context.Context, phy []byte, w *hexproofv1.DownlinkWindow) (hexproofv1.TxAckStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, phy)
	f.win = append(f.win, w)
	return f.status, nil
}

type sink struct {
	mu   sync.Mutex
	recs []proto.Message
}

func (s *sink) Enqueue(kind string, rec []byte) error {
	var m proto.Message = &hexproofv1.BeaconReport{}
	if kind == "witness" {
		m = &hexproofv1.WitnessReport{}
	}
	if err := proto.Unmarshal(rec, m); err != nil {
		return err
	}
	s.mu.Lock()
	s.recs = append(s.recs, m)
	s.mu.Unlock()
	return nil
}

var plainEnc = Encoder{
	Beacon:  func(r *hexproofv1.BeaconReport) ([]byte, error) { return proto.Marshal(r) },
	Witness: func(r *hexproofv1.WitnessReport) ([]byte, error) { return proto.Marshal(r) },
}

func site(ok bool) SiteFunc {
	return func() (Site, bool) { return Site{Region: hexproofv1.Region_REGION_EU868, GainDdbi: 30}, ok }
}

func TestDueSpreadsAndNeverRepeats(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	const interval = 100
	slot := Slot(key, 5, interval)
	tests := []struct {
		name                       string
		height, lastIdx, lastEntro uint64
		want                       bool
	}{
		{"before slot", 500 + slot - 1, 0, 0, slot == 0},
		{"at slot", 500 + slot, 0, 0, true},
		{"already this interval", 500 + slot, 5, 500 + slot, false},
		{"too soon after last", 500 + slot, 4, 499, false},
		{"zero interval", 500, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iv := uint64(interval)
			if tc.name == "zero interval" {
				iv = 0
			}
			if got := Due(key, tc.height, iv, tc.lastIdx, tc.lastEntro); got != tc.want {
				t.Fatalf("Due = %v, want %v (slot %d)", got, tc.want, slot)
			}
		})
	}
	// Slots of many hotspots cover the interval rather than bunching.
	seen := map[uint64]bool{}
	for i := range 200 {
		seen[Slot([]byte{byte(i), 1}, 1, 10)] = true
	}
	if len(seen) != 10 {
		t.Fatalf("slots cover %d of 10 offsets", len(seen))
	}
}

func TestBeaconAndWitness(t *testing.T) {
	key, _ := identity.NewKey(nil)
	hash := bytes.Repeat([]byte{0xaa}, 32)
	ch := &fakeChain{p: Params{BeaconIntervalBlocks: 1}, b: Block{Height: 10, Hash: hash}}
	tx := &fakeTx{status: hexproofv1.TxAckStatus_TX_ACK_STATUS_OK}
	sk := &sink{}
	statePath := filepath.Join(t.TempDir(), "beacon.json")
	e, err := New(Config{Key: key, StatePath: statePath}, logging.Discard(), ch, site(true), tx, sk, plainEnc)
	if err != nil {
		t.Fatal(err)
	}
	e.tick(context.Background())
	if len(tx.sent) != 1 || len(sk.recs) != 1 {
		t.Fatalf("sent %d frames, %d reports", len(tx.sent), len(sk.recs))
	}
	want, _ := beacon.Derive(hash, key.PublicKey(), hexproofv1.Region_REGION_EU868)
	if !bytes.Equal(tx.sent[0], beacon.Frame(want.Payload)) || tx.win[0].GetFrequencyHz() != want.FrequencyHz ||
		tx.win[0].GetPowerDbm() != beacon.TxPowerDBm(hexproofv1.Region_REGION_EU868, 30) || !tx.win[0].GetImmediate() {
		t.Fatalf("frame/window wrong: %v", tx.win[0])
	}
	r := sk.recs[0].(*hexproofv1.BeaconReport)
	if err := identity.VerifyMessage(key.PublicKey(), identity.DomainBeacon, r); err != nil {
		t.Fatalf("beacon report signature: %v", err)
	}
	if r.EntropyHeight != 10 || !bytes.Equal(r.Entropy, hash) || !bytes.Equal(r.Payload, want.Payload) {
		t.Fatalf("report %v", r)
	}
	id, _ := BeaconID(r)
	cid, _ := client.BeaconID(r)
	if !bytes.Equal(id, cid) {
		t.Fatal("BeaconID differs from chain/client.BeaconID")
	}
	// Same height again: no second beacon, also after a restart.
	e.tick(context.Background())
	e2, _ := New(Config{Key: key, StatePath: statePath}, logging.Discard(), ch, site(true), tx, sk, plainEnc)
	e2.tick(context.Background())
	if len(tx.sent) != 1 {
		t.Fatalf("beaconed again in the same interval: %d", len(tx.sent))
	}

	meta := &hexproofv1.RadioMeta{FrequencyHz: 868100000, Datarate: "SF9BW125", RssiDbm: -90, SnrCb: 55}
	// Own beacon heard back: ignored.
	if ok, _ := e.Heard(want.Payload, meta); ok {
		t.Fatal("own beacon witnessed")
	}
	other := bytes.Repeat([]byte{3}, 51)
	if ok, err := e.Heard(other, meta); !ok || err != nil {
		t.Fatalf("witness not queued: %v", err)
	}
	if ok, _ := e.Heard(other, meta); ok {
		t.Fatal("repeat witnessed")
	}
	w := sk.recs[1].(*hexproofv1.WitnessReport)
	if err := identity.VerifyMessage(key.PublicKey(), identity.DomainWitness, w); err != nil {
		t.Fatalf("witness signature: %v", err)
	}
	if w.Radio.GetRegion() != hexproofv1.Region_REGION_EU868 || w.Radio.GetRssiDbm() != -90 {
		t.Fatalf("witness radio %v", w.Radio)
	}
	s := e.Snapshot()
	if s.Counters.IgnoredOwn != 1 || s.Counters.IgnoredRepeat != 1 || s.LastBeacon == nil || s.LastBeacon.Ack != "OK" || len(s.Witnesses) != 1 {
		t.Fatalf("snapshot %+v", s)
	}
}

func TestFailedAckSendsNoReport(t *testing.T) {
	key, _ := identity.NewKey(nil)
	ch := &fakeChain{p: Params{BeaconIntervalBlocks: 1}, b: Block{Height: 3, Hash: []byte{1, 2, 3}}}
	tx := &fakeTx{status: hexproofv1.TxAckStatus_TX_ACK_STATUS_TX_FREQ}
	sk := &sink{}
	e, _ := New(Config{Key: key}, logging.Discard(), ch, site(true), tx, sk, plainEnc)
	err := e.Beacon(context.Background(), ch.b, Site{Region: hexproofv1.Region_REGION_EU868}, 1)
	if err == nil || len(sk.recs) != 0 {
		t.Fatalf("err %v, %d reports", err, len(sk.recs))
	}
	// No site: neither beacons nor witnesses.
	e2, _ := New(Config{Key: key}, logging.Discard(), ch, site(false), tx, sk, plainEnc)
	e2.tick(context.Background())
	if ok, _ := e2.Heard(bytes.Repeat([]byte{1}, 51), &hexproofv1.RadioMeta{}); ok || len(tx.sent) != 1 {
		t.Fatalf("acted without a site: sent=%d", len(tx.sent))
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal("unexpected cancel")
	}
}

func TestUntransmittedBeaconIsRetried(t *testing.T) {
	key, _ := identity.NewKey(nil)
	ch := &fakeChain{p: Params{BeaconIntervalBlocks: 1}, b: Block{Height: 3, Hash: []byte{1, 2, 3}}}
	tx := &fakeTx{status: hexproofv1.TxAckStatus_TX_ACK_STATUS_TOO_LATE}
	sk := &sink{}
	statePath := filepath.Join(t.TempDir(), "beacon.json")
	e, _ := New(Config{Key: key, StatePath: statePath, RetryDelay: 1}, logging.Discard(), ch, site(true), tx, sk, plainEnc)
	e.tick(context.Background())
	if len(tx.sent) != 1 || len(sk.recs) != 0 {
		t.Fatalf("sent %d, reports %d", len(tx.sent), len(sk.recs))
	}
	// Nothing went on air, so the interval is still free: the next tick
	// (also after a restart) transmits again, and this time it is reported.
	tx.status = hexproofv1.TxAckStatus_TX_ACK_STATUS_OK
	e2, _ := New(Config{Key: key, StatePath: statePath, RetryDelay: 1}, logging.Discard(), ch, site(true), tx, sk, plainEnc)
	e2.tick(context.Background())
	if len(tx.sent) != 2 || len(sk.recs) != 1 {
		t.Fatalf("after retry: sent %d, reports %d", len(tx.sent), len(sk.recs))
	}
	// A timeout may have gone on air: no second beacon in that interval.
	tx.status = hexproofv1.TxAckStatus_TX_ACK_STATUS_TIMEOUT
	ch.b = Block{Height: 4, Hash: []byte{4}}
	e2.tick(context.Background())
	e2.retryAt = time.Time{}
	e2.tick(context.Background())
	if len(tx.sent) != 3 {
		t.Fatalf("beaconed again after a timeout in the same interval: %d", len(tx.sent))
	}
}

func TestChainLastBeaconGuardsLostState(t *testing.T) {
	key, _ := identity.NewKey(nil)
	// No local state (a new data directory), but the chain accepted a beacon
	// with the entropy height just below the slot: no beacon now.
	h1 := 100 + Slot(key.PublicKey(), 10, 10)
	ch := &fakeChain{p: Params{BeaconIntervalBlocks: 10}, b: Block{Height: h1, Hash: []byte{1}}}
	tx := &fakeTx{status: hexproofv1.TxAckStatus_TX_ACK_STATUS_OK}
	withLast := func() (Site, bool) {
		return Site{Region: hexproofv1.Region_REGION_EU868, LastBeaconHeight: h1 - 1}, true
	}
	e, _ := New(Config{Key: key}, logging.Discard(), ch, withLast, tx, &sink{}, plainEnc)
	e.tick(context.Background())
	if len(tx.sent) != 0 {
		t.Fatal("beaconed one block after the chain's last beacon")
	}
	// Two intervals later it is due again.
	ch.b = Block{Height: 120 + Slot(key.PublicKey(), 12, 10), Hash: []byte{2}}
	e.tick(context.Background())
	if len(tx.sent) != 1 {
		t.Fatalf("%d beacons later on, want 1", len(tx.sent))
	}
}
