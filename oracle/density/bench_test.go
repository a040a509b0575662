package density

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/uber/h3-go/v4"
)

// BenchmarkCompute100k: the density map of 100,000 hotspots spread over a
// ~250 km square (what the explorer computes when the hotspot set changes).
func BenchmarkCompute100k(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench)")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	locs := make([]h3.Cell, 100_000)
	for i := range locs {
		c, err := h3.LatLngToCell(h3.NewLatLng(52.52+(rng.Float64()*2-1)*1.2, 13.4+(rng.Float64()*2-1)*1.2), 12)
		if err != nil {
			b.Fatal(err)
		}
		locs[i] = c
	}
	for b.Loop() {
		m, err := Compute(locs, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range locs {
			m.Scale(c)
		}
	}
}
