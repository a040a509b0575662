package poc

import (
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
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

// FuzzVerify decodes arbitrary bytes as a receipt and verifies it against the
// fixture world: it must never panic, must be deterministic, and must keep
// its invariants.
func FuzzVerify(f *testing.F) {
	w := baseWorld(f)
	for _, ws := range [][]string{{"w1", "w2"}, {}, {"w1", "w1", "a"}} {
		raw, err := proto.Marshal(w.receipt(f, "a", ws...))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{})
	p := testParams()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var r hexproofv1.PocReceipt
		if proto.Unmarshal(raw, &r) != nil {
			return
		}
		a := verify(w, p, &r)
		b := verify(w, p, &r)
		if !cmp.Equal(a, b) {
			t.Fatal("not deterministic")
		}
		if len(a.Witnesses) != len(r.Witnesses) {
			t.Fatal("witness count changed")
		}
		rewarded := 0
		for _, wr := range a.Witnesses {
			if wr.Valid != (wr.Reason == "") || (wr.Valid && !a.Beacon.Valid) || (wr.Rewarded && !wr.Valid) {
				t.Fatalf("inconsistent witness result %+v (beacon %+v)", wr, a.Beacon)
			}
			if wr.Rewarded {
				rewarded++
			}
		}
		if rewarded > p.MaxWitnessesRewarded {
			t.Fatalf("%d rewarded", rewarded)
		}
		if a.Beacon.Valid && a.Beacon.Reason != "" {
			t.Fatal("valid beacon with a reason")
		}
	})
}

// receipt15 is a receipt of one beacon and 14 valid witnesses.
func receipt15(b *testing.B) (*world, *hexproofv1.PocReceipt) {
	w := newWorld(b)
	w.add(b, "a", 0, 0)
	var names []string
	for i := 0; i < 14; i++ {
		n := string(rune('A'+i)) + "-witness"
		w.add(b, n, 1000+float64(i)*900, float64(i*25))
		names = append(names, n)
	}
	r := w.receipt(b, "a", names...)
	res := verify(w, testParams(), r)
	if !res.Beacon.Valid || len(res.RewardedWitnesses()) != 14 {
		b.Fatalf("fixture receipt not fully valid: %+v", res)
	}
	return w, r
}

// BenchmarkVerifyReceipt verifies a receipt of 1 beacon + 14 witnesses with
// every rule (batch signature verification, sign-bytes encoding, H3
// distances, path loss). Compare witness_reports/s with
// BenchmarkRawEd25519's.
func BenchmarkVerifyReceipt(b *testing.B) {
	w, r := receipt15(b)
	p := testParams()
	now := Now{Height: nowHeight, TimeMs: nowTimeMs}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Verify(w, p, now, r)
	}
	b.ReportMetric(float64(b.N*15)/b.Elapsed().Seconds(), "reports/s")
}

// BenchmarkRawEd25519 is the baseline: crypto/ed25519.Verify of the same 15
// signatures over precomputed sign bytes, nothing else.
func BenchmarkRawEd25519(b *testing.B) {
	_, r := receipt15(b)
	type item struct{ pub, msg, sig []byte }
	var items []item
	add := func(d identity.Domain, pub []byte, m signed) {
		msg, err := signBytes(d, m)
		if err != nil {
			b.Fatal(err)
		}
		items = append(items, item{pub, msg, m.GetSignature()})
	}
	add(identity.DomainBeacon, r.Beacon.Hotspot, r.Beacon)
	for _, wr := range r.Witnesses {
		add(identity.DomainWitness, wr.Hotspot, wr)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, it := range items {
			if !ed25519.Verify(it.pub, it.msg, it.sig) {
				b.Fatal("bad signature")
			}
		}
	}
	b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "reports/s")
}

// BenchmarkVerifyReceiptColdKeys cycles through 320 receipts of distinct
// hotspots (4,800 keys, more than CometBFT's 4,096-entry expanded-key cache),
// as on a large network where a hotspot shows up every few hours.
func BenchmarkVerifyReceiptColdKeys(b *testing.B) {
	const receipts = 320
	w := newWorld(b)
	var rs []*hexproofv1.PocReceipt
	for n := 0; n < receipts; n++ {
		bn := fmt.Sprintf("beaconer-%d", n)
		w.add(b, bn, 0, 0)
		var names []string
		for i := 0; i < 14; i++ {
			wn := fmt.Sprintf("witness-%d-%d", n, i)
			w.add(b, wn, 1000+float64(i)*900, float64(i*25))
			names = append(names, wn)
		}
		rs = append(rs, w.receipt(b, bn, names...))
	}
	p := testParams()
	now := Now{Height: nowHeight, TimeMs: nowTimeMs}
	if res := Verify(w, p, now, rs[0]); len(res.RewardedWitnesses()) != 14 {
		b.Fatalf("fixture invalid: %+v", res)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Verify(w, p, now, rs[i%receipts])
	}
	b.ReportMetric(float64(b.N*15)/b.Elapsed().Seconds(), "reports/s")
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
