package app

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/rewards"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// TestDataRewardReachesHotspotOwner: a data-only hotspot (not counted for
// density, so not among the asserted hotspots the rewards know owners of)
// carries packets; its router's voucher is claimed; at the epoch end the
// data reward is credited to the hotspot's owner at the time of the epoch
// end (after a transfer), to the micro-unit.
func TestDataRewardReachesHotspotOwner(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	alice, bob, oracle := n.wallet("alice"), n.wallet("bob"), n.wallet("oracle")
	router := testKey(t, "router")
	hk := testKey(t, "hotspot-data")
	cfg := &hexproofv1.OuiConfig{
		NetId: 0x13, MaxCopies: 1,
		DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x26000000, End: 0x260000ff}},
		Routers:       []*hexproofv1.RouterEndpoint{{Endpoint: "127.0.0.1:9080", PublicKey: router.PublicKey()}},
	}
	add, _ := client.SignHotspotAdd(hk, testChain, oracle.k.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY)
	res := n.block(alice.tx(t, &hexproofv1.OuiCreate{Config: cfg}), oracle.tx(t, add))
	wantCodes(t, res, 0, 0)
	oui := binary.BigEndian.Uint64(res[0].Data)
	// 0.001 HXP at $2 = 200 DC of escrow; the owner then sells the hotspot
	// to bob, who is paid at the epoch end.
	res = n.block(
		alice.tx(t, &hexproofv1.BurnForDc{Amount: 1000, Target: &hexproofv1.BurnForDc_Oui{Oui: oui}}),
		oracle.tx(t, &hexproofv1.HotspotTransfer{Hotspot: hk.PublicKey(), NewOwner: bob.k.PublicKey()}),
	)
	wantCodes(t, res, 0, 0)
	const dc = 120
	v := &hexproofv1.Voucher{ChainId: testChain, Oui: oui, Router: router.PublicKey(), Hotspot: hk.PublicKey(), Epoch: 1, Dc: dc, Packets: dc}
	if err := router.SignMessage(identity.DomainVoucher, v); err != nil {
		t.Fatal(err)
	}
	// Alice submits the claim, so bob's balance moves only by the reward.
	wantCodes(t, n.block(alice.tx(t, &hexproofv1.VoucherClaim{Voucher: v})), 0)
	before := n.account(bob.k).BalanceUHXP
	for n.height%int64(n.gen.Params.EpochBlocks) != 0 {
		n.block()
	}

	var ep client.Epoch
	if c := n.query(client.QueryPath(client.PathEpoch, "epoch", "1"), &ep); c != 0 {
		t.Fatalf("epoch query code %d", c)
	}
	// 120 DC x $0.00001 = 1200 µUSD; at 2,000,000 µUSD per HXP that is
	// 600 micro-HXP, well inside the data pool (35% of 1,000,000).
	if ep.PriceUUSD != 2_000_000 {
		t.Fatalf("epoch price %d, want the genesis 2000000", ep.PriceUUSD)
	}
	want := uint64(dc) * rewards.DCValueUusd * 1_000_000 / ep.PriceUUSD
	if want != 600 {
		t.Fatalf("expected reward %d, want 600", want)
	}
	var r client.Reward
	if c := n.query(client.QueryPath(client.PathRewards, "address", hk.Address().String(), "epoch", "1"), &r); c != 0 {
		t.Fatalf("rewards query code %d", c)
	}
	if r.Owner != bob.k.Address() || r.DataDC != dc || r.Data != want || r.Total != want {
		t.Fatalf("reward %+v, want owner %s, %d DC, %d micro-HXP", r, bob.k.Address(), dc, want)
	}
	if got := n.account(bob.k).BalanceUHXP; got != before+want {
		t.Fatalf("bob holds %d micro-HXP after the epoch, want %d + %d", got, before, want)
	}
	if ep.DataPaid != want {
		t.Fatalf("epoch data paid %d, want %d", ep.DataPaid, want)
	}
	// Nothing of the data reward was left unallocated: the carried amount
	// is only what no one could earn (no beacons: PoC pools go to the
	// validators), so minted + unallocated is the emission and the data
	// reward is part of the minted amount.
	if ep.MintedUHXP+ep.UnallocatedUHXP != ep.EmissionUHXP || ep.MintedUHXP < want {
		t.Fatalf("epoch %+v", ep)
	}
}

// TestEpochHotspotRewardsPages: the hotspot rewards of an epoch come in
// pages sorted by address, each equal to the per-hotspot /rewards answer.
func TestEpochHotspotRewardsPages(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	alice, oracle := n.wallet("alice"), n.wallet("oracle")
	router := testKey(t, "router")
	cfg := &hexproofv1.OuiConfig{NetId: 0x13, MaxCopies: 1,
		Routers: []*hexproofv1.RouterEndpoint{{Endpoint: "127.0.0.1:9080", PublicKey: router.PublicKey()}}}
	res := n.block(alice.tx(t, &hexproofv1.OuiCreate{Config: cfg}))
	wantCodes(t, res, 0)
	oui := binary.BigEndian.Uint64(res[0].Data)
	wantCodes(t, n.block(alice.tx(t, &hexproofv1.BurnForDc{Amount: 1000, Target: &hexproofv1.BurnForDc_Oui{Oui: oui}})), 0)
	const hotspots = 5
	var txs [][]byte
	for i := range hotspots {
		hk := testKey(t, fmt.Sprint("paged-", i))
		add, _ := client.SignHotspotAdd(hk, testChain, oracle.k.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY)
		txs = append(txs, oracle.tx(t, add))
		v := &hexproofv1.Voucher{ChainId: testChain, Oui: oui, Router: router.PublicKey(), Hotspot: hk.PublicKey(), Epoch: 1, Dc: uint64(10 * (i + 1)), Packets: 1}
		if err := router.SignMessage(identity.DomainVoucher, v); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, alice.tx(t, &hexproofv1.VoucherClaim{Voucher: v}))
	}
	for _, r := range n.block(txs...) {
		if r.Code != 0 {
			t.Fatalf("setup tx: code %d %s", r.Code, r.Log)
		}
	}
	page := func(kv ...string) (client.EpochHotspotRewards, uint32) {
		var p client.EpochHotspotRewards
		c := n.query(client.QueryPath(client.PathEpochHotspotRewards, kv...), &p)
		return p, c
	}
	if _, c := page("epoch", "1"); c != client.QueryNotFound {
		t.Fatalf("epoch 1 before its end: code %d, want not found", c)
	}
	for n.height%int64(n.gen.Params.EpochBlocks) != 0 {
		n.block()
	}

	var all []client.Reward
	for offset, wantNext := range []int{2, 4, 0} {
		p, c := page("epoch", "1", "offset", fmt.Sprint(offset*2), "limit", "2")
		if c != 0 {
			t.Fatalf("page at %d: code %d", offset*2, c)
		}
		wantLen := 2
		if wantNext == 0 {
			wantLen = 1
		}
		if p.Epoch != 1 || p.Total != hotspots || p.Offset != uint64(offset*2) || len(p.Rewards) != wantLen || p.NextOffset != uint64(wantNext) {
			t.Fatalf("page at %d: %+v", offset*2, p)
		}
		all = append(all, p.Rewards...)
	}
	if !slices.IsSortedFunc(all, func(x, y client.Reward) int { return bytes.Compare(x.Hotspot[:], y.Hotspot[:]) }) {
		t.Fatal("rewards not sorted by address")
	}
	var dc uint64
	for _, r := range all {
		var one client.Reward
		if c := n.query(client.QueryPath(client.PathRewards, "address", r.Hotspot.String(), "epoch", "1"), &one); c != 0 || one != r {
			t.Fatalf("page reward %+v, /rewards says %+v (code %d)", r, one, c)
		}
		if r.Owner != oracle.k.Address() || r.Data == 0 {
			t.Fatalf("reward %+v", r)
		}
		dc += r.DataDC
	}
	if dc != 10+20+30+40+50 {
		t.Fatalf("pages hold %d DC, want 150", dc)
	}
	// Default limit: everything in one page; past the end: empty.
	if p, c := page("epoch", "1"); c != 0 || len(p.Rewards) != hotspots || p.NextOffset != 0 {
		t.Fatalf("default page: code %d %+v", c, p)
	}
	if p, c := page("epoch", "1", "offset", "9"); c != 0 || len(p.Rewards) != 0 || p.NextOffset != 0 || p.Total != hotspots {
		t.Fatalf("page past the end: code %d %+v", c, p)
	}
	for _, kv := range [][]string{{"epoch", "1", "limit", "1001"}, {"epoch", "1", "offset", "-1"}, {"epoch", "x"}, {}} {
		if _, c := page(kv...); c != client.QueryBadRequest {
			t.Errorf("%v: code %d, want bad request", kv, c)
		}
	}
	if _, c := page("epoch", "2"); c != client.QueryNotFound {
		t.Fatalf("epoch 2: code %d, want not found", c)
	}
}
