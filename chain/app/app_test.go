package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abcitypes "github.com/cometbft/cometbft/abci/types"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func TestTransferAndEnvelope(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	alice, bob := n.wallet("alice"), n.wallet("bob")

	good := alice.tx(t, &hexproofv1.Transfer{To: bob.k.PublicKey(), Amount: 1000})
	if r := n.checkTx(good); r.Code != 0 {
		t.Fatalf("CheckTx: %d %s", r.Code, r.Log)
	}
	if r := n.checkTx(good); r.Code != client.CodeBadNonce {
		t.Fatalf("CheckTx replay: code %d, want bad nonce", r.Code)
	}
	// A later nonce waits in the mempool; one far ahead does not.
	ahead, _ := client.BuildTx(alice.k, testChain, 5, 1, &hexproofv1.Transfer{To: bob.k.PublicKey(), Amount: 1})
	if r := n.checkTx(ahead); r.Code != 0 {
		t.Fatalf("CheckTx of a later nonce: %d %s", r.Code, r.Log)
	}
	farAhead, _ := client.BuildTx(alice.k, testChain, 1000, 1, &hexproofv1.Transfer{To: bob.k.PublicKey(), Amount: 1})
	if r := n.checkTx(farAhead); r.Code != client.CodeBadNonce {
		t.Fatalf("CheckTx of a nonce far ahead: %d", r.Code)
	}
	wrongChain, _ := client.BuildTx(alice.k, "other-chain", alice.nonce, 1, &hexproofv1.Transfer{To: bob.k.PublicKey(), Amount: 1})
	var env hexproofv1.Tx
	proto.Unmarshal(alice.tx(t, &hexproofv1.Transfer{To: bob.k.PublicKey(), Amount: 1}), &env)
	alice.nonce--
	env.Signature[3] ^= 0x10
	badSig, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&env)
	tooMuch := bob.tx(t, &hexproofv1.Transfer{To: alice.k.PublicKey(), Amount: 1 << 40})
	zero := bob.tx(t, &hexproofv1.Transfer{To: alice.k.PublicKey(), Amount: 0})
	stranger := n.wallet("stranger").tx(t, &hexproofv1.Transfer{To: alice.k.PublicKey(), Amount: 1})

	res := n.block(good, good, wrongChain, badSig, tooMuch, zero, stranger)
	wantCodes(t, res, 0, client.CodeBadNonce, client.CodeWrongChain, client.CodeBadSignature, client.CodeInsufficientFunds, client.CodeInvalid, client.CodeInsufficientFunds)

	a, b := n.account(alice.k), n.account(bob.k)
	// alice: -1000 -1 fee; bob: +1000, two failed payload txs still paid fees.
	if a.BalanceUHXP != 10_000_000-1001 || a.Nonce != 1 {
		t.Errorf("alice = %+v", a)
	}
	if b.BalanceUHXP != 10_000_000+1000-2 || b.Nonce != 2 {
		t.Errorf("bob = %+v", b)
	}
	var sup client.Supply
	n.query(client.PathSupply, &sup)
	if sup.BurnedUHXP != 3 || sup.TotalUHXP != 30_000_000-3 {
		t.Errorf("supply = %+v", sup)
	}
	// Gas and codes are deterministic: the same block on a second instance
	// gives the same results and app hash.
	m := newNet(t, t.TempDir(), testGenesis(t))
	res2 := m.block(good, good, wrongChain, badSig, tooMuch, zero, stranger)
	for i := range res {
		if res[i].Code != res2[i].Code || res[i].GasUsed != res2[i].GasUsed || !bytes.Equal(res[i].Data, res2[i].Data) {
			t.Errorf("tx %d results differ between instances", i)
		}
	}
	if !bytes.Equal(n.app.AppHash(), m.app.AppHash()) {
		t.Fatal("app hashes differ between instances")
	}
}

func TestHotspotsAndDC(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	alice, bob := n.wallet("alice"), n.wallet("bob")
	hk := testKey(t, "hotspot-1")

	// $2/HXP: 1 HXP = 2,000,000 µUSD = 200,000 DC.
	burn := alice.tx(t, &hexproofv1.BurnForDc{Amount: 1_000_000})
	tiny := alice.tx(t, &hexproofv1.BurnForDc{Amount: 1})
	add, _ := client.SignHotspotAdd(hk, testChain, alice.k.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	addTx := alice.tx(t, add)
	dup := alice.tx(t, add)
	forged, _ := client.SignHotspotAdd(hk, testChain, bob.k.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	stolen := alice.tx(t, forged) // signed for bob as owner, submitted by alice
	res := n.block(burn, tiny, addTx, dup, stolen)
	wantCodes(t, res, 0, client.CodeInvalid, 0, client.CodeExists, client.CodeBadSignature)
	if got := binary.BigEndian.Uint64(res[0].Data); got != 200_000 {
		t.Fatalf("burn bought %d DC, want 200000", got)
	}
	if a := n.account(alice.k); a.DC != 1_000+200_000-100 {
		t.Fatalf("alice DC = %d", a.DC)
	}

	cell := cellAt(t, 0, 0)
	assert := &hexproofv1.AssertLocation{Hotspot: hk.PublicKey(), Location: cell, GainDdbi: 12, ElevationM: 5, Region: hexproofv1.Region_REGION_EU868}
	a1 := alice.tx(t, assert)
	byBob := bob.tx(t, assert)
	bad := proto.Clone(assert).(*hexproofv1.AssertLocation)
	bad.Location = cell >> 1
	badCell := alice.tx(t, bad)
	res11 := proto.Clone(assert).(*hexproofv1.AssertLocation)
	res11.Location = cell&^(0xf<<52) | 11<<52 | 7<<(3*3)
	notRes12 := alice.tx(t, res11)
	res = n.block(a1, byBob, badCell, notRes12)
	wantCodes(t, res, 0, client.CodeUnauthorized, client.CodeInvalid, client.CodeInvalid)

	moved := proto.Clone(assert).(*hexproofv1.AssertLocation)
	moved.Location = cellAt(t, 3000, 90)
	res = n.block(alice.tx(t, moved))
	wantCodes(t, res, 0)
	var hs client.Hotspot
	if c := n.query(client.QueryPath(client.PathHotspot, "address", hk.Address().String()), &hs); c != 0 {
		t.Fatalf("hotspot query code %d", c)
	}
	if hs.AssertCount != 2 || uint64(hs.Location) != moved.Location || hs.Region != "EU868" || hs.Owner != alice.k.Address() {
		t.Fatalf("hotspot = %+v", hs)
	}
	if a := n.account(alice.k); a.DC != 1_000+200_000-100-50-50 {
		t.Fatalf("alice DC after two assertions = %d", a.DC)
	}
	// Cell queries at several resolutions find it only where it is now.
	for _, tt := range []struct {
		res  int
		cell uint64
		want int
	}{{12, moved.Location, 1}, {8, moved.Location, 1}, {5, moved.Location, 1}, {12, cell, 0}} {
		parent, _ := h3Parent(tt.cell, tt.res)
		var got []client.Hotspot
		n.query(client.QueryPath(client.PathHotspotsInCell, "cell", client.Cell(parent).String()), &got)
		if len(got) != tt.want {
			t.Errorf("res %d: %d hotspots, want %d", tt.res, len(got), tt.want)
		}
	}

	// Transfer: only the owner; afterwards the new owner can assert.
	xfer := &hexproofv1.HotspotTransfer{Hotspot: hk.PublicKey(), NewOwner: bob.k.PublicKey()}
	res = n.block(bob.tx(t, xfer), alice.tx(t, xfer), alice.tx(t, assert))
	wantCodes(t, res, client.CodeUnauthorized, 0, client.CodeUnauthorized)
	var owned []client.Hotspot
	n.query(client.QueryPath(client.PathHotspotsByOwner, "address", bob.k.Address().String()), &owned)
	if len(owned) != 1 || owned[0].Address != hk.Address() {
		t.Fatalf("bob owns %+v", owned)
	}
	n.query(client.QueryPath(client.PathHotspotsByOwner, "address", alice.k.Address().String()), &owned)
	if len(owned) != 0 {
		t.Fatalf("alice still owns %+v", owned)
	}
	// Bob has 1000 DC; the assertion fee is 50.
	res = n.block(bob.tx(t, assert))
	wantCodes(t, res, 0)

	// Not enough DC: "oracle" holds 1000 DC, each hotspot costs 100.
	poor := n.wallet("oracle")
	h2 := testKey(t, "hotspot-2")
	add2, _ := client.SignHotspotAdd(h2, testChain, poor.k.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY)
	spend := poor.tx(t, &hexproofv1.OuiCreate{Config: &hexproofv1.OuiConfig{MaxCopies: 1}})
	res = n.block(spend, poor.tx(t, add2))
	wantCodes(t, res, 0, 0)
	h3k := testKey(t, "hotspot-3")
	for range 9 {
		a, _ := client.SignHotspotAdd(testKey(t, "x"+string(rune('a'+poor.nonce))), testChain, poor.k.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
		n.block(poor.tx(t, a))
	}
	add3, _ := client.SignHotspotAdd(h3k, testChain, poor.k.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	res = n.block(poor.tx(t, add3))
	wantCodes(t, res, client.CodeInsufficientDC)
}

func TestOUIAndVouchers(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	alice, bob := n.wallet("alice"), n.wallet("bob")
	router := testKey(t, "router")
	cfg := &hexproofv1.OuiConfig{
		NetId: 0x13, MaxCopies: 2,
		DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x26000000, End: 0x260000ff}},
		EuiPairs:      []*hexproofv1.EuiPair{{JoinEui: 0x70b3d57ed0000000, DevEui: 0}},
		Routers:       []*hexproofv1.RouterEndpoint{{Endpoint: "127.0.0.1:9080", PublicKey: router.PublicKey()}},
	}
	hk := testKey(t, "hotspot-1")
	add, _ := client.SignHotspotAdd(hk, testChain, bob.k.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY)
	reversed := proto.Clone(cfg).(*hexproofv1.OuiConfig)
	reversed.DevaddrRanges[0].Start = 0x27000000
	res := n.block(alice.tx(t, &hexproofv1.OuiCreate{Config: cfg}), bob.tx(t, add), alice.tx(t, &hexproofv1.OuiCreate{Config: reversed}))
	wantCodes(t, res, 0, 0, client.CodeInvalid)
	oui := binary.BigEndian.Uint64(res[0].Data)
	if oui != 1 {
		t.Fatalf("first OUI is %d", oui)
	}
	// Only the owner may update; the update takes effect.
	upd := proto.Clone(cfg).(*hexproofv1.OuiConfig)
	upd.MaxCopies = 3
	res = n.block(bob.tx(t, &hexproofv1.OuiUpdate{Oui: oui, Config: upd}), alice.tx(t, &hexproofv1.OuiUpdate{Oui: oui, Config: upd}), alice.tx(t, &hexproofv1.OuiUpdate{Oui: 99, Config: upd}))
	wantCodes(t, res, client.CodeUnauthorized, 0, client.CodeNotFound)
	var routes []client.Route
	n.query(client.QueryPath(client.PathRouteDevAddr, "devaddr", client.FormatDevAddr(0x26000010)), &routes)
	if len(routes) != 1 || routes[0].MaxCopies != 3 || routes[0].Active {
		t.Fatalf("routes = %+v (no escrow yet: inactive)", routes)
	}
	n.query(client.QueryPath(client.PathRouteDevAddr, "devaddr", client.FormatDevAddr(0x27000010)), &routes)
	if len(routes) != 0 {
		t.Fatalf("devaddr outside the range routed: %+v", routes)
	}
	n.query(client.QueryPath(client.PathRouteEUI, "join_eui", client.FormatEUI(0x70b3d57ed0000000), "dev_eui", client.FormatEUI(42)), &routes)
	if len(routes) != 1 {
		t.Fatalf("eui routes = %+v", routes)
	}

	// Escrow: 0.001 HXP at $2 = 200 DC.
	res = n.block(alice.tx(t, &hexproofv1.BurnForDc{Amount: 1000, Target: &hexproofv1.BurnForDc_Oui{Oui: oui}}))
	wantCodes(t, res, 0)
	voucher := func(k *identity.Key, dc uint64) *hexproofv1.VoucherClaim {
		v := &hexproofv1.Voucher{ChainId: testChain, Oui: oui, Router: k.PublicKey(), Hotspot: hk.PublicKey(), Epoch: 1, Dc: dc, Packets: dc}
		if err := k.SignMessage(identity.DomainVoucher, v); err != nil {
			t.Fatal(err)
		}
		return &hexproofv1.VoucherClaim{Voucher: v}
	}
	v50 := voucher(router, 50)
	forged := voucher(router, 60)
	forged.Voucher.Dc = 70
	res = n.block(
		bob.tx(t, v50),                  // pays 50
		alice.tx(t, v50),                // replay: already paid (anyone may submit)
		bob.tx(t, voucher(router, 120)), // pays 70 more
		bob.tx(t, voucher(testKey(t, "rogue router"), 150)),
		bob.tx(t, forged),
		bob.tx(t, voucher(router, 500)), // needs 380 more, escrow holds 80
	)
	wantCodes(t, res, 0, client.CodeReplay, 0, client.CodeUnauthorized, client.CodeBadSignature, client.CodeInsufficientDC)
	var o client.OUI
	n.query(client.QueryPath(client.PathOUI, "oui", "1"), &o)
	if o.EscrowDC != 200-120 {
		t.Fatalf("escrow = %d, want 80", o.EscrowDC)
	}
	var vs client.VoucherState
	n.query(client.QueryPath(client.PathVoucher, "oui", "1", "hotspot", hk.Address().String(), "epoch", "1"), &vs)
	if vs.PaidDC != 120 {
		t.Fatalf("voucher state = %+v", vs)
	}
	var ouis []client.OUI
	n.query(client.PathOUIs, &ouis)
	if len(ouis) != 1 || ouis[0].Config.MaxCopies != 3 {
		t.Fatalf("ouis = %+v", ouis)
	}
}

func TestPrepareProposalOrdersNonces(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	n.prepared = true
	alice, bob := n.wallet("alice"), n.wallet("bob")
	var a [4][]byte
	for i := range a {
		a[i] = alice.tx(t, &hexproofv1.Transfer{To: bob.k.PublicKey(), Amount: 1})
	}
	b0 := bob.tx(t, &hexproofv1.Transfer{To: alice.k.PublicKey(), Amount: 1})
	bob.nonce++ // nonce 1 is never sent
	gap := bob.tx(t, &hexproofv1.Transfer{To: alice.k.PublicKey(), Amount: 1})
	// Gossip order: 2, 0, 3, 1 for alice; bob's nonce 2 has a gap.
	res := n.block(a[2], a[0], b0, gap, a[3], a[1], []byte("junk"))
	wantCodes(t, res, 0, 0, 0, 0, 0)
	if acc := n.account(alice.k); acc.Nonce != 4 {
		t.Fatalf("alice nonce %d", acc.Nonce)
	}
}

func TestCheckTxFailureKeepsNonce(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	alice, bob := n.wallet("alice"), n.wallet("bob")
	bad := alice.tx(t, &hexproofv1.Transfer{To: bob.k.PublicKey(), Amount: 1 << 50})
	if r := n.checkTx(bad); r.Code != client.CodeInsufficientFunds {
		t.Fatalf("CheckTx: %d", r.Code)
	}
	// The refused tx never enters the mempool, so the same nonce is usable.
	alice.nonce--
	good := alice.tx(t, &hexproofv1.Transfer{To: bob.k.PublicKey(), Amount: 1})
	if r := n.checkTx(good); r.Code != 0 {
		t.Fatalf("CheckTx after a refused tx: %d %s", r.Code, r.Log)
	}
}

func TestInitChainRejectsUnknownRewardValidator(t *testing.T) {
	g := testGenesis(t)
	g.Validators = []GenesisValidator{{PubKey: make(client.HexBytes, 32), Name: "ghost"}}
	gb, _ := json.Marshal(g)
	db, err := dbm.NewGoLevelDB("app", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, _ := New(Config{}, logging.Discard(), db, nil)
	if _, err := a.InitChain(context.Background(), &abcitypes.RequestInitChain{ChainId: testChain, AppStateBytes: gb, InitialHeight: 1}); err == nil {
		t.Fatal("a reward account for a validator outside the set was accepted")
	}
}
