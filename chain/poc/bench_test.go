package poc

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

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
	w, rs := coldReceipts(b)
	p := testParams()
	now := Now{Height: nowHeight, TimeMs: nowTimeMs}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Verify(w, p, now, rs[i%len(rs)])
	}
	b.ReportMetric(float64(b.N*15)/b.Elapsed().Seconds(), "reports/s")
}

// coldReceipts builds 320 fully valid receipts of distinct hotspots.
func coldReceipts(b *testing.B) (*world, []*hexproofv1.PocReceipt) {
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
	if res := Verify(w, testParams(), Now{Height: nowHeight, TimeMs: nowTimeMs}, rs[0]); len(res.RewardedWitnesses()) != 14 {
		b.Fatalf("fixture invalid: %+v", res)
	}
	return w, rs
}

// BenchmarkVerifyVsRaw interleaves the two measurements above in every
// iteration (a receipt verified with poc.Verify, then its 15 signatures with
// crypto/ed25519 one by one) so that both see the same machine load, and
// reports the ratio: ratio_pct = 100 * poc rate / raw rate.
func BenchmarkVerifyVsRaw(b *testing.B) {
	w, r := receipt15(b)
	benchVsRaw(b, w, []*hexproofv1.PocReceipt{r})
}

// BenchmarkVerifyVsRawColdKeys is the same over 320 receipts of distinct
// hotspots (more keys than CometBFT's expanded-key cache holds).
func BenchmarkVerifyVsRawColdKeys(b *testing.B) {
	w, rs := coldReceipts(b)
	benchVsRaw(b, w, rs)
}

func benchVsRaw(b *testing.B, w *world, rs []*hexproofv1.PocReceipt) {
	p := testParams()
	now := Now{Height: nowHeight, TimeMs: nowTimeMs}
	type item struct{ pub, msg, sig []byte }
	items := make([][]item, len(rs))
	for k, r := range rs {
		add := func(d identity.Domain, pub []byte, m signed) {
			msg, err := signBytes(d, m)
			if err != nil {
				b.Fatal(err)
			}
			items[k] = append(items[k], item{pub, msg, m.GetSignature()})
		}
		add(identity.DomainBeacon, r.Beacon.Hotspot, r.Beacon)
		for _, wr := range r.Witnesses {
			add(identity.DomainWitness, wr.Hotspot, wr)
		}
	}
	var tPoc, tRaw time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(rs)
		t0 := time.Now()
		Verify(w, p, now, rs[k])
		t1 := time.Now()
		for _, it := range items[k] {
			if !ed25519.Verify(it.pub, it.msg, it.sig) {
				b.Fatal("bad signature")
			}
		}
		tPoc += t1.Sub(t0)
		tRaw += time.Since(t1)
	}
	pocRate := float64(b.N*15) / tPoc.Seconds()
	rawRate := float64(b.N*15) / tRaw.Seconds()
	b.ReportMetric(pocRate, "poc_reports/s")
	b.ReportMetric(rawRate, "raw_reports/s")
	b.ReportMetric(100*pocRate/rawRate, "ratio_pct")
}
