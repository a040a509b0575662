package world

import (
	"encoding/hex"
	"fmt"
	"math"

	"github.com/hexproof/hexproof/sim/internal/detrand"
	"github.com/hexproof/hexproof/sim/radio"
)

// Config says what world to generate. DefaultConfig fills it in for a
// hotspot count; Generate uses the fields as they are.
type Config struct {
	City string // built-in city name (see Cities); empty means DefaultCity
	Seed uint64
	// RadiusKM of the area hotspots are spread over; 0 picks one from the
	// hotspot count (about 3 hotspots per km², at most the city's radius)
	// so that small worlds are still dense enough to witness each other.
	RadiusKM float64
	Hotspots int
	Devices  int
	// Companies is the number of simulated IoT companies (each its own OUI
	// and network server); devices are shared among them round robin.
	Companies int
	// Clusters dense clusters of ClusterSize hotspots each, all within
	// ClusterRadiusM of a point (same hexes, so density scaling shows).
	Clusters       int
	ClusterSize    int
	ClusterRadiusM float64
	// Dishonest hotspots assert a location tens to hundreds of km from
	// where their radio is.
	Dishonest int
	// RelayPair adds two hotspots, one in the city and one 40-60 km
	// away, that relay receptions to each other over the internet.
	RelayPair bool
	// DataOnly hotspots are onboarded in data-only mode.
	DataOnly int
	// UplinkIntervalS is the devices' uplink period (seconds).
	UplinkIntervalS int
	// ConfirmedEvery: every third device sends every n-th uplink confirmed.
	ConfirmedEvery int
}

// DefaultConfig is the devnet's world for a number of hotspots and
// devices: 2 companies, a dense cluster per 25 hotspots (at most 8), a
// dishonest hotspot per 50 (at least 1 from 10 hotspots), a relay pair
// and a data-only hotspot from 20 hotspots.
func DefaultConfig(hotspots, devices int) Config {
	c := Config{
		City:            DefaultCity,
		Hotspots:        hotspots,
		Devices:         devices,
		Companies:       2,
		ClusterSize:     4,
		ClusterRadiusM:  30,
		UplinkIntervalS: 60,
		ConfirmedEvery:  2,
	}
	if hotspots >= 10 {
		c.Clusters = min(8, max(1, hotspots/25))
		c.Dishonest = max(1, hotspots/50)
	}
	if hotspots >= 20 {
		c.RelayPair = true
		c.DataOnly = 1
	}
	return c
}

// companyNames are the simulated IoT companies, in order.
var companyNames = [...]string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell"}

// Generate builds the world cfg describes. The same cfg gives the same
// world.
func Generate(cfg Config) (*World, error) {
	if cfg.City == "" {
		cfg.City = DefaultCity
	}
	city, err := LookupCity(cfg.City)
	if err != nil {
		return nil, err
	}
	special := cfg.Clusters*cfg.ClusterSize + cfg.Dishonest + cfg.DataOnly
	if cfg.RelayPair {
		special += 2
	}
	switch {
	case cfg.Hotspots < 0 || cfg.Devices < 0 || cfg.Clusters < 0 || cfg.Dishonest < 0 || cfg.DataOnly < 0:
		return nil, fmt.Errorf("world counts must not be negative")
	case special > cfg.Hotspots:
		return nil, fmt.Errorf("world of %d hotspots cannot hold %d special ones (clusters, dishonest, relay pair, data-only): add hotspots or ask for fewer", cfg.Hotspots, special)
	case cfg.Companies < 1 || cfg.Companies > len(companyNames):
		return nil, fmt.Errorf("companies %d: use 1 to %d", cfg.Companies, len(companyNames))
	case cfg.Clusters > 0 && (cfg.ClusterSize < 2 || cfg.ClusterRadiusM <= 0):
		return nil, fmt.Errorf("clusters need a size of at least 2 and a positive radius")
	case cfg.Devices > 0 && cfg.UplinkIntervalS <= 0:
		return nil, fmt.Errorf("uplink interval %d s: must be positive", cfg.UplinkIntervalS)
	case cfg.RadiusKM < 0:
		return nil, fmt.Errorf("radius %v km: must not be negative", cfg.RadiusKM)
	}
	radius := cfg.RadiusKM
	if radius == 0 {
		radius = math.Min(city.RadiusKM, math.Max(1.5, math.Sqrt(float64(cfg.Hotspots)/(math.Pi*3))))
	}
	root := detrand.New(cfg.Seed)
	w := &World{Format: Format, Seed: cfg.Seed, City: city, RadiusKM: round(radius, 3)}
	keys := root.Fork(3)
	for i := 0; i < cfg.Companies; i++ {
		je := make([]byte, 8)
		keys.Bytes(je)
		w.Companies = append(w.Companies, Company{
			Name:  companyNames[i],
			NetID: "00003c",
			// Type-0 NetID 0x3C: DevAddrs 0x78xxxxxx; each company a
			// block of 2048 addresses.
			DevAddrStart: fmt.Sprintf("%08x", 0x78000000+uint32(i)*2048),
			DevAddrCount: 2048,
			JoinEUI:      hex.EncodeToString(je),
		})
	}
	g := &gen{w: w, cfg: cfg, radiusM: radius * 1000, rng: root.Fork(1), keys: keys}
	g.hotspots()
	g.devices(root.Fork(2))
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("generated world is invalid (a bug): %w", err)
	}
	return w, nil
}

type gen struct {
	w       *World
	cfg     Config
	radiusM float64
	rng     *detrand.Rand
	keys    *detrand.Rand
	euis    map[string]bool
}

// offset moves a point by north and east metres (small distances).
func offset(lat, lng, north, east float64) (float64, float64) {
	const m = 111195.0 // metres per degree of latitude on the mean sphere
	return lat + north/m, lng + east/(m*math.Cos(lat*math.Pi/180))
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// inCity draws a point in the city, denser towards the centre
// (r = R·u^0.7, where u^0.5 would be uniform).
func (g *gen) inCity(maxFrac float64) (float64, float64) {
	r := g.radiusM * maxFrac * math.Pow(g.rng.Float64(), 0.7)
	a := 2 * math.Pi * g.rng.Float64()
	return offset(g.w.City.Lat, g.w.City.Lng, r*math.Cos(a), r*math.Sin(a))
}

// around draws a point uniformly within radius metres of a point.
func (g *gen) around(lat, lng, radius float64) (float64, float64) {
	r := radius * math.Sqrt(g.rng.Float64())
	a := 2 * math.Pi * g.rng.Float64()
	return offset(lat, lng, r*math.Cos(a), r*math.Sin(a))
}

// away draws a point between lo and hi metres from a point.
func (g *gen) away(lat, lng, lo, hi float64) (float64, float64) {
	r := g.rng.Range(lo, hi)
	a := 2 * math.Pi * g.rng.Float64()
	return offset(lat, lng, r*math.Cos(a), r*math.Sin(a))
}

// antennas: common hotspot antennas (dBi) and how often they are fitted.
var antennas = [...]struct {
	gain   float64
	weight int
}{{1.2, 1}, {2.3, 3}, {3.0, 4}, {5.8, 2}, {8.0, 1}}

func (g *gen) antenna() float64 {
	total := 0
	for _, a := range antennas {
		total += a.weight
	}
	k := g.rng.IntN(total)
	for _, a := range antennas {
		if k < a.weight {
			return a.gain
		}
		k -= a.weight
	}
	return antennas[0].gain
}

func (g *gen) addHotspot(lat, lng float64, kind string) *Hotspot {
	i := len(g.w.Hotspots)
	seed := make([]byte, 32)
	g.keys.Bytes(seed)
	eui := make([]byte, 8)
	for {
		g.keys.Bytes(eui)
		if !g.euis[hex.EncodeToString(eui)] {
			break
		}
	}
	g.euis[hex.EncodeToString(eui)] = true
	lat, lng = round(lat, 7), round(lng, 7)
	g.w.Hotspots = append(g.w.Hotspots, Hotspot{
		Index: i, Name: fmt.Sprintf("hs-%04d", i), KeySeed: hex.EncodeToString(seed), GatewayEUI: hex.EncodeToString(eui),
		Lat: lat, Lng: lng, AssertedLat: lat, AssertedLng: lng,
		HeightM: round(g.rng.Range(3, 30), 1), GainDBi: g.antenna(), Kind: kind, Mode: ModeFull,
	})
	return &g.w.Hotspots[i]
}

func (g *gen) hotspots() {
	g.euis = map[string]bool{}
	cfg := g.cfg
	for c := 1; c <= cfg.Clusters; c++ {
		clat, clng := g.inCity(0.6)
		for k := 0; k < cfg.ClusterSize; k++ {
			lat, lng := g.around(clat, clng, cfg.ClusterRadiusM)
			g.addHotspot(lat, lng, KindHonest).Cluster = c
		}
	}
	for k := 0; k < cfg.Dishonest; k++ {
		lat, lng := g.inCity(1)
		h := g.addHotspot(lat, lng, KindDishonest)
		// Half assert beyond the 100 km witness limit; the other half
		// 25-50 km away, where their too-strong RSSI gives them away.
		lo, hi := 150e3, 250e3
		if k%2 == 1 {
			lo, hi = 25e3, 50e3
		}
		alat, alng := g.away(lat, lng, lo, hi)
		h.AssertedLat, h.AssertedLng = round(alat, 7), round(alng, 7)
	}
	if cfg.RelayPair {
		lat, lng := g.inCity(0.5)
		a := g.addHotspot(lat, lng, KindRelay)
		an := a.Name
		lat, lng = g.away(g.w.City.Lat, g.w.City.Lng, 40e3, 60e3)
		b := g.addHotspot(lat, lng, KindRelay)
		b.RelayPeer = an
		g.w.Hotspots[len(g.w.Hotspots)-2].RelayPeer = b.Name
	}
	for k := 0; k < cfg.DataOnly; k++ {
		lat, lng := g.inCity(1)
		g.addHotspot(lat, lng, KindHonest).Mode = ModeDataOnly
	}
	for len(g.w.Hotspots) < cfg.Hotspots {
		lat, lng := g.inCity(1)
		g.addHotspot(lat, lng, KindHonest)
	}
}

func (g *gen) devices(rng *detrand.Rand) {
	if g.cfg.Devices == 0 {
		return
	}
	g.rng = rng
	model, _ := radio.New(radio.Params{PathLossExponent: radio.DefaultParams().PathLossExponent, RefDistanceM: 1,
		NoiseFigureDB: radio.DefaultParams().NoiseFigureDB})
	var local []Hotspot // hotspots in the city that carry data
	for _, h := range g.w.Hotspots {
		if radio.Distance(h.Lat, h.Lng, g.w.City.Lat, g.w.City.Lng, 0) <= g.radiusM*1.01 {
			local = append(local, h)
		}
	}
	for i := 0; i < g.cfg.Devices; i++ {
		var lat, lng float64
		if len(local) > 0 && g.rng.Float64() < 0.8 {
			h := local[g.rng.IntN(len(local))]
			lat, lng = g.around(h.Lat, h.Lng, 1500)
		} else {
			lat, lng = g.inCity(1)
		}
		comp := g.w.Companies[i%len(g.w.Companies)]
		eui := make([]byte, 8)
		g.keys.Bytes(eui)
		key := make([]byte, 16)
		g.keys.Bytes(key)
		d := Device{
			Index: i, Name: fmt.Sprintf("dev-%04d", i), Company: comp.Name,
			DevEUI: hex.EncodeToString(eui), JoinEUI: comp.JoinEUI, AppKey: hex.EncodeToString(key),
			Lat: round(lat, 7), Lng: round(lng, 7), HeightM: round(g.rng.Range(0.5, 10), 1), GainDBi: 0,
			TxPowerDBm: 14, UplinkIntervalS: g.cfg.UplinkIntervalS,
		}
		if i%3 == 2 {
			d.ConfirmedEvery = g.cfg.ConfirmedEvery
		}
		d.DataRate = pickDataRate(model, d, local)
		g.w.Devices = append(g.w.Devices, d)
	}
}

// pickDataRate is what ADR would settle on: the fastest spreading factor
// that reaches the nearest hotspot with a 10 dB margin (median shadowing),
// SF12 when none does.
func pickDataRate(m *radio.Model, d Device, hotspots []Hotspot) string {
	best := math.Inf(1)
	var near Hotspot
	for _, h := range hotspots {
		if dist := radio.NodeDistance(d.Node(), h.Node()); dist < best {
			best, near = dist, h
		}
	}
	if math.IsInf(best, 1) {
		return radio.DataRate(12, 125000)
	}
	for sf := 7; sf <= 12; sf++ {
		tx := radio.Transmission{From: d.Node(), TxPowerDBm: d.TxPowerDBm, FrequencyHz: 868.1e6, SF: sf, BandwidthHz: 125000}
		r, _ := m.Link(tx, near.Node())
		sens, _ := m.Sensitivity(sf, 125000)
		if r.RSSI >= sens+10 {
			return radio.DataRate(sf, 125000)
		}
	}
	return radio.DataRate(12, 125000)
}
