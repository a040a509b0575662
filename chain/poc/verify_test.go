package poc

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hexproof/hexproof/chain/beacon"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// baseWorld has beaconer "a" and witnesses "w1" (2 km north) and "w2"
// (5 km east).
func baseWorld(t testing.TB) *world {
	w := newWorld(t)
	w.add(t, "a", 0, 0)
	w.add(t, "w1", 2000, 0)
	w.add(t, "w2", 5000, 90)
	return w
}

func verify(w *world, p Params, r *hexproofv1.PocReceipt) Result {
	return Verify(w, p, Now{Height: nowHeight, TimeMs: nowTimeMs}, r)
}

func TestValidReceipt(t *testing.T) {
	w := baseWorld(t)
	res := verify(w, testParams(), w.receipt(t, "a", "w1", "w2"))
	if !res.Beacon.Valid || !res.Beacon.Physical || res.Beacon.Reason != "" {
		t.Fatalf("beacon %+v", res.Beacon)
	}
	if res.EntropyHeight != entropyHeight || res.Beacon.Hotspot != w.keys["a"].Address() {
		t.Errorf("result %+v", res)
	}
	for i, wr := range res.Witnesses {
		if !wr.Valid || !wr.Physical || !wr.Rewarded || wr.Reason != "" {
			t.Errorf("witness %d: %+v", i, wr)
		}
	}
	// Distances are estimates of 2 km and 5 km.
	if d := res.Witnesses[0].DistanceM; d < 1700 || d > 2300 {
		t.Errorf("w1 distance %d", d)
	}
	if d := res.Witnesses[1].DistanceM; d < 4250 || d > 5750 {
		t.Errorf("w2 distance %d", d)
	}
	if got := res.RewardedWitnesses(); !cmp.Equal(got, []int{0, 1}) {
		t.Errorf("rewarded %v", got)
	}
}

// beaconCase changes the world or the receipt (re-signing what the
// hotspot would sign) so that exactly one beacon rule fails.
type beaconCase struct {
	want   Reason
	params func(*Params)
	now    *Now
	world  func(*world)
	mutate func(t *testing.T, w *world, r *hexproofv1.PocReceipt)
}

func resignBeacon(t *testing.T, w *world, r *hexproofv1.PocReceipt) { w.signBeacon(t, "a", r.Beacon) }

func TestBeaconReasons(t *testing.T) {
	cases := []beaconCase{
		{want: BeaconMalformed, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Beacon.Payload = r.Beacon.Payload[:50]
			resignBeacon(t, w, r)
		}},
		{want: BeaconMalformed, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) { r.Beacon = nil }},
		{want: BeaconUnknownHotspot, world: func(w *world) { delete(w.hotspots, w.keys["a"].Address()) }},
		{want: BeaconBadSignature, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) { r.Beacon.Signature[5] ^= 1 }},
		{want: BeaconBadSignature, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Beacon.TransmittedAtMs++ // signed content changed after signing
		}},
		{want: BeaconDataOnly, world: func(w *world) {
			w.edit("a", func(h *Hotspot) { h.Mode = hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY })
		}},
		{want: BeaconLocationNotAsserted, world: func(w *world) { w.edit("a", func(h *Hotspot) { h.Location = 0 }) }},
		{want: BeaconLocationNotAsserted, world: func(w *world) {
			w.edit("a", func(h *Hotspot) { h.Region = hexproofv1.Region_REGION_UNSPECIFIED })
		}},
		{want: BeaconEntropyUnknown, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Beacon.Entropy = append([]byte(nil), r.Beacon.Entropy...)
			r.Beacon.Entropy[0] ^= 1
			resignBeacon(t, w, r)
		}},
		{want: BeaconEntropyUnknown, world: func(w *world) { delete(w.blocks, entropyHeight) }},
		{want: BeaconEntropyExpired, now: &Now{Height: entropyHeight + 51, TimeMs: nowTimeMs}},
		{want: BeaconEntropyExpired, now: &Now{Height: entropyHeight, TimeMs: nowTimeMs}},
		{want: BeaconTimeInvalid, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Beacon.TransmittedAtMs = blockTimeMs - 2001
			resignBeacon(t, w, r)
		}},
		{want: BeaconTimeInvalid, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Beacon.TransmittedAtMs = nowTimeMs + 2001
			resignBeacon(t, w, r)
		}},
		{want: BeaconIrregularInterval, world: func(w *world) { w.edit("a", func(h *Hotspot) { h.LastBeaconHeight = 901 }) }},
		{want: BeaconIrregularInterval, world: func(w *world) { w.edit("a", func(h *Hotspot) { h.LastBeaconHeight = entropyHeight }) }},
		{want: BeaconPayloadMismatch, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Beacon.Payload = append([]byte(nil), r.Beacon.Payload...)
			r.Beacon.Payload[50] ^= 1
			resignBeacon(t, w, r)
		}},
		{want: BeaconFrequencyMismatch, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Beacon.FrequencyHz += 200_000
			resignBeacon(t, w, r)
		}},
		{want: BeaconDataRateMismatch, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Beacon.Datarate = "SF6BW125"
			resignBeacon(t, w, r)
		}},
		{want: BeaconTxPowerTooHigh, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Beacon.TxPowerDbm = 15 // 16 dBm EIRP - 1.2 dBi = 14.8 -> 14
			resignBeacon(t, w, r)
		}},
		{want: BeaconNoRecentWitness, world: func(w *world) { w.edit("a", func(h *Hotspot) { h.LastWitnessHeight = 0 }) }},
		{want: BeaconNoRecentWitness, world: func(w *world) { w.edit("a", func(h *Hotspot) { h.LastWitnessHeight = 499 }) }},
	}
	seen := map[Reason]bool{}
	for _, tc := range cases {
		seen[tc.want] = true
		t.Run(string(tc.want), func(t *testing.T) {
			w := baseWorld(t)
			p := testParams()
			if tc.params != nil {
				tc.params(&p)
			}
			if tc.world != nil {
				tc.world(w)
			}
			r := w.receipt(t, "a", "w1", "w2")
			if tc.mutate != nil {
				tc.mutate(t, w, r)
			}
			now := Now{Height: nowHeight, TimeMs: nowTimeMs}
			if tc.now != nil {
				now = *tc.now
			}
			res := Verify(w, p, now, r)
			if res.Beacon.Reason != tc.want || res.Beacon.Valid {
				t.Fatalf("beacon reason %q valid %v, want %q", res.Beacon.Reason, res.Beacon.Valid, tc.want)
			}
			wantPhysical := tc.want == BeaconNoRecentWitness
			if res.Beacon.Physical != wantPhysical {
				t.Errorf("physical %v, want %v", res.Beacon.Physical, wantPhysical)
			}
			for i, wr := range res.Witnesses {
				if wr.Valid || wr.Rewarded || wr.Reason != WitnessBeaconInvalid {
					t.Errorf("witness %d of an invalid beacon: %+v", i, wr)
				}
				// Witnesses of a physical beacon stay physical (bootstrap).
				if wr.Physical != wantPhysical {
					t.Errorf("witness %d physical %v, want %v", i, wr.Physical, wantPhysical)
				}
			}
		})
	}
	for _, r := range Reasons[:14] {
		if !seen[r] {
			t.Errorf("no test for %s", r)
		}
	}
}

type witnessCase struct {
	want   Reason
	params func(*Params)
	world  func(*world)
	// mutate changes the receipt; witness 0 ("w1") is the one under test
	// unless index says otherwise.
	mutate func(t *testing.T, w *world, r *hexproofv1.PocReceipt)
	index  int
}

func resignW(t *testing.T, w *world, r *hexproofv1.PocReceipt, i int, name string) {
	w.signWitness(t, name, r.Witnesses[i])
}

func TestWitnessReasons(t *testing.T) {
	cases := []witnessCase{
		{want: WitnessMalformed, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) { r.Witnesses[0].Radio = nil }},
		{want: WitnessMalformed, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) { r.Witnesses[0] = nil }},
		{want: WitnessMalformed, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0].Hotspot = r.Witnesses[0].Hotspot[:31]
		}},
		{want: WitnessOverLimit, index: 1, params: func(p *Params) { p.MaxWitnessesRewarded, p.MaxWitnessesPerReceipt = 1, 1 }},
		{want: WitnessSelf, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0] = w.witnessReport(t, "a", r.Beacon)
			resignW(t, w, r, 0, "a")
		}},
		{want: WitnessUnknownHotspot, world: func(w *world) { delete(w.hotspots, w.keys["w1"].Address()) }},
		{want: WitnessBadSignature, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) { r.Witnesses[0].Signature[0] ^= 1 }},
		{want: WitnessBadSignature, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) { r.Witnesses[0].Signature = nil }},
		{want: WitnessBadSignature, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			// Signed by another hotspot's key.
			w.signWitness(t, "w2", r.Witnesses[0])
		}},
		{want: WitnessDuplicate, index: 2, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			d := w.witnessReport(t, "w1", r.Beacon)
			d.Radio.ReceivedAtMs += 10
			w.signWitness(t, "w1", d)
			r.Witnesses = append(r.Witnesses, d)
		}},
		{want: WitnessDuplicate, index: 0, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			// Submission order does not matter: the earliest report is kept.
			d := w.witnessReport(t, "w1", r.Beacon)
			d.Radio.ReceivedAtMs -= 10
			w.signWitness(t, "w1", d)
			r.Witnesses = append(r.Witnesses, d)
		}},
		{want: WitnessDataOnly, world: func(w *world) {
			w.edit("w1", func(h *Hotspot) { h.Mode = hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY })
		}},
		{want: WitnessLocationNotAsserted, world: func(w *world) { w.edit("w1", func(h *Hotspot) { h.Location = 0 }) }},
		{want: WitnessBeaconInvalid, world: func(w *world) { w.edit("a", func(h *Hotspot) { h.LastBeaconHeight = 950 }) }},
		{want: WitnessPayloadMismatch, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0].Payload = append([]byte{0}, r.Witnesses[0].Payload[1:]...)
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessFrequencyMismatch, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0].Radio.FrequencyHz += 100_001
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessDataRateMismatch, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0].Radio.Datarate = "SF12BW500"
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessSnrTooLow, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			// Below every data rate's floor (SF12: -20 dB) minus the 3 dB margin.
			r.Witnesses[0].Radio.SnrCb = -231
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessOtherRegion, world: func(w *world) {
			w.edit("w1", func(h *Hotspot) { h.Region = hexproofv1.Region_REGION_RU864 })
		}},
		{want: WitnessOtherRegion, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0].Radio.Region = hexproofv1.Region_REGION_US915
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessEntropyExpired, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0].Radio.ReceivedAtMs = nowTimeMs + 2001
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessEntropyExpired, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0].Radio.ReceivedAtMs = blockTimeMs - 2001
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessBeforeBeacon, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0].Radio.ReceivedAtMs = sentMs - 2001
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessTooLate, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0].Radio.ReceivedAtMs = sentMs + 4001
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessTooLateAfterFirst, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			r.Witnesses[0].Radio.ReceivedAtMs = sentMs + airtimeMs + 1501 // w2 heard it at sent+airtime
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessTooClose, world: func(w *world) {
			lat, lng := destination(parisLat, parisLng, 45, 150)
			w.edit("w1", func(h *Hotspot) { h.Location = cellAt(t, lat, lng) })
		}},
		{want: WitnessTooFar, world: func(w *world) {
			lat, lng := destination(parisLat, parisLng, 200, 130_000)
			w.edit("w1", func(h *Hotspot) { h.Location = cellAt(t, lat, lng) })
		}},
		{want: WitnessTooFar, world: func(w *world) {
			w.edit("w1", func(h *Hotspot) { h.Location = cellAt(t, -33.8688, 151.2093) }) // Sydney
		}},
		{want: WitnessRssiTooHigh, mutate: func(t *testing.T, w *world, r *hexproofv1.PocReceipt) {
			// 2 km at 868 MHz: FSPL(1.7 km) ~ 95.8 dB, EIRP 15.2 dBm, rx
			// gain 1.2 dBi: at most -79.4 dBm, + 6 dB excess = -73.4.
			r.Witnesses[0].Radio.RssiDbm = -73
			resignW(t, w, r, 0, "w1")
		}},
		{want: WitnessNoRecentBeacon, world: func(w *world) { w.edit("w1", func(h *Hotspot) { h.LastBeaconHeight = 0 }) }},
	}
	seen := map[Reason]bool{}
	for _, tc := range cases {
		seen[tc.want] = true
		t.Run(string(tc.want), func(t *testing.T) {
			w := baseWorld(t)
			p := testParams()
			if tc.params != nil {
				tc.params(&p)
			}
			if tc.world != nil {
				tc.world(w)
			}
			r := w.receipt(t, "a", "w1", "w2")
			if tc.mutate != nil {
				tc.mutate(t, w, r)
			}
			res := verify(w, p, r)
			if tc.want != WitnessBeaconInvalid && !res.Beacon.Valid {
				t.Fatalf("beacon invalid: %s", res.Beacon.Reason)
			}
			got := res.Witnesses[tc.index]
			if got.Reason != tc.want || got.Valid || got.Rewarded {
				t.Fatalf("witness %d: %+v, want reason %q", tc.index, got, tc.want)
			}
			if wantPhys := tc.want == WitnessNoRecentBeacon; got.Physical != wantPhys {
				t.Errorf("physical %v, want %v", got.Physical, wantPhys)
			}
			// The other witnesses are unaffected unless the beacon is.
			for i, o := range res.Witnesses {
				if i == tc.index || tc.want == WitnessBeaconInvalid || tc.want == WitnessDuplicate {
					continue
				}
				if i == 1 && tc.want != WitnessOverLimit && !o.Valid {
					t.Errorf("witness %d also invalid: %s", i, o.Reason)
				}
			}
		})
	}
	for _, r := range Reasons[14:] {
		if !seen[r] {
			t.Errorf("no test for %s", r)
		}
	}
}

func TestSelectionAtMost14(t *testing.T) {
	w := newWorld(t)
	w.add(t, "a", 0, 0)
	var names []string
	for i := 0; i < 20; i++ {
		n := string(rune('A'+i)) + "-witness"
		w.add(t, n, 1000+float64(i)*700, float64(i*18))
		names = append(names, n)
	}
	p := testParams()
	r := w.receipt(t, "a", names...)
	res := verify(w, p, r)
	got := res.RewardedWitnesses()
	if len(got) != 14 {
		t.Fatalf("%d rewarded, want 14", len(got))
	}
	for _, wr := range res.Witnesses {
		if !wr.Valid {
			t.Fatalf("witness invalid: %+v", wr)
		}
	}
	// Reversing the submission order selects the same hotspots.
	rev := &hexproofv1.PocReceipt{Beacon: r.Beacon}
	for i := len(r.Witnesses) - 1; i >= 0; i-- {
		rev.Witnesses = append(rev.Witnesses, r.Witnesses[i])
	}
	res2 := verify(w, p, rev)
	sel := map[[32]byte]bool{}
	for _, i := range got {
		sel[res.Witnesses[i].Hotspot] = true
	}
	for _, i := range res2.RewardedWitnesses() {
		if !sel[res2.Witnesses[i].Hotspot] {
			t.Fatalf("reordered receipt selected a different witness %v", res2.Witnesses[i].Hotspot)
		}
	}
	// Other entropy selects a different set (with 20 choose 14, a
	// collision would be a bug in the seeding).
	w.blocks[entropyHeight+1] = Block{Hash: []byte("another block hash, 32 bytes...."), TimeMs: blockTimeMs + 1000}
	b := w.beaconReport(t, "a")
	b.EntropyHeight, b.Entropy = entropyHeight+1, w.blocks[entropyHeight+1].Hash
	bc, _ := beacon.Derive(b.Entropy, b.Hotspot, hexproofv1.Region_REGION_EU868)
	b.Payload, b.FrequencyHz, b.Datarate = bc.Payload, bc.FrequencyHz, bc.DataRate
	w.signBeacon(t, "a", b)
	r3 := &hexproofv1.PocReceipt{Beacon: b}
	for _, n := range names {
		wr := w.witnessReport(t, n, b)
		w.signWitness(t, n, wr)
		r3.Witnesses = append(r3.Witnesses, wr)
	}
	res3 := verify(w, p, r3)
	same := true
	for _, i := range res3.RewardedWitnesses() {
		same = same && sel[res3.Witnesses[i].Hotspot]
	}
	if same {
		t.Error("different entropy selected the same witnesses")
	}
}

func TestParamsValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*Params){
		func(p *Params) { p.BeaconIntervalBlocks = 0 },
		func(p *Params) { p.EntropyValidityBlocks = 0 },
		func(p *Params) { p.ReciprocityWindowBlocks = 0 },
		func(p *Params) { p.WitnessMaxDelayMs = 0 },
		func(p *Params) { p.MaxWitnessDistanceM = 0 },
		func(p *Params) { p.MinWitnessCellDistance = -1 },
		func(p *Params) { p.MaxRssiExcessDB = -1 },
		func(p *Params) { p.MaxWitnessesRewarded = 0 },
		func(p *Params) { p.MaxWitnessesPerReceipt = 13 },
	}
	for i, f := range bad {
		p := DefaultParams()
		f(&p)
		if p.Validate() == nil {
			t.Errorf("case %d accepted", i)
		}
	}
}

func TestFSPL(t *testing.T) {
	// Hand values: 20log10(d km) + 20log10(f MHz) + 32.44.
	tests := []struct {
		d, f uint64
		want int64 // centi-dB
	}{
		{1000, 868_000_000, 9121},     // 0 + 58.770 + 32.44 = 91.21
		{10_000, 915_000_000, 11167},  // 20 + 59.228 + 32.44 = 111.67
		{1, 868_000_000, 3121},        // -60 + 58.77 + 32.44 = 31.21
		{100_000, 433_175_000, 12517}, // 40 + 52.733 + 32.44 = 125.17
	}
	for _, tt := range tests {
		got := FSPLCentiDB(tt.d, tt.f)
		if got < tt.want-2 || got > tt.want+2 {
			t.Errorf("FSPL(%d m, %d Hz) = %d cdB, want %d", tt.d, tt.f, got, tt.want)
		}
	}
	// log2 exactness on powers of two and monotonicity.
	for n := 0; n < 64; n++ {
		if got := log2Q32(1 << n); got != int64(n)<<32 {
			t.Errorf("log2(2^%d) = %d", n, got)
		}
	}
	prev := int64(-1)
	for x := uint64(1); x < 5000; x++ {
		l := log10Micro(x)
		if l < prev {
			t.Fatalf("log10 not monotonic at %d", x)
		}
		prev = l
	}
}
