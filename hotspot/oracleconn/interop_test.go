package oracleconn_test

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/hotspot/oracleconn"
	"github.com/hexproof/hexproof/hotspot/queue"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/oracle/ingest"
	"github.com/hexproof/hexproof/oracle/store"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// oracleChain is the chain as the oracle's ingest sees it.
type oracleChain struct{ now time.Time }

func blockHash(h int64) []byte { return bytes.Repeat([]byte{byte(h)}, 32) }

func (c oracleChain) Head(context.Context) (int64, time.Time, error) { return 100, c.now, nil }
func (c oracleChain) BlockAt(_ context.Context, h int64) ([]byte, time.Time, error) {
	return blockHash(h), c.now.Add(-time.Duration(100-h) * time.Second), nil
}
func (oracleChain) EntropyValidityBlocks(context.Context) (uint64, error) { return 20, nil }
func (oracleChain) Submit(context.Context, *hexproofv1.PocReceipt) (ingest.Submission, error) {
	return ingest.Submission{TxHash: "AB", Outcome: ingest.Accepted}, nil
}
func (oracleChain) Included(context.Context, string) (bool, ingest.Outcome, string, error) {
	return true, ingest.Accepted, "", nil
}

// TestInteropWithOracleIngest delivers the agent's queued reports to the
// real oracle ingest service (PostgreSQL-backed) and checks that it accepts
// them, and that a report it refuses as invalid leaves the queue.
func TestInteropWithOracleIngest(t *testing.T) {
	dbURL, _ := testsvc.Postgres(t)
	pool, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	svc := ingest.New(ingest.Config{Window: 5 * time.Second, Tick: time.Hour}, logging.Discard(), pool, oracleChain{now: now}, time.Now)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; pool.Close() })

	beaconer, _ := identity.NewKey(nil)
	witness, _ := identity.NewKey(nil)
	bc, err := beacon.Derive(blockHash(95), beaconer.PublicKey(), hexproofv1.Region_REGION_EU868)
	if err != nil {
		t.Fatal(err)
	}
	b := &hexproofv1.BeaconReport{Hotspot: beaconer.PublicKey(), EntropyHeight: 95, Entropy: blockHash(95), Payload: bc.Payload,
		FrequencyHz: bc.FrequencyHz, Datarate: bc.DataRate, TxPowerDbm: beacon.TxPowerDBm(hexproofv1.Region_REGION_EU868, 30),
		TransmittedAtMs: uint64(now.UnixMilli())}
	beaconer.SignMessage(identity.DomainBeacon, b)
	w := &hexproofv1.WitnessReport{Hotspot: witness.PublicKey(), Payload: bc.Payload, Radio: &hexproofv1.RadioMeta{
		FrequencyHz: bc.FrequencyHz, Datarate: bc.DataRate, RssiDbm: -95, SnrCb: 40, ReceivedAtMs: uint64(now.UnixMilli()) + 50,
		Region: hexproofv1.Region_REGION_EU868}}
	witness.SignMessage(identity.DomainWitness, w)
	stale := &hexproofv1.BeaconReport{Hotspot: beaconer.PublicKey(), EntropyHeight: 95, Entropy: blockHash(7), Payload: bc.Payload,
		FrequencyHz: bc.FrequencyHz, Datarate: bc.DataRate, TransmittedAtMs: uint64(now.UnixMilli())}
	beaconer.SignMessage(identity.DomainBeacon, stale)

	q, err := queue.Open(filepath.Join(t.TempDir(), "q"), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range [][]byte{must(oracleconn.EncodeBeacon(b)), must(oracleconn.EncodeWitness(w)), must(oracleconn.EncodeBeacon(stale))} {
		if err := q.Put(rec); err != nil {
			t.Fatal(err)
		}
	}
	s, err := oracleconn.New(ln.Addr().String(), q, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan struct{})
	go func() { s.Run(sctx); close(sdone) }()
	defer func() { scancel(); <-sdone }()
	waitFor(t, "queue drained", func() bool { return q.Len() == 0 })
	if st := s.Status(); st.Accepted != 2 || st.Rejected != 1 {
		t.Fatalf("status %+v (want 2 accepted, the entropy-mismatch beacon rejected)", st)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
