package chainclient

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/chaintest"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
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

// TestAgainstRealChain runs a one-validator chain in the test (also under
// -race: the chain publishes height and app hash atomically) and reads it
// through the adapter: status and epoch, an OUI with its escrow, onboarded
// and unknown hotspots, and a claimed voucher.
func TestAgainstRealChain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain node")
	}
	// chaintest keeps the node home outside t.TempDir and removes it with
	// retries: CometBFT may write its address book once more after stopping.
	c, faucet, rpc := chaintest.Start(t, 50*time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	src, err := New(rpc)
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
	if st.ChainID != chaintest.ChainID || st.Epoch < 1 {
		t.Fatalf("status %+v", st)
	}

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
	add, err := client.SignHotspotAdd(hs, chaintest.ChainID, faucet.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY)
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
	v := &hexproofv1.Voucher{ChainId: chaintest.ChainID, Oui: oui, Router: routerKey.PublicKey(), Hotspot: hs.PublicKey(), Epoch: st.Epoch, Dc: 42, Packets: 7}
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
