package routerconn_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hexproof/hexproof/hotspot/hotspottest"
	"github.com/hexproof/hexproof/hotspot/routerconn"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

type nopHandler struct{ down chan *hexproofv1.Downlink }

func (h nopHandler) Downlink(_ routerconn.Peer, d *hexproofv1.Downlink) { h.down <- d }
func (nopHandler) Voucher(routerconn.Peer, *hexproofv1.Voucher)         {}

func startPool(t *testing.T, key *identity.Key, peers ...routerconn.Peer) *routerconn.Pool {
	p := routerconn.New(routerconn.Config{Key: key, ChainID: "c", OutboxSize: 16}, logging.Discard(), nopHandler{make(chan *hexproofv1.Downlink, 4)})
	p.Sync(peers) // before Run: remembered and started by Run
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
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

func TestImpostorRouterRefused(t *testing.T) {
	key, _ := identity.NewKey(nil)
	r, addr := hotspottest.NewRouter(t, "c")
	other, _ := identity.NewKey(nil)
	p := startPool(t, key, routerconn.Peer{Endpoint: addr, PublicKey: other.PublicKey()})
	waitFor(t, "handshake failure", func() bool {
		st := p.Status()
		return len(st) == 1 && strings.Contains(st[0].LastError, "differs from the key registered")
	})
	if p.Connected(addr) {
		t.Fatal("session with an impostor is up")
	}
	// The right key connects.
	p.Sync([]routerconn.Peer{{Endpoint: addr, PublicKey: r.Key.PublicKey()}})
	waitFor(t, "session", func() bool { return p.Connected(addr) })
}

func TestWrongChainRefused(t *testing.T) {
	key, _ := identity.NewKey(nil)
	r, addr := hotspottest.NewRouter(t, "other-chain")
	p := startPool(t, key, routerconn.Peer{Endpoint: addr, PublicKey: r.Key.PublicKey()})
	waitFor(t, "refusal", func() bool { st := p.Status(); return len(st) == 1 && st[0].LastError != "" })
	if p.Connected(addr) {
		t.Fatal("connected to a router of another chain")
	}
}

func TestSlowRouterDoesNotBlockAnother(t *testing.T) {
	key, _ := identity.NewKey(nil)
	slow, slowAddr := hotspottest.NewRouter(t, "c")
	slow.Stall.Store(true)
	fast, fastAddr := hotspottest.NewRouter(t, "c")
	p := startPool(t, key, routerconn.Peer{Endpoint: slowAddr, PublicKey: slow.Key.PublicKey()}, routerconn.Peer{Endpoint: fastAddr, PublicKey: fast.Key.PublicKey()})
	waitFor(t, "both sessions", func() bool { return p.Connected(slowAddr) && p.Connected(fastAddr) })

	mk := func(i int) *hexproofv1.Uplink {
		up := &hexproofv1.Uplink{Hotspot: key.PublicKey(), PhyPayload: bytes.Repeat([]byte{byte(i)}, 200), Seq: uint64(i)}
		key.SignMessage(identity.DomainUplink, up)
		return up
	}
	// Far more than the slow router's flow-control window and outbox hold:
	// the calls must return (dropping) instead of blocking.
	done := make(chan int)
	go func() {
		dropped := 0
		big := mk(0)
		big.PhyPayload = bytes.Repeat([]byte{1}, 1000)
		for range 5000 {
			if p.SendUplink(slowAddr, big) != nil {
				dropped++
			}
		}
		done <- dropped
	}()
	select {
	case dropped := <-done:
		if dropped == 0 {
			t.Fatal("stalled router took every uplink")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SendUplink blocked on a stalled router")
	}
	for i := range 10 {
		if err := p.SendUplink(fastAddr, mk(i)); err != nil {
			t.Fatal(err)
		}
		select {
		case up := <-fast.Uplinks:
			if up.GetSeq() != uint64(i) {
				t.Fatalf("seq %d, want %d", up.GetSeq(), i)
			}
		case err := <-fast.AuthErrs:
			t.Fatal(err)
		case <-time.After(5 * time.Second):
			t.Fatal("fast router starved by the stalled one")
		}
	}
	st := p.Status()
	for _, s := range st {
		if s.Endpoint == slowAddr && s.Dropped == 0 {
			t.Fatalf("drops not counted: %+v", s)
		}
	}
}

func TestSessionSignBytesDeterministic(t *testing.T) {
	a, _ := routerconn.SessionSignBytes("c", []byte{1}, []byte{2}, []byte{3})
	b, _ := routerconn.SessionSignBytes("c", []byte{1}, []byte{2}, []byte{3})
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Fatal("sign bytes not deterministic")
	}
}
