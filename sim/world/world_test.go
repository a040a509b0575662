package world

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/sim/radio"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func mustGen(t *testing.T, cfg Config) *World {
	t.Helper()
	w, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func encode(t *testing.T, w *World) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := w.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSameSeedSameWorld(t *testing.T) {
	cfg := DefaultConfig(200, 50)
	cfg.Seed = 7
	a, b := encode(t, mustGen(t, cfg)), encode(t, mustGen(t, cfg))
	if !bytes.Equal(a, b) {
		t.Fatal("two worlds from one config differ")
	}
	cfg.Seed = 8
	if bytes.Equal(a, encode(t, mustGen(t, cfg))) {
		t.Fatal("different seeds gave the same world")
	}
}

// The golden file pins the generator across Go versions and platforms: a
// change to it changes every devnet world, so it must be deliberate
// (go test ./sim/world -run Golden -update).
func TestGoldenWorld(t *testing.T) {
	cfg := DefaultConfig(30, 6)
	cfg.Seed = 1
	got := encode(t, mustGen(t, cfg))
	path := filepath.Join("testdata", "amsterdam-seed1.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Fatalf("world generator output changed (-golden +got):\n%s", diff)
	}
	w, err := Load(path)
	if err != nil {
		t.Fatalf("golden file does not load: %v", err)
	}
	if len(w.Hotspots) != 30 || len(w.Devices) != 6 {
		t.Fatalf("golden world has %d hotspots and %d devices", len(w.Hotspots), len(w.Devices))
	}
}

func TestMoreDevicesKeepHotspots(t *testing.T) {
	a := mustGen(t, DefaultConfig(60, 10))
	b := mustGen(t, DefaultConfig(60, 40))
	if diff := cmp.Diff(a.Hotspots, b.Hotspots); diff != "" {
		t.Fatalf("adding devices moved hotspots:\n%s", diff)
	}
	// Devices are drawn from their own stream: the first ones are the
	// same whatever the count.
	if diff := cmp.Diff(a.Devices, b.Devices[:10]); diff != "" {
		t.Fatalf("adding devices changed the first ones:\n%s", diff)
	}
}

func TestWorldComposition(t *testing.T) {
	for _, city := range CityNames() {
		t.Run(city, func(t *testing.T) {
			cfg := DefaultConfig(150, 60)
			cfg.City = city
			cfg.Seed = 3
			w := mustGen(t, cfg)
			c, _ := LookupCity(city)
			if w.City != c {
				t.Fatalf("city %+v, want %+v", w.City, c)
			}
			kinds := map[string]int{}
			clusters := map[int][]Hotspot{}
			dataOnly := 0
			for _, h := range w.Hotspots {
				kinds[h.Kind]++
				if h.Cluster > 0 {
					clusters[h.Cluster] = append(clusters[h.Cluster], h)
				}
				if h.Mode == ModeDataOnly {
					dataOnly++
				}
				fromCentre := radio.Distance(h.Lat, h.Lng, c.Lat, c.Lng, 0)
				moved := radio.Distance(h.Lat, h.Lng, h.AssertedLat, h.AssertedLng, 0)
				switch h.Kind {
				case KindHonest:
					if fromCentre > w.RadiusKM*1000+1 || moved != 0 {
						t.Errorf("%s: %.0f m from centre (radius %.1f km), asserted %.0f m away", h.Name, fromCentre, w.RadiusKM, moved)
					}
				case KindDishonest:
					if moved < 25e3 || moved > 251e3 {
						t.Errorf("%s: asserted %.0f km from its radio", h.Name, moved/1000)
					}
				}
				if k, err := identity.KeyFromSeed(mustHex(t, h.KeySeed)); err != nil || k.Address().IsZero() {
					t.Errorf("%s: key seed unusable: %v", h.Name, err)
				}
			}
			if len(w.Hotspots) != 150 || kinds[KindDishonest] != 3 || kinds[KindRelay] != 2 || dataOnly != 1 {
				t.Fatalf("%d hotspots, kinds %v, %d data-only", len(w.Hotspots), kinds, dataOnly)
			}
			if len(clusters) != 6 {
				t.Fatalf("%d clusters, want 6", len(clusters))
			}
			for id, hs := range clusters {
				if len(hs) != 4 {
					t.Errorf("cluster %d has %d hotspots", id, len(hs))
				}
				for _, a := range hs {
					for _, b := range hs {
						if d := radio.Distance(a.Lat, a.Lng, b.Lat, b.Lng, 0); d > 60.1 {
							t.Errorf("cluster %d: %s and %s %.0f m apart", id, a.Name, b.Name, d)
						}
					}
				}
			}
			var relays []Hotspot
			for _, h := range w.Hotspots {
				if h.Kind == KindRelay {
					relays = append(relays, h)
				}
			}
			if relays[0].RelayPeer != relays[1].Name || relays[1].RelayPeer != relays[0].Name {
				t.Fatalf("relay pair not linked: %+v", relays)
			}
			if d := radio.Distance(relays[1].Lat, relays[1].Lng, c.Lat, c.Lng, 0); d < 40e3 || d > 60e3 {
				t.Fatalf("far relay %.0f km from the centre", d/1000)
			}
			confirmed := 0
			for _, d := range w.Devices {
				if d.ConfirmedEvery > 0 {
					confirmed++
				}
				if d.Company != w.Companies[d.Index%2].Name {
					t.Errorf("%s belongs to %s", d.Name, d.Company)
				}
			}
			if confirmed != 20 {
				t.Fatalf("%d devices send confirmed uplinks, want 20", confirmed)
			}
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDevicesAreMostlyCovered(t *testing.T) {
	w := mustGen(t, DefaultConfig(100, 200))
	m, err := radio.New(radio.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	nodes := w.HotspotNodes()
	covered := 0
	for _, d := range w.Devices {
		sf, bw, err := radio.ParseDataRate(d.DataRate)
		if err != nil {
			t.Fatal(err)
		}
		tx := radio.Transmission{From: d.Node(), TxPowerDBm: d.TxPowerDBm, FrequencyHz: 868.1e6, SF: sf, BandwidthHz: bw, PayloadLen: 20}
		if len(w.Hear(m, tx, nodes)) > 0 {
			covered++
		}
	}
	// With shadowing some devices fall out of coverage, as in life, but
	// most must be heard or the devnet carries no data.
	if covered < 170 {
		t.Fatalf("%d of 200 devices heard by any hotspot", covered)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	w := mustGen(t, DefaultConfig(40, 12))
	path := filepath.Join(t.TempDir(), "world.json")
	if err := w.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, got); diff != "" {
		t.Fatalf("round trip changed the world:\n%s", diff)
	}
}

func TestReadRejects(t *testing.T) {
	base := mustGen(t, DefaultConfig(30, 4))
	tests := []struct {
		name string
		mod  func(w *World)
		want string
	}{
		{"format", func(w *World) { w.Format = "x" }, "format"},
		{"relay one-way", func(w *World) {
			for i := range w.Hotspots {
				if w.Hotspots[i].Kind == KindRelay {
					w.Hotspots[i].RelayPeer = "hs-0000"
					return
				}
			}
		}, "relay_peer"},
		{"duplicate eui", func(w *World) { w.Hotspots[1].GatewayEUI = w.Hotspots[0].GatewayEUI }, "gateway_eui"},
		{"bad latitude", func(w *World) { w.Hotspots[2].Lat = 91 }, "latitude"},
		{"unknown company", func(w *World) { w.Devices[0].Company = "nobody" }, "company"},
		{"bad data rate", func(w *World) { w.Devices[0].DataRate = "SF6" }, "data rate"},
		{"bad app key", func(w *World) { w.Devices[0].AppKey = "00" }, "app_key"},
		{"index order", func(w *World) { w.Hotspots[0], w.Hotspots[1] = w.Hotspots[1], w.Hotspots[0] }, "index"},
		{"mode", func(w *World) { w.Hotspots[0].Mode = "light" }, "mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := mustGen(t, DefaultConfig(30, 4))
			tc.mod(w)
			_, err := Read(bytes.NewReader(encode(t, w)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("unknown field", func(t *testing.T) {
		b := bytes.Replace(encode(t, base), []byte(`"seed"`), []byte(`"sede"`), 1)
		if _, err := Read(bytes.NewReader(b)); err == nil {
			t.Fatal("unknown field accepted")
		}
	})
}

func TestGenerateRejects(t *testing.T) {
	tests := map[string]Config{
		"unknown city":    {City: "atlantis", Hotspots: 5, Companies: 1},
		"too special":     {Hotspots: 3, Dishonest: 4, Companies: 1},
		"no companies":    {Hotspots: 3},
		"tiny cluster":    {Hotspots: 10, Companies: 1, Clusters: 1, ClusterSize: 1, ClusterRadiusM: 10},
		"negative":        {Hotspots: -1, Companies: 1},
		"no interval":     {Hotspots: 3, Devices: 1, Companies: 1},
		"negative radius": {Hotspots: 3, Companies: 1, RadiusKM: -1},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Generate(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	_, err := Generate(Config{City: "atlantis", Hotspots: 1, Companies: 1})
	if err == nil || !strings.Contains(err.Error(), "amsterdam") {
		t.Fatalf("unknown city error %v does not list the cities", err)
	}
}

func TestHearAppliesRelays(t *testing.T) {
	w := mustGen(t, DefaultConfig(30, 0))
	var near, far *Hotspot
	for i := range w.Hotspots {
		if w.Hotspots[i].Kind == KindRelay {
			if near == nil {
				near = &w.Hotspots[i]
			} else {
				far = &w.Hotspots[i]
			}
		}
	}
	p := radio.DefaultParams()
	p.ShadowingSigmaDB = 0
	m, _ := radio.New(p)
	nodes := w.HotspotNodes()
	// A transmitter 300 m from the relay in the city: the far peer, 40+ km
	// away, cannot hear it by radio but reports it through the relay.
	lat, lng := offset(near.Lat, near.Lng, 300, 0)
	tx := radio.Transmission{From: radio.Node{ID: DeviceNodeID(999), Lat: lat, Lng: lng, HeightM: 2}, TxPowerDBm: 14,
		FrequencyHz: 868.1e6, SF: 9, BandwidthHz: 125000, PayloadLen: 20, Start: time.Unix(0, 0)}
	if _, ok := m.Link(tx, far.Node()); ok {
		t.Fatal("far relay hears the transmitter by radio; the test needs it out of range")
	}
	heard := w.Hear(m, tx, nodes)
	var direct, relayed *Heard
	for i := range heard {
		switch heard[i].Hotspot {
		case near.Index:
			direct = &heard[i]
		case far.Index:
			relayed = &heard[i]
		}
		if i > 0 && heard[i].Hotspot <= heard[i-1].Hotspot {
			t.Fatal("receptions not ordered by hotspot")
		}
	}
	if direct == nil || relayed == nil {
		t.Fatalf("direct %v relayed %v", direct, relayed)
	}
	if relayed.RelayedFrom != near.Index || relayed.Reception.RSSI != direct.Reception.RSSI ||
		relayed.Reception.Node != HotspotNodeID(far.Index) || direct.RelayedFrom != -1 {
		t.Fatalf("relayed %+v direct %+v", relayed, direct)
	}
	// The relay does not echo a hotspot's own transmission back to it.
	tx.From = near.Node()
	for _, h := range w.Hear(m, tx, nodes) {
		if h.Hotspot == near.Index {
			t.Fatal("sender hears itself")
		}
	}
}

func TestLookupCity(t *testing.T) {
	c, err := LookupCity(" Berlin ")
	if err != nil || c.Name != "berlin" || c.Region != "EU868" {
		t.Fatal(c, err)
	}
	if len(Cities()) < 8 {
		t.Fatal("too few cities")
	}
}
