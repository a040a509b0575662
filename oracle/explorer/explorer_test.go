package explorer

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uber/h3-go/v4"

	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/oracle/chainsim"
	"github.com/hexproof/hexproof/oracle/indexer"
	"github.com/hexproof/hexproof/oracle/store"
)

// indexed builds a simulated chain, indexes it into a fresh schema and
// serves the explorer over it on 127.0.0.1:0.
func indexed(t testing.TB, cfg chainsim.Config) (string, *chainsim.Network, *pgxpool.Pool) {
	t.Helper()
	url, _ := testsvc.Postgres(t)
	ctx := context.Background()
	pool, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	n, err := chainsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ix := indexer.New(indexer.Config{Batch: 200}, logging.Discard(), pool, n, n)
	for {
		k, err := ix.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
	}
	srv := New(Config{}, logging.Discard(), pool, func(ctx context.Context) (int64, error) { return n.LatestHeight(ctx) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String(), n, pool
}

var smallCfg = chainsim.Config{Seed: 3, Hotspots: 30, TxsPerBlock: 10, PocBlocks: 40, ReceiptsPerBlock: 3, Witnesses: 5, EpochBlocks: 10, Spread: 0.03}

func getJSON(t testing.TB, url string, wantStatus int, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d (%s), want %d", url, resp.StatusCode, body, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
}

func TestAPI(t *testing.T) {
	base, n, _ := indexed(t, smallCfg)

	t.Run("status", func(t *testing.T) {
		var st Status
		getJSON(t, base+"/api/v1/status", 200, &st)
		if st.ChainID != "hexproof-sim" || st.IndexedHeight != int64(n.Counts.Blocks) || st.Height == nil || *st.Height != int64(n.Counts.Blocks) ||
			st.Hotspots != 30 || st.Beacons != int64(n.Counts.Receipts) {
			t.Fatalf("status %+v", st)
		}
	})

	t.Run("hotspots", func(t *testing.T) {
		var page struct {
			Hotspots []Hotspot `json:"hotspots"`
			Total    int       `json:"total"`
		}
		getJSON(t, base+"/api/v1/hotspots?limit=7&offset=28", 200, &page)
		if page.Total != 30 || len(page.Hotspots) != 2 {
			t.Fatalf("page: total %d, %d hotspots; want 30 and 2", page.Total, len(page.Hotspots))
		}
		getJSON(t, base+"/api/v1/hotspots?limit=0", 400, nil)
		getJSON(t, base+"/api/v1/hotspots?owner=nobody", 400, nil)
	})

	t.Run("hotspot detail", func(t *testing.T) {
		// The busiest beaconer has beacons, witnesses and rewards.
		var best chainsim.Hotspot
		most := int64(0)
		for _, hs := range n.Hotspots {
			var sum int64
			for _, byHs := range n.RewardsByEpoch {
				sum += byHs[hs.Key.Address().String()]
			}
			if sum > most {
				most, best = sum, hs
			}
		}
		addr := best.Key.Address().String()
		var d HotspotDetail
		getJSON(t, base+"/api/v1/hotspots/"+addr, 200, &d)
		if d.Location == nil || len(*d.Location) != 15 || *d.Location != best.Location.String() {
			t.Fatalf("location %v, want 15-hex-digit %s", d.Location, best.Location)
		}
		back, _ := h3.LatLngToCell(h3.NewLatLng(*d.Lat, *d.Lng), 12)
		if back != best.Location {
			t.Fatalf("lat/lng %v,%v is not the centre of %s", *d.Lat, *d.Lng, best.Location)
		}
		if d.Region != "EU868" || d.GainDdbi != 12 || d.Mode != "full" || d.Owner != best.Owner.Address().String() || d.Scale == nil {
			t.Fatalf("detail %+v", d.Hotspot)
		}
		if len(d.LocationHistory) != 1 || d.LocationHistory[0].Location != best.Location.String() {
			t.Fatalf("location history %+v", d.LocationHistory)
		}
		var sum int64
		for _, r := range d.Rewards {
			if want := n.RewardsByEpoch[r.Epoch][addr]; r.Total != want {
				t.Fatalf("epoch %d reward %d, chain paid %d", r.Epoch, r.Total, want)
			}
			sum += r.Total
		}
		if sum != most || len(d.Beacons) == 0 {
			t.Fatalf("rewards sum %d (want %d), %d beacons", sum, most, len(d.Beacons))
		}
		if d.LastBeaconHeight == nil || *d.LastBeaconHeight != d.Beacons[0].Height || d.IndexedHeight != int64(n.Counts.Blocks) {
			t.Fatalf("last beacon %v (newest %d), indexed %d", d.LastBeaconHeight, d.Beacons[0].Height, d.IndexedHeight)
		}
		getJSON(t, base+"/api/v1/hotspots/notanaddress", 400, nil)
		other, _ := chainsim.New(chainsim.Config{Seed: 99, Hotspots: 1})
		getJSON(t, base+"/api/v1/hotspots/"+other.Hotspots[0].Key.Address().String(), 404, nil)
	})

	t.Run("invalid witnesses carry reasons", func(t *testing.T) {
		found := 0
		for _, hs := range n.Hotspots[:10] {
			var d HotspotDetail
			getJSON(t, base+"/api/v1/hotspots/"+hs.Key.Address().String(), 200, &d)
			for _, w := range append(d.WitnessedBy, d.Witnessed...) {
				if !w.Valid {
					if w.Reason != "witness_too_close" {
						t.Fatalf("invalid witness with reason %q", w.Reason)
					}
					found++
				}
			}
		}
		if found == 0 {
			t.Fatal("no invalid witness with its reason on 10 hotspot pages")
		}
	})

	t.Run("hexes", func(t *testing.T) {
		for _, res := range []int{4, 8, 12} {
			var ans struct {
				Res   int   `json:"res"`
				Hexes []Hex `json:"hexes"`
			}
			getJSON(t, base+"/api/v1/hexes?boundary=1&res="+itoa(res), 200, &ans)
			total := 0
			for _, hx := range ans.Hexes {
				c := h3.CellFromString(hx.H3)
				if !c.IsValid() || c.Resolution() != res {
					t.Fatalf("hex %s is not a res-%d cell", hx.H3, res)
				}
				if hx.Scale <= 0 || hx.Scale > 1 || len(hx.Boundary) < 5 {
					t.Fatalf("hex %+v: scale out of (0,1] or no boundary", hx)
				}
				total += hx.Hotspots
			}
			if total != 30 {
				t.Fatalf("res %d: hexes count %d hotspots, want 30", res, total)
			}
		}
		var plain struct {
			Hexes []Hex `json:"hexes"`
		}
		getJSON(t, base+"/api/v1/hexes?res=8", 200, &plain)
		if len(plain.Hexes) == 0 || plain.Hexes[0].Boundary != nil {
			t.Fatal("boundaries must only come with boundary=1")
		}
		getJSON(t, base+"/api/v1/hexes?res=13", 400, nil)
	})

	t.Run("epoch rewards", func(t *testing.T) {
		var ans struct {
			Epoch    EpochInfo            `json:"epoch"`
			Hotspots []HotspotEpochReward `json:"hotspots"`
			Accounts []AccountEpochReward `json:"accounts"`
		}
		getJSON(t, base+"/api/v1/epochs/1/rewards", 200, &ans)
		want := n.RewardsByEpoch[1]
		if len(ans.Hotspots) != len(want) || len(ans.Accounts) != 1 {
			t.Fatalf("%d hotspot rewards (want %d), %d account rewards", len(ans.Hotspots), len(want), len(ans.Accounts))
		}
		for _, h := range ans.Hotspots {
			if h.Total != want[h.Hotspot] || !strings.Contains(string(h.Detail), "beacon_uhxp") {
				t.Fatalf("reward %+v, want total %d with breakdown", h, want[h.Hotspot])
			}
		}
		getJSON(t, base+"/api/v1/epochs/999/rewards", 404, nil)
		getJSON(t, base+"/api/v1/epochs/x/rewards", 400, nil)
	})

	t.Run("ouis", func(t *testing.T) {
		var ans struct {
			OUIs []OUI `json:"ouis"`
		}
		getJSON(t, base+"/api/v1/ouis", 200, &ans)
		if len(ans.OUIs) != 1 {
			t.Fatalf("%d OUIs", len(ans.OUIs))
		}
		o := ans.OUIs[0]
		if o.OUI != 1 || o.EscrowDC != 99750 || o.BurnedDC != 100000 || o.UsedDC != 250 || o.Packets != 200 || o.NetID != 0x24 {
			t.Fatalf("oui %+v", o)
		}
	})

	t.Run("links", func(t *testing.T) {
		var ans struct {
			Links []Link `json:"links"`
		}
		getJSON(t, base+"/api/v1/links", 200, &ans)
		if len(ans.Links) == 0 || ans.Links[0].From == ans.Links[0].To {
			t.Fatalf("links %+v", ans.Links)
		}
	})

	t.Run("web page", func(t *testing.T) {
		for _, p := range []string{"/", "/app.js", "/style.css"} {
			resp, err := http.Get(base + p)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || len(body) < 100 || strings.Contains(string(body), "http://cdn") || strings.Contains(string(body), "https://") {
				t.Fatalf("%s: status %d, %d bytes (no external assets allowed)", p, resp.StatusCode, len(body))
			}
		}
		getJSON(t, base+"/api/v1/nope", 404, nil)
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

// A hotspot set that changes reaches /hexes without a restart: the cache
// recomputes in the background after its TTL.
func TestHexesFollowNewHotspots(t *testing.T) {
	url, _ := testsvc.Postgres(t)
	ctx := context.Background()
	pool, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	n, err := chainsim.New(chainsim.Config{Seed: 4, Hotspots: 20, TxsPerBlock: 10, PocBlocks: 1, EpochBlocks: 10})
	if err != nil {
		t.Fatal(err)
	}
	ix := indexer.New(indexer.Config{}, logging.Discard(), pool, n, n)
	n.SetLatest(3) // adds (2 blocks) and the first 10 asserts
	for k := 1; k > 0; {
		if k, err = ix.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	srv := New(Config{HexCacheTTL: 20 * time.Millisecond}, logging.Discard(), pool, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	count := func() int {
		var ans struct {
			Hexes []Hex `json:"hexes"`
		}
		getJSON(t, "http://"+ln.Addr().String()+"/api/v1/hexes?res=10", 200, &ans)
		total := 0
		for _, h := range ans.Hexes {
			total += h.Hotspots
		}
		return total
	}
	if got := count(); got != 10 {
		t.Fatalf("%d located hotspots on the map, want 10", got)
	}
	n.SetLatest(1 << 30)
	for k := 1; k > 0; {
		if k, err = ix.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for count() != 20 {
		if time.Now().After(deadline) {
			t.Fatalf("map still shows %d hotspots, want 20", count())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
