package explorer

import (
	"io"
	"net/http"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/hexproof/hexproof/oracle/chainsim"
)

// BenchmarkHexes measures GET /api/v1/hexes with 100,000 hotspots indexed
// (spread over a ~250 km square) over real HTTP on loopback.
func BenchmarkHexes(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench)")
	}
	t0 := time.Now()
	base, n, _ := indexed(b, chainsim.Config{Seed: 5, Hotspots: 100_000, TxsPerBlock: 5000, Spread: 1.2, EpochBlocks: 1000, Unsigned: true})
	b.Logf("generated and indexed %d hotspots in %s", len(n.Hotspots), time.Since(t0).Round(time.Millisecond))
	var ans struct {
		Hexes []Hex `json:"hexes"`
	}
	t1 := time.Now()
	getJSON(b, base+"/api/v1/hexes?res=12", 200, &ans)
	total := 0
	for _, h := range ans.Hexes {
		total += h.Hotspots
	}
	if total != 100_000 {
		b.Fatalf("hexes count %d hotspots, want 100000", total)
	}
	b.Logf("first /hexes (density of %d hotspots computed): %s", total, time.Since(t1).Round(time.Millisecond))
	get := func(url string) time.Duration {
		start := time.Now()
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", url, resp.StatusCode)
		}
		return time.Since(start)
	}
	for _, tc := range []struct {
		name string
		path string
	}{
		{"res8", "/api/v1/hexes?res=8"},
		{"res8_boundary", "/api/v1/hexes?res=8&boundary=1"},
		{"res5_boundary", "/api/v1/hexes?res=5&boundary=1"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			// The first request of a resolution encodes its answer; later
			// ones are served from memory until the hotspot set changes (then a
			// new snapshot is computed in the background).
			get(base + tc.path)
			var lat []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				lat = append(lat, get(base+tc.path))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(p(0.5), "p50_ms")
			b.ReportMetric(p(0.99), "p99_ms")
		})
	}
}
