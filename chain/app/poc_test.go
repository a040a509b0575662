package app

import (
	"fmt"
	"testing"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/poc"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// receipt builds name's honest beacon on the entropy of height eh, heard
// by witnesses.
func receipt(t *testing.T, eh int64, bk *identity.Key, wks ...*identity.Key) *hexproofv1.PocReceipt {
	return receiptTB(t, eh, bk, wks...)
}

func receiptTB(t testing.TB, eh int64, bk *identity.Key, wks ...*identity.Key) *hexproofv1.PocReceipt {
	t.Helper()
	entropy := blockHash(eh)
	b, err := beacon.Derive(entropy, bk.PublicKey(), hexproofv1.Region_REGION_EU868)
	if err != nil {
		t.Fatal(err)
	}
	sent := uint64(blockTime(eh).UnixMilli()) + 500
	br := &hexproofv1.BeaconReport{
		Hotspot: bk.PublicKey(), EntropyHeight: uint64(eh), Entropy: entropy, Payload: b.Payload,
		FrequencyHz: b.FrequencyHz, Datarate: b.DataRate, TxPowerDbm: beacon.TxPowerDBm(hexproofv1.Region_REGION_EU868, 12),
		TransmittedAtMs: sent,
	}
	if err := bk.SignMessage(identity.DomainBeacon, br); err != nil {
		t.Fatal(err)
	}
	r := &hexproofv1.PocReceipt{Beacon: br}
	for _, wk := range wks {
		w := &hexproofv1.WitnessReport{Hotspot: wk.PublicKey(), Payload: b.Payload, Radio: &hexproofv1.RadioMeta{
			FrequencyHz: b.FrequencyHz, Datarate: b.DataRate, RssiDbm: -115, SnrCb: -50,
			ReceivedAtMs: sent + 300, Region: hexproofv1.Region_REGION_EU868,
		}}
		if err := wk.SignMessage(identity.DomainWitness, w); err != nil {
			t.Fatal(err)
		}
		r.Witnesses = append(r.Witnesses, w)
	}
	return r
}

// onboard adds and asserts hotspots owned by owner at (distance, bearing).
func onboard(t *testing.T, n *net, owner *wallet, spots map[*identity.Key][2]float64, order []*identity.Key) {
	onboardTB(t, n, owner, spots, order)
}

func onboardTB(t testing.TB, n *net, owner *wallet, spots map[*identity.Key][2]float64, order []*identity.Key) {
	t.Helper()
	var txs [][]byte
	txs = append(txs, owner.tx(t, &hexproofv1.BurnForDc{Amount: 1_000_000}))
	for _, k := range order {
		add, err := client.SignHotspotAdd(k, testChain, owner.k.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, owner.tx(t, add))
		d := spots[k]
		txs = append(txs, owner.tx(t, &hexproofv1.AssertLocation{Hotspot: k.PublicKey(), Location: cellAt(t, d[0], d[1]), GainDdbi: 12, Region: hexproofv1.Region_REGION_EU868}))
	}
	for i, r := range n.block(txs...) {
		if r.Code != 0 {
			t.Fatalf("onboarding tx %d: %d %s", i, r.Code, r.Log)
		}
	}
}

func TestPoCReceipts(t *testing.T) {
	n := newNet(t, t.TempDir(), testGenesis(t))
	alice, oracle := n.wallet("alice"), n.wallet("oracle")
	a, b, c, near := testKey(t, "hs-a"), testKey(t, "hs-b"), testKey(t, "hs-c"), testKey(t, "hs-near")
	onboard(t, n, alice, map[*identity.Key][2]float64{a: {0, 0}, b: {5000, 90}, c: {8000, 200}, near: {30, 10}}, []*identity.Key{a, b, c, near})

	// Round 1: a beacons, b/c/near witness. Nobody is reciprocal yet, so
	// the beacon is physical but invalid, the witnesses have no recent
	// beacon of their own, and "near" is too close.
	eh := n.height
	r1 := receipt(t, eh, a, b, c, near)
	n.block()
	res := n.block(oracle.tx(t, r1), oracle.tx(t, r1))
	wantCodes(t, res, 0, client.CodeReplay)
	id1 := res[0].Data
	var br client.BeaconReceipt
	if code := n.query(client.QueryPath(client.PathBeacon, "id", client.HexBytes(id1).String()), &br); code != 0 {
		t.Fatalf("beacon query code %d", code)
	}
	if br.Valid || br.Reason != string(poc.BeaconNoRecentWitness) || br.Submitter != oracle.k.Address() {
		t.Fatalf("round 1 beacon = %+v", br)
	}
	wantReasons := []poc.Reason{poc.WitnessNoRecentBeacon, poc.WitnessNoRecentBeacon, poc.WitnessTooClose}
	for i, w := range br.Witnesses {
		if w.Reason != string(wantReasons[i]) {
			t.Errorf("round 1 witness %d reason %q, want %q", i, w.Reason, wantReasons[i])
		}
	}

	// CheckTx keeps a receipt already on chain and an unknown beaconer out
	// of the mempool; the full verification happens in FinalizeBlock.
	if r := n.checkTx(oracle.tx(t, r1)); r.Code != client.CodeReplay {
		t.Fatalf("CheckTx of a recorded receipt: %d %s", r.Code, r.Log)
	}
	oracle.nonce--
	if r := n.checkTx(oracle.tx(t, receipt(t, n.height, testKey(t, "nobody"), b))); r.Code != client.CodeInvalid {
		t.Fatalf("CheckTx of an unknown beaconer: %d %s", r.Code, r.Log)
	}
	oracle.nonce--

	// Round 2: b beacons (it witnessed physically in round 1), a and c
	// witness; a beaconed physically, c never did.
	n.block()
	eh = n.height
	r2 := receipt(t, eh, b, a, c)
	n.block()
	res = n.block(oracle.tx(t, r2))
	wantCodes(t, res, 0)
	n.query(client.QueryPath(client.PathBeacon, "id", client.HexBytes(res[0].Data).String()), &br)
	if !br.Valid {
		t.Fatalf("round 2 beacon invalid: %s", br.Reason)
	}
	// Indexers read the verdicts from the tx events.
	var kinds []string
	for _, e := range res[0].Events {
		kinds = append(kinds, e.Type)
		if e.Type == "poc_beacon" && e.Attributes[2].Value != "true" {
			t.Errorf("poc_beacon event %v", e.Attributes)
		}
	}
	if fmt.Sprint(kinds) != "[hexproof_tx poc_beacon poc_witness poc_witness]" {
		t.Errorf("events %v", kinds)
	}
	if w := br.Witnesses[0]; !w.Valid || !w.Selected || w.DistanceM < 4000 || w.DistanceM > 6000 {
		t.Errorf("witness a = %+v", w)
	}
	if w := br.Witnesses[1]; w.Valid || w.Reason != string(poc.WitnessNoRecentBeacon) {
		t.Errorf("witness c = %+v", w)
	}
	// Per-hotspot history, newest first, with reasons.
	var hist client.HotspotPoC
	n.query(client.QueryPath(client.PathHotspotPoC, "address", c.Address().String()), &hist)
	if len(hist.Entries) != 2 || hist.Entries[0].Reason != string(poc.WitnessNoRecentBeacon) || hist.Entries[1].Reason != string(poc.WitnessNoRecentBeacon) || hist.Entries[0].BeaconID.String() == hist.Entries[1].BeaconID.String() || hist.Entries[0].Beaconer != b.Address() {
		t.Fatalf("history of c = %+v", hist)
	}

	// Expired entropy and an unknown beaconer.
	stale := receipt(t, 2, c, a)
	for range n.gen.Params.EntropyValidityBlocks {
		n.block()
	}
	stranger := receipt(t, n.height, testKey(t, "unknown"), a)
	res = n.block(oracle.tx(t, stale), oracle.tx(t, stranger))
	wantCodes(t, res, 0, client.CodeInvalid)
	n.query(client.QueryPath(client.PathBeacon, "id", client.HexBytes(res[0].Data).String()), &br)
	if br.Reason != string(poc.BeaconEntropyExpired) && br.Reason != string(poc.BeaconEntropyUnknown) {
		t.Fatalf("stale beacon reason %q", br.Reason)
	}

	// The epoch end pays b's valid beacon, a's witness and the oracle.
	for n.height%int64(n.gen.Params.EpochBlocks) != 0 {
		n.block()
	}
	var rw client.Reward
	if code := n.query(client.QueryPath(client.PathRewards, "address", b.Address().String(), "epoch", "1"), &rw); code != 0 {
		t.Fatalf("reward query code %d", code)
	}
	if rw.Beacons != 1 || rw.Beacon == 0 || rw.Owner != alice.k.Address() {
		t.Fatalf("b's reward = %+v", rw)
	}
	rw0 := rw
	n.query(client.QueryPath(client.PathRewards, "address", a.Address().String(), "epoch", "1"), &rw)
	if rw.Witnesses != 1 || rw.Witness == 0 {
		t.Fatalf("a's reward = %+v", rw)
	}
	checkEpochInvariant(t, n, 1)
	var ars []client.AccountReward
	n.query(client.QueryPath(client.PathAccountRewards, "epoch", "1"), &ars)
	var oracles, vals int
	for _, r := range ars {
		switch r.Kind {
		case "oracle":
			oracles++
			if r.Account != oracle.k.Address() || r.Weight != 1 || r.Amount == 0 {
				t.Errorf("oracle reward %+v", r)
			}
		case "validator":
			vals++
		}
	}
	if oracles != 1 || vals != 4 {
		t.Fatalf("account rewards %+v", ars)
	}
	var why client.Why
	if code := n.query(client.QueryPath(client.PathWhy, "address", b.Address().String(), "epoch", "1"), &why); code != 0 {
		t.Fatalf("why query code %d", code)
	}
	if why.Reward == nil || why.Reward.Beacon != rw0.Beacon || why.Density == nil || why.Density.Scale == 0 || len(why.Recent) == 0 {
		t.Fatalf("why = %+v", why)
	}
	var ds client.DensityScale
	if code := n.query(client.QueryPath(client.PathDensity, "cell", client.Cell(cellAt(t, 0, 0)).String()), &ds); code != 0 || ds.Scale == 0 || len(ds.Levels) == 0 {
		t.Fatalf("density = %+v (code %d)", ds, code)
	}
}

// checkEpochInvariant: minted + unallocated equals the emission, and the
// supply grew by exactly the minted amount.
func checkEpochInvariant(t *testing.T, n *net, epoch uint64) {
	t.Helper()
	var e client.Epoch
	if code := n.query(client.QueryPath(client.PathEpoch, "epoch", "1"), &e); code != 0 {
		t.Fatalf("epoch query code %d", code)
	}
	if e.MintedUHXP+e.UnallocatedUHXP != e.EmissionUHXP || e.EmissionUHXP != 1_000_000 {
		t.Fatalf("epoch %d: minted %d + unallocated %d != emission %d", epoch, e.MintedUHXP, e.UnallocatedUHXP, e.EmissionUHXP)
	}
	var sup client.Supply
	n.query(client.PathSupply, &sup)
	if sup.MintedUHXP != e.MintedUHXP {
		t.Fatalf("supply minted %d, epoch minted %d", sup.MintedUHXP, e.MintedUHXP)
	}
}
