package poc

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func TestRssiBoundary(t *testing.T) {
	for _, tt := range []struct {
		rssi int32
		want Reason
	}{{-80, ""}, {-74, ""}, {-73, WitnessRssiTooHigh}, {-20, WitnessRssiTooHigh}} {
		w := baseWorld(t)
		r := w.receipt(t, "a", "w1")
		r.Witnesses[0].Radio.RssiDbm = tt.rssi
		w.signWitness(t, "w1", r.Witnesses[0])
		if got := verify(w, testParams(), r).Witnesses[0].Reason; got != tt.want {
			t.Errorf("rssi %d: reason %q, want %q", tt.rssi, got, tt.want)
		}
	}
}

// TestDeterministic: the same receipt twice, and a clone decoded from its
// encoding, give identical results.
func TestDeterministic(t *testing.T) {
	w := baseWorld(t)
	w.add(t, "w3", 150, 10) // too close
	w.add(t, "w4", 3000, 200)
	w.edit("w4", func(h *Hotspot) { h.LastBeaconHeight = 0 })
	r := w.receipt(t, "a", "w1", "w2", "w3", "w4")
	r.Witnesses[1].Signature[3] ^= 1
	a := verify(w, testParams(), r)
	raw, err := proto.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var r2 hexproofv1.PocReceipt
	if err := proto.Unmarshal(raw, &r2); err != nil {
		t.Fatal(err)
	}
	b := verify(w, testParams(), &r2)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("results differ (-first +second):\n%s", diff)
	}
	want := []Reason{"", WitnessBadSignature, WitnessTooClose, WitnessNoRecentBeacon}
	for i, wr := range a.Witnesses {
		if wr.Reason != want[i] {
			t.Errorf("witness %d: %q, want %q", i, wr.Reason, want[i])
		}
	}
}

func TestDemodFloor(t *testing.T) {
	for dr, want := range map[string]int64{"SF7BW125": -75, "SF9BW125": -125, "SF12BW125": -200} {
		if got, ok := demodFloorCentiDB(dr); !ok || got != want {
			t.Errorf("%s: %d %v, want %d", dr, got, ok, want)
		}
	}
	for _, dr := range []string{"", "SF6BW125", "SF13BW125", "FSK50"} {
		if _, ok := demodFloorCentiDB(dr); ok {
			t.Errorf("%q has a floor", dr)
		}
	}
}

func TestRecent(t *testing.T) {
	tests := []struct {
		last, h, window uint64
		want            bool
	}{
		{0, 1000, 500, false},   // never
		{500, 1000, 500, true},  // edge of the window
		{499, 1000, 500, false}, // just outside
		{1005, 1000, 500, true}, // witnessed a newer beacon first
	}
	for _, tt := range tests {
		if got := recent(tt.last, tt.h, tt.window); got != tt.want {
			t.Errorf("recent(%d, %d, %d) = %v", tt.last, tt.h, tt.window, got)
		}
	}
}

// TestShuffledWitnesses: the verdict on each report does not depend on the
// order the submitter put the reports in, duplicates included.
func TestShuffledWitnesses(t *testing.T) {
	w := baseWorld(t)
	w.add(t, "w3", 150, 10)
	w.add(t, "w4", 3000, 200)
	r := w.receipt(t, "a", "w1", "w2", "w3", "w4")
	dup := w.witnessReport(t, "w1", r.Beacon)
	dup.Radio.ReceivedAtMs -= 5
	w.signWitness(t, "w1", dup)
	late := w.witnessReport(t, "w2", r.Beacon)
	late.Radio.ReceivedAtMs += 1600
	w.signWitness(t, "w2", late)
	r.Witnesses = append(r.Witnesses, dup, late)
	type verdict struct {
		Reason             Reason
		Physical, Rewarded bool
	}
	byReport := func(r *hexproofv1.PocReceipt, res Result) map[string]verdict {
		m := map[string]verdict{}
		for i, wr := range res.Witnesses {
			m[string(r.Witnesses[i].Signature)] = verdict{wr.Reason, wr.Physical, wr.Rewarded}
		}
		return m
	}
	want := byReport(r, verify(w, testParams(), r))
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 30; n++ {
		s := &hexproofv1.PocReceipt{Beacon: r.Beacon, Witnesses: append([]*hexproofv1.WitnessReport(nil), r.Witnesses...)}
		rng.Shuffle(len(s.Witnesses), func(i, j int) { s.Witnesses[i], s.Witnesses[j] = s.Witnesses[j], s.Witnesses[i] })
		if diff := cmp.Diff(want, byReport(s, verify(w, testParams(), s))); diff != "" {
			t.Fatalf("shuffle %d changed verdicts:\n%s", n, diff)
		}
	}
	if want[string(dup.Signature)].Reason != "" || want[string(r.Witnesses[0].Signature)].Reason != WitnessDuplicate {
		t.Errorf("the earlier of w1's two reports should be kept: %+v", want)
	}
	if want[string(late.Signature)].Reason != WitnessDuplicate {
		t.Errorf("w2's later report should be the duplicate: %+v", want[string(late.Signature)])
	}
}
