package poc

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hexproof/hexproof/chain/rewards"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGoldenTranscript runs a fixed scenario of hotspots and receipts and
// compares every verdict with testdata/transcript.golden. Regenerate with
// `go test ./chain/poc -run Golden -update` and read the diff: each line
// must be explainable from docs/poc.md.
func TestGoldenTranscript(t *testing.T) {
	w := newWorld(t)
	// Hotspots around Paris; distance (m) and bearing from the centre.
	places := []struct {
		name          string
		dist, bearing float64
	}{
		{"alpha", 0, 0}, {"bravo", 1500, 30}, {"charlie", 4000, 120}, {"delta", 9000, 250},
		{"echo", 250, 300}, {"foxtrot", 120_000, 10}, {"golf", 30_000, 180}, {"hotel", 60_000, 75},
	}
	for _, pl := range places {
		w.add(t, pl.name, pl.dist, pl.bearing)
	}
	w.edit("hotel", func(h *Hotspot) { h.Mode = hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY })
	w.edit("golf", func(h *Hotspot) { h.LastBeaconHeight = 0; h.LastWitnessHeight = 0 }) // new hotspot
	p := testParams()
	now := Now{Height: nowHeight, TimeMs: nowTimeMs}

	type step struct {
		title   string
		receipt func() *hexproofv1.PocReceipt
	}
	steps := []step{
		{"alpha beacons, heard by everyone", func() *hexproofv1.PocReceipt {
			return w.receipt(t, "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
		}},
		{"bravo beacons; charlie's clock is late, delta is loud", func() *hexproofv1.PocReceipt {
			r := w.receipt(t, "bravo", "alpha", "charlie", "delta")
			r.Witnesses[1].Radio.ReceivedAtMs = sentMs + 3900
			w.signWitness(t, "charlie", r.Witnesses[1])
			r.Witnesses[2].Radio.RssiDbm = -30
			w.signWitness(t, "delta", r.Witnesses[2])
			return r
		}},
		{"golf (new) beacons: physical, not reciprocal yet", func() *hexproofv1.PocReceipt {
			return w.receipt(t, "golf", "alpha", "delta")
		}},
		{"charlie beacons with a forged payload", func() *hexproofv1.PocReceipt {
			r := w.receipt(t, "charlie", "alpha", "bravo")
			r.Beacon.Payload = append([]byte{r.Beacon.Payload[0] ^ 0xff}, r.Beacon.Payload[1:]...)
			w.signBeacon(t, "charlie", r.Beacon)
			return r
		}},
	}
	var out strings.Builder
	names := map[[32]byte]string{}
	for n, k := range w.keys {
		names[k.Address()] = n
	}
	var epoch rewards.Input
	for _, s := range steps {
		res := Verify(w, p, now, s.receipt())
		if res.Beacon.Valid {
			b := rewards.Beacon{Beaconer: res.Beacon.Hotspot}
			for _, i := range res.RewardedWitnesses() {
				b.Witnesses = append(b.Witnesses, res.Witnesses[i].Hotspot)
			}
			epoch.Beacons = append(epoch.Beacons, b)
		}
		fmt.Fprintf(&out, "# %s\n", s.title)
		fmt.Fprintf(&out, "beacon %s valid=%v physical=%v reason=%q\n", names[res.Beacon.Hotspot], res.Beacon.Valid, res.Beacon.Physical, res.Beacon.Reason)
		for _, wr := range res.Witnesses {
			fmt.Fprintf(&out, "  witness %-8s valid=%-5v physical=%-5v rewarded=%-5v distance_m=%-6d reason=%q\n",
				names[wr.Hotspot], wr.Valid, wr.Physical, wr.Rewarded, wr.DistanceM, wr.Reason)
		}
	}
	// The epoch these receipts make. Hand check of the golden: no data, so
	// the 350M data pool flows to PoC (beacon +70M = 170M, witness +280M =
	// 680M). alpha and echo are 250 m apart under one res-10 hex: scale 1/2.
	// Beacon units: alpha w=3 -> 3/4 * 1/2 = 0.375, bravo w=1 -> 1/4 * 1 =
	// 0.25; 170M -> alpha 102M, bravo 68M. Witness units: bravo, charlie,
	// delta 1 * 1/2 (alpha's scale), alpha 1 * 1 (bravo's): total 2.5; 680M
	// -> 136M each, alpha 272M. Validator 100M, oracle 50M. Sum 1,000M.
	// Every asserted full hotspot counts
	// for density; 1,000 HXP emitted, no data, one validator, one oracle.
	for _, k := range w.keys {
		h := w.hotspots[k.Address()]
		if h.Mode == hexproofv1.HotspotMode_HOTSPOT_MODE_FULL {
			epoch.Hotspots = append(epoch.Hotspots, rewards.Hotspot{Address: h.Address, Owner: h.Owner, Location: h.Location})
		}
	}
	epoch.Emission = 1_000_000_000
	epoch.Validators = []rewards.Weighted{{Address: key(t, "validator").Address(), Weight: 1}}
	epoch.Oracles = []rewards.Weighted{{Address: key(t, "oracle").Address(), Weight: 3}}
	ep, err := rewards.Compute(rewards.DefaultParams(), epoch)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&out, "# epoch rewards (micro-HXP): emission %d, data unused %d, unallocated %d\n", ep.Emission, ep.Pools.DataUnused, ep.Unallocated)
	for _, h := range ep.Hotspots {
		fmt.Fprintf(&out, "  hotspot %-8s scale=%-13d beacons=%d witnesses=%d beacon=%-10d witness=%-10d total=%d\n",
			names[h.Hotspot], h.Scale, h.Beacons, h.Witnesses, h.BeaconReward, h.WitnessReward, h.Total)
	}
	for _, a := range ep.Validators {
		fmt.Fprintf(&out, "  validator reward=%d\n", a.Reward)
	}
	for _, a := range ep.Oracles {
		fmt.Fprintf(&out, "  oracle reward=%d\n", a.Reward)
	}
	path := filepath.Join("testdata", "transcript.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Fatalf("transcript differs from %s (run with -update and review the diff):\n%s", path, out.String())
	}
}
