package chainclient

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/node"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/chainview"
)

func TestEpochOf(t *testing.T) {
	tests := []struct {
		height int64
		blocks uint64
		want   uint64
	}{{1, 100, 1}, {100, 100, 1}, {101, 100, 2}, {0, 100, 1}, {5, 0, 1}}
	for _, tt := range tests {
		if got := EpochOf(tt.height, tt.blocks); got != tt.want {
			t.Errorf("EpochOf(%d, %d) = %d, want %d", tt.height, tt.blocks, got, tt.want)
		}
	}
}

func freeBase(t *testing.T) int {
	for range 50 {
		base := 20000 + rand.IntN(30000)
		var ls []net.Listener
		ok := true
		for p := base; p < base+3; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free ports")
	return 0
}

// TestAgainstRealChain runs a one-validator chain in the test and reads it
// through the adapter: status and epoch, an OUI with its escrow, onboarded
// and unknown hotspots, and a claimed voucher.
func TestAgainstRealChain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain node")
	}
	if raceEnabled {
		t.Skip("the chain application races with its own queries under -race (chain/state Commit vs abci_query); reported to its owner")
	}
	dir := t.TempDir()
	nodes, err := node.Testnet(node.TestnetOptions{Out: dir, ChainID: "router-e2e", Validators: 1, BasePort: freeBase(t), TimeoutCommit: 50 * time.Millisecond, PriceUUSD: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	// CometBFT registers its Prometheus metrics globally: off, so the test
	// can run more than once in a process (-count).
	ccfg, err := node.LoadCometConfig(nodes[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	ccfg.Instrumentation.Prometheus = false
	cmtcfg.WriteConfigFile(filepath.Join(nodes[0].Home, "config", "config.toml"), ccfg)
	n, err := node.New(node.Config{Home: nodes[0].Home, PriceUUSD: 1_000_000}, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("chain node did not stop")
		}
	})

	src, err := New(nodes[0].RPC)
	if err != nil {
		t.Fatal(err)
	}
	var st chainview.Status
	for {
		st, err = src.Status(ctx)
		if err == nil && st.Height >= 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("chain did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.ChainID != "router-e2e" || st.Epoch < 1 {
		t.Fatalf("status %+v", st)
	}

	faucet, err := identity.LoadKeyFile(filepath.Join(dir, "keys", "faucet.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client.New(nodes[0].RPC)
	signer := c.NewSigner(faucet, 0)
	mustSend := func(what string, p proto.Message) *client.TxResult {
		t.Helper()
		res, err := signer.Send(ctx, p, true)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if res.Code != client.CodeOK {
			t.Fatalf("%s: code %d %s", what, res.Code, res.Log)
		}
		return res
	}
	routerKey, hs := newKey(t), newKey(t)
	cfg := &hexproofv1.OuiConfig{NetId: 0x13, MaxCopies: 2,
		DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x26000000, End: 0x260000ff}},
		EuiPairs:      []*hexproofv1.EuiPair{{JoinEui: 7, DevEui: 0}},
		Routers:       []*hexproofv1.RouterEndpoint{{Endpoint: "127.0.0.1:9080", PublicKey: routerKey.PublicKey()}},
	}
	res := mustSend("oui create", &hexproofv1.OuiCreate{Config: cfg})
	oui := binary.BigEndian.Uint64(res.Data)
	mustSend("burn for escrow", &hexproofv1.BurnForDc{Amount: 10_000_000, Target: &hexproofv1.BurnForDc_Oui{Oui: oui}})
	mustSend("burn for account", &hexproofv1.BurnForDc{Amount: 1_000_000_000})
	add, err := client.SignHotspotAdd(hs, "router-e2e", faucet.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY)
	if err != nil {
		t.Fatal(err)
	}
	mustSend("hotspot add", add)

	o, err := src.OUI(ctx, oui)
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != oui || o.EscrowDC == 0 || o.Config.GetMaxCopies() != 2 || o.Config.GetDevaddrRanges()[0].GetEnd() != 0x260000ff ||
		o.Config.GetEuiPairs()[0].GetJoinEui() != 7 || string(o.Config.GetRouters()[0].GetPublicKey()) != string(routerKey.PublicKey()) ||
		string(o.Config.GetPayer()) != string(faucet.PublicKey()) && len(o.Config.GetPayer()) != 0 {
		t.Fatalf("OUI %+v config %v", o, o.Config)
	}
	if _, err := src.OUI(ctx, oui+100); !errors.Is(err, chainview.ErrNotFound) {
		t.Fatalf("unknown OUI: %v", err)
	}
	h, err := src.Hotspot(ctx, hs.PublicKey())
	if err != nil || h.Mode != hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY || string(h.Owner) != string(faucet.PublicKey()) {
		t.Fatalf("hotspot %+v %v", h, err)
	}
	if _, err := src.Hotspot(ctx, newKey(t).PublicKey()); !errors.Is(err, chainview.ErrNotFound) {
		t.Fatalf("unknown hotspot: %v", err)
	}

	st, _ = src.Status(ctx)
	paid, err := src.VoucherPaid(ctx, oui, hs.PublicKey(), st.Epoch)
	if err != nil || paid != 0 {
		t.Fatalf("paid before any claim = %d %v", paid, err)
	}
	v := &hexproofv1.Voucher{ChainId: "router-e2e", Oui: oui, Router: routerKey.PublicKey(), Hotspot: hs.PublicKey(), Epoch: st.Epoch, Dc: 42, Packets: 7}
	if err := routerKey.SignMessage(identity.DomainVoucher, v); err != nil {
		t.Fatal(err)
	}
	mustSend("voucher claim", &hexproofv1.VoucherClaim{Voucher: v})
	paid, err = src.VoucherPaid(ctx, oui, hs.PublicKey(), st.Epoch)
	if err != nil || paid != 42 {
		t.Fatalf("paid after the claim = %d %v, want 42", paid, err)
	}
	o2, _ := src.OUI(ctx, oui)
	if o2.EscrowDC != o.EscrowDC-42 {
		t.Fatalf("escrow %d after the claim, want %d", o2.EscrowDC, o.EscrowDC-42)
	}
}

func newKey(t *testing.T) *identity.Key {
	k, err := identity.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
