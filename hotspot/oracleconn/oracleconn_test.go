package oracleconn_test

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hexproof/hexproof/hotspot/hotspottest"
	"github.com/hexproof/hexproof/hotspot/oracleconn"
	"github.com/hexproof/hexproof/hotspot/queue"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func witness(t *testing.T, key *identity.Key, b byte) []byte {
	r := &hexproofv1.WitnessReport{Hotspot: key.PublicKey(), Payload: bytes.Repeat([]byte{b}, 51), Radio: &hexproofv1.RadioMeta{RssiDbm: -90}}
	if err := key.SignMessage(identity.DomainWitness, r); err != nil {
		t.Fatal(err)
	}
	rec, err := oracleconn.EncodeWitness(r)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func startSender(t *testing.T, endpoint string) *oracleconn.Sender {
	q, err := queue.Open(filepath.Join(t.TempDir(), "q"), 100)
	if err != nil {
		t.Fatal(err)
	}
	s, err := oracleconn.New(endpoint, q, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeadOracleDoesNotBlockAnother(t *testing.T) {
	key, _ := identity.NewKey(nil)
	good, goodAddr := hotspottest.NewOracle(t, "")
	// A port nothing listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := ln.Addr().String()
	ln.Close()
	dead := startSender(t, deadAddr)
	live := startSender(t, goodAddr)
	for i := range 3 {
		rec := witness(t, key, byte(i))
		dead.Queue().Put(rec)
		live.Queue().Put(rec)
	}
	waitFor(t, "delivery to the live oracle", func() bool { _, w := good.Counts(); return w == 3 })
	waitFor(t, "live queue drained", func() bool { return live.Queue().Len() == 0 })
	if dead.Queue().Len() != 3 {
		t.Fatalf("dead oracle's queue has %d, want 3 kept", dead.Queue().Len())
	}
	waitFor(t, "dead oracle marked down", func() bool { st := dead.Status(); return !st.Connected && st.LastError != "" })
}

func TestInvalidReportDropped(t *testing.T) {
	key, _ := identity.NewKey(nil)
	o, addr := hotspottest.NewOracle(t, "")
	s := startSender(t, addr)
	bad := witness(t, key, 1)
	bad[len(bad)-1] ^= 0xff // breaks the signature: the oracle answers InvalidArgument
	s.Queue().Put(bad)
	s.Queue().Put(witness(t, key, 2))
	waitFor(t, "good report after the bad one", func() bool { _, w := o.Counts(); return w == 1 })
	waitFor(t, "queue drained", func() bool { return s.Queue().Len() == 0 })
	if st := s.Status(); st.Rejected != 1 || st.Accepted != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestDecode(t *testing.T) {
	key, _ := identity.NewKey(nil)
	m, err := oracleconn.Decode(witness(t, key, 9))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*hexproofv1.WitnessReport); !ok {
		t.Fatalf("decoded %T", m)
	}
	b, _ := oracleconn.EncodeBeacon(&hexproofv1.BeaconReport{EntropyHeight: 4})
	if m, err := oracleconn.Decode(b); err != nil || m.(*hexproofv1.BeaconReport).GetEntropyHeight() != 4 {
		t.Fatalf("beacon %v %v", m, err)
	}
	for _, bad := range [][]byte{nil, {'X', 1}, {'W', 0xff, 0xff}} {
		if _, err := oracleconn.Decode(bad); err == nil {
			t.Errorf("Decode(%x) accepted", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{'W', 0x0a, 0x01, 0x01})
	f.Add([]byte{'B'})
	f.Fuzz(func(t *testing.T, b []byte) {
		oracleconn.Decode(b)
	})
}
