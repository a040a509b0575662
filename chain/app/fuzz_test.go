package app

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// FuzzFinalizeBlock feeds arbitrary transaction bytes to two independent
// instances: neither may panic and both must reach the same app hash.
func FuzzFinalizeBlock(f *testing.F) {
	a := newNet(f, f.TempDir(), testGenesis(f))
	b := newNet(f, f.TempDir(), testGenesis(f))
	alice := a.wallet("alice")
	f.Add(alice.tx(f, &hexproofv1.Transfer{To: a.wallet("bob").k.PublicKey(), Amount: 1}), []byte{})
	f.Add(alice.tx(f, &hexproofv1.BurnForDc{Amount: 100}), []byte{0x0a, 0x02, 0x0a, 0x00})
	f.Add([]byte{0xff, 0x01}, alice.tx(f, &hexproofv1.PocReceipt{}))
	f.Add(alice.tx(f, receiptTB(f, 1, testKey(f, "hs-a"), testKey(f, "hs-b"))), alice.tx(f, &hexproofv1.OuiCreate{Config: &hexproofv1.OuiConfig{MaxCopies: 1}}))
	v := &hexproofv1.Voucher{ChainId: testChain, Oui: 1, Router: testKey(f, "r").PublicKey(), Hotspot: testKey(f, "hs-a").PublicKey(), Epoch: 1, Dc: 5}
	testKey(f, "r").SignMessage(identity.DomainVoucher, v)
	f.Add(alice.tx(f, &hexproofv1.VoucherClaim{Voucher: v}), alice.tx(f, &hexproofv1.BurnForDc{Amount: 10, Target: &hexproofv1.BurnForDc_Oui{Oui: 1}}))
	f.Fuzz(func(t *testing.T, tx1, tx2 []byte) {
		a.t, b.t = t, t
		ra := a.block(tx1, tx2)
		rb := b.block(tx1, tx2)
		for i := range ra {
			if ra[i].Code != rb[i].Code || ra[i].GasUsed != rb[i].GasUsed {
				t.Fatalf("tx %d: results differ", i)
			}
		}
		if !bytes.Equal(a.app.AppHash(), b.app.AppHash()) {
			t.Fatalf("app hashes diverge at height %d", a.height)
		}
	})
}

// FuzzQuery feeds arbitrary abci_query paths and heights (anyone can send
// them over RPC) to an application with an ended epoch: no panic, and the
// answer is one of the documented codes, with JSON exactly when it is 0.
func FuzzQuery(f *testing.F) {
	n := newNet(f, f.TempDir(), testGenesis(f))
	for n.height%int64(n.gen.Params.EpochBlocks) != 0 {
		n.block()
	}
	alice := testKey(f, "alice").Address().String()
	for _, p := range []string{
		client.PathParams, client.PathEpoch + "?epoch=1", client.PathAccountRewards + "?epoch=1",
		client.PathEpochHotspotRewards + "?epoch=1", client.PathEpochHotspotRewards + "?epoch=1&offset=18446744073709551615&limit=1000",
		client.PathEpochHotspotRewards + "?epoch=1&limit=0&offset=0", client.PathWhy + "?address=" + alice + "&epoch=1",
		client.PathHotspotPoC + "?address=" + alice + "&limit=1", client.PathHotspotsInCell + "?cell=8c1fb46622dd5ff", "/rewards/epoch/hotspots?epoch=%ff",
	} {
		f.Add(p, int64(0))
	}
	f.Add(client.PathParams, n.height-1)
	f.Fuzz(func(t *testing.T, path string, height int64) {
		r, err := n.app.Query(context.Background(), &abcitypes.RequestQuery{Path: path, Height: height})
		if err != nil {
			t.Fatalf("query %q: %v", path, err)
		}
		switch r.Code {
		case client.QueryOK:
			if !json.Valid(r.Value) {
				t.Fatalf("query %q: answer is not JSON: %q", path, r.Value)
			}
		case client.QueryNotFound, client.QueryBadRequest:
			if len(r.Value) != 0 || r.Log == "" {
				t.Fatalf("query %q: code %d with value %q log %q", path, r.Code, r.Value, r.Log)
			}
		default:
			t.Fatalf("query %q: code %d", path, r.Code)
		}
	})
}
