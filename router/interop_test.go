package router

import (
	"context"
	"testing"
	"time"

	"github.com/hexproof/hexproof/hotspot/routerconn"
	"github.com/hexproof/hexproof/hotspot/vouchers"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/chainview"
)

type agentHandler struct {
	vouchers chan *hexproofv1.Voucher
}

func (agentHandler) Downlink(routerconn.Peer, *hexproofv1.Downlink) {}
func (h agentHandler) Voucher(_ routerconn.Peer, v *hexproofv1.Voucher) {
	h.vouchers <- v
}

// TestHotspotAgentInterop connects the hotspot agent's own router client
// (hotspot/routerconn) to the router: handshake, an uplink delivered to the
// LNS, and a voucher the agent's verifier accepts.
func TestHotspotAgentInterop(t *testing.T) {
	routerKey := newKey(t)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1000, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
	lns := newTestLNS(t)
	cfg := testConfig(t, map[uint64]string{1: lns.addr()})
	cfg.VoucherInterval = 20 * time.Millisecond
	tr := startRouter(t, cfg, routerKey, chain)
	hk := newKey(t)
	chain.onboard(hk)

	h := agentHandler{vouchers: make(chan *hexproofv1.Voucher, 10)}
	pool := routerconn.New(routerconn.Config{Key: hk, ChainID: testChainID, AgentVersion: "interop"}, logging.Discard(), h)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- pool.Run(ctx) }()
	defer func() { cancel(); <-done }()
	endpoint := tr.Addr().String()
	pool.Sync([]routerconn.Peer{{Endpoint: endpoint, PublicKey: routerKey.PublicKey()}})

	th := &testHotspot{t: t, key: hk}
	up := th.uplink(dataFrame(0x48000042, 1, 20), -70, 30, 99)
	deadline := time.Now().Add(5 * time.Second)
	for pool.SendUplink(endpoint, up) != nil {
		if time.Now().After(deadline) {
			t.Fatal("agent never connected to the router")
		}
		time.Sleep(10 * time.Millisecond)
	}
	lns.waitFor("the agent's uplink", func() bool { return len(lns.ups) == 1 })
	select {
	case v := <-h.vouchers:
		if err := vouchers.Verify(v, routerKey.PublicKey(), hk.PublicKey(), testChainID); err != nil {
			t.Fatalf("agent refuses the router's voucher: %v", err)
		}
		if v.GetDc() != 2 || v.GetPackets() != 1 {
			t.Fatalf("voucher %v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no voucher reached the agent")
	}
}
