package poc

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	for _, s := range steps {
		res := Verify(w, p, now, s.receipt())
		fmt.Fprintf(&out, "# %s\n", s.title)
		fmt.Fprintf(&out, "beacon %s valid=%v physical=%v reason=%q\n", names[res.Beacon.Hotspot], res.Beacon.Valid, res.Beacon.Physical, res.Beacon.Reason)
		for _, wr := range res.Witnesses {
			fmt.Fprintf(&out, "  witness %-8s valid=%-5v physical=%-5v rewarded=%-5v distance_m=%-6d reason=%q\n",
				names[wr.Hotspot], wr.Valid, wr.Physical, wr.Rewarded, wr.DistanceM, wr.Reason)
		}
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
