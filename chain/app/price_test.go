package app

import (
	"bytes"
	"context"
	"testing"

	abcitypes "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/client"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func TestPriceVotes(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	price := func() client.Price {
		var p client.Price
		n.query(client.PathPrice, &p)
		return p
	}
	// No validator has a price: no votes tx, the genesis price stays.
	n.block()
	n.block()
	if p := price(); p.PriceUUSD != 2_000_000 || p.UpdatedHeight != 0 {
		t.Fatalf("price without votes = %+v", p)
	}

	// Powers 10, 11, 12, 13 (total 46). Prices sorted: 1.0 (13), 1.5 (10),
	// 3.0 (11), empty (12). Priced power 34; cumulative 13, 23 >= 17.
	n.prices = []uint64{1_500_000, 3_000_000, 0, 1_000_000}
	n.block() // extensions are made for this height...
	n.block() // ...and injected into the next proposal.
	p := price()
	if p.PriceUUSD != 1_500_000 || p.UpdatedHeight != n.height-1 || len(p.Votes) != 3 {
		t.Fatalf("price = %+v", p)
	}

	// A forged extension signature makes honest validators reject the
	// proposal; so does a price-votes tx that is not first, or one with
	// too little power.
	forgeries := map[string]func([]byte) []byte{
		"bad signature": func(raw []byte) []byte {
			return editVotes(t, raw, func(pv *hexproofv1.PriceVotes) { pv.Votes[0].ExtensionSignature[0] ^= 1 })
		},
		"changed price": func(raw []byte) []byte {
			return editVotes(t, raw, func(pv *hexproofv1.PriceVotes) { pv.Votes[0].VoteExtension, _ = encodeExtension(99_000_000) })
		},
		"too little power": func(raw []byte) []byte {
			return editVotes(t, raw, func(pv *hexproofv1.PriceVotes) { pv.Votes = pv.Votes[:2] })
		},
		"duplicate vote": func(raw []byte) []byte {
			return editVotes(t, raw, func(pv *hexproofv1.PriceVotes) { pv.Votes[3] = pv.Votes[0] })
		},
		"wrong height": func(raw []byte) []byte {
			return editVotes(t, raw, func(pv *hexproofv1.PriceVotes) { pv.Height-- })
		},
	}
	for name, f := range forgeries {
		t.Run(name, func(t *testing.T) {
			n.forge = f
			if _, ok := n.tryBlock(); ok {
				t.Fatal("forged price votes accepted")
			}
		})
	}
	// Broadcasting a price-votes tx is refused by CheckTx.
	pv := n.app.buildPriceVotes(n.height+1, n.extendedCommit())
	if pv == nil {
		t.Fatal("no price votes built")
	}
	if r := n.checkTx(pv); r.Code != client.CodeProposerOnly {
		t.Fatalf("CheckTx of price votes: code %d", r.Code)
	}
	// Not first in the block: rejected.
	pr, _ := n.app.ProcessProposal(context.Background(), &abcitypes.RequestProcessProposal{Txs: [][]byte{n.wallet("alice").tx(t, &hexproofv1.Transfer{To: make([]byte, 32), Amount: 1}), pv}, Height: n.height + 1})
	if pr.Status != abcitypes.ResponseProcessProposal_REJECT {
		t.Fatal("price votes in second position accepted")
	}
	// Garbage extensions are rejected by VerifyVoteExtension.
	for _, ext := range [][]byte{{0xff}, {0x08, 0x00}, bytes.Repeat([]byte{1}, 40)} {
		vr, _ := n.app.VerifyVoteExtension(context.Background(), &abcitypes.RequestVerifyVoteExtension{VoteExtension: ext})
		if vr.Status != abcitypes.ResponseVerifyVoteExtension_REJECT {
			t.Errorf("extension %x accepted", ext)
		}
	}
	// The honest block still goes through and the chain continues.
	n.block()
}

func editVotes(t *testing.T, raw []byte, f func(*hexproofv1.PriceVotes)) []byte {
	var env hexproofv1.Tx
	var body hexproofv1.TxBody
	if err := proto.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(env.Body, &body); err != nil {
		t.Fatal(err)
	}
	pv := body.GetPriceVotes()
	if pv == nil {
		t.Fatal("first tx is not price votes")
	}
	for _, v := range pv.Votes {
		v.ExtensionSignature = bytes.Clone(v.ExtensionSignature)
	}
	f(pv)
	env.Body, _ = det.Marshal(&body)
	out, _ := det.Marshal(&env)
	return out
}

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	n := newNet(t, dir, testGenesis(t))
	alice := n.wallet("alice")
	n.block(alice.tx(t, &hexproofv1.Transfer{To: n.wallet("bob").k.PublicKey(), Amount: 5}))
	h, hash := n.app.Height(), n.app.AppHash()
	n.restart()
	info, _ := n.app.Info(context.Background(), &abcitypes.RequestInfo{})
	if info.LastBlockHeight != h || !bytes.Equal(info.LastBlockAppHash, hash) {
		t.Fatalf("after restart Info = %d %X, want %d %X", info.LastBlockHeight, info.LastBlockAppHash, h, hash)
	}
	if !bytes.Equal(n.app.store.Recompute(), hash) {
		t.Fatal("stored state does not hash to the app hash")
	}
	// The chain continues with the right nonce.
	res := n.block(alice.tx(t, &hexproofv1.Transfer{To: n.wallet("bob").k.PublicKey(), Amount: 5}))
	wantCodes(t, res, 0)
}

func TestSnapshotRestore(t *testing.T) {
	src := newNet(t, t.TempDir(), testGenesis(t))
	alice := src.wallet("alice")
	src.block(alice.tx(t, &hexproofv1.Transfer{To: src.wallet("bob").k.PublicKey(), Amount: 5}))
	snaps, err := openSnapshots(t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	src.app.snaps = snaps
	for range 3 {
		if err := snaps.take(src.app.store); err != nil {
			t.Fatal(err)
		}
		src.block()
	}
	ctx := context.Background()
	list, _ := src.app.ListSnapshots(ctx, &abcitypes.RequestListSnapshots{})
	if len(list.Snapshots) != 2 {
		t.Fatalf("%d snapshots kept, want 2", len(list.Snapshots))
	}
	s := list.Snapshots[1]
	var wantHash []byte
	{
		m, _ := snaps.load(s.Height)
		wantHash = m.AppHash
	}
	dst := newRestoreTarget(t)
	off, _ := dst.OfferSnapshot(ctx, &abcitypes.RequestOfferSnapshot{Snapshot: s, AppHash: wantHash})
	if off.Result != abcitypes.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", off.Result)
	}
	for i := range s.Chunks {
		c, _ := src.app.LoadSnapshotChunk(ctx, &abcitypes.RequestLoadSnapshotChunk{Height: s.Height, Format: s.Format, Chunk: i})
		if i == 0 {
			// A corrupted chunk is refetched, not applied.
			bad := bytes.Clone(c.Chunk)
			bad[len(bad)-1] ^= 1
			r, _ := dst.ApplySnapshotChunk(ctx, &abcitypes.RequestApplySnapshotChunk{Index: i, Chunk: bad, Sender: "evil"})
			if r.Result != abcitypes.ResponseApplySnapshotChunk_RETRY || r.RejectSenders[0] != "evil" {
				t.Fatalf("corrupt chunk: %v", r.Result)
			}
		}
		r, _ := dst.ApplySnapshotChunk(ctx, &abcitypes.RequestApplySnapshotChunk{Index: i, Chunk: c.Chunk})
		if r.Result != abcitypes.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %v", i, r.Result)
		}
	}
	if dst.Height() != int64(s.Height) || !bytes.Equal(dst.AppHash(), wantHash) {
		t.Fatalf("restored %d %X, want %d %X", dst.Height(), dst.AppHash(), s.Height, wantHash)
	}
}
