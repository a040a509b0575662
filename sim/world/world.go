package world

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hexproof/hexproof/sim/radio"
)

// Format identifies the world file format.
const Format = "hexproof-world/1"

// Hotspot kinds.
const (
	KindHonest    = "honest"
	KindDishonest = "dishonest" // asserted location far from the radio
	KindRelay     = "relay"     // relays what it hears to its peer over the internet
)

// Hotspot modes, as asserted on chain.
const (
	ModeFull     = "full"
	ModeDataOnly = "data_only"
)

// Hotspot is one simulated gateway.
type Hotspot struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// KeySeed is the 32-byte ed25519 seed of the hotspot's identity, hex
	// (identity.KeyFromSeed), so the same world has the same addresses.
	KeySeed string `json:"key_seed"`
	// GatewayEUI is the concentrator's id, 16 hex digits.
	GatewayEUI string `json:"gateway_eui"`
	// Lat, Lng: where the radio really is.
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
	// AssertedLat, AssertedLng: the location asserted on chain; equal to
	// the real one except for dishonest hotspots.
	AssertedLat float64 `json:"asserted_lat"`
	AssertedLng float64 `json:"asserted_lng"`
	HeightM     float64 `json:"height_m"`
	GainDBi     float64 `json:"gain_dbi"`
	Kind        string  `json:"kind"`
	Mode        string  `json:"mode"`
	// Cluster numbers a dense cluster (1..); 0 is none.
	Cluster int `json:"cluster,omitempty"`
	// RelayPeer names the hotspot this one exchanges receptions with.
	RelayPeer string `json:"relay_peer,omitempty"`
}

// GainDdbi is the antenna gain in tenths of dBi, as the chain stores it.
func (h Hotspot) GainDdbi() int32 { return int32(math.Round(h.GainDBi * 10)) }

// Node is the hotspot's radio for package radio.
func (h Hotspot) Node() radio.Node {
	return radio.Node{ID: HotspotNodeID(h.Index), Lat: h.Lat, Lng: h.Lng, HeightM: h.HeightM, GainDBi: h.GainDBi}
}

// HotspotNodeID is the radio id of the hotspot at index i.
func HotspotNodeID(i int) uint64 { return uint64(i) }

// DeviceNodeID is the radio id of the device at index i; device and
// hotspot ids never overlap.
func DeviceNodeID(i int) uint64 { return 1<<32 | uint64(i) }

// Device is one simulated sensor.
type Device struct {
	Index   int     `json:"index"`
	Name    string  `json:"name"`
	Company string  `json:"company"`
	DevEUI  string  `json:"dev_eui"`  // 16 hex digits
	JoinEUI string  `json:"join_eui"` // 16 hex digits
	AppKey  string  `json:"app_key"`  // 32 hex digits (LoRaWAN 1.0.x root key)
	Lat     float64 `json:"lat"`
	Lng     float64 `json:"lng"`
	HeightM float64 `json:"height_m"`
	GainDBi float64 `json:"gain_dbi"`
	// TxPowerDBm is the conducted transmit power.
	TxPowerDBm float64 `json:"tx_power_dbm"`
	// DataRate is the uplink data rate, e.g. "SF7BW125".
	DataRate string `json:"data_rate"`
	// UplinkIntervalS is the period of the device's uplinks in seconds.
	UplinkIntervalS int `json:"uplink_interval_s"`
	// ConfirmedEvery: every n-th uplink is confirmed; 0 means never.
	ConfirmedEvery int `json:"confirmed_every"`
}

// UplinkInterval is the device's uplink period.
func (d Device) UplinkInterval() time.Duration { return time.Duration(d.UplinkIntervalS) * time.Second }

// Node is the device's radio for package radio.
func (d Device) Node() radio.Node {
	return radio.Node{ID: DeviceNodeID(d.Index), Lat: d.Lat, Lng: d.Lng, HeightM: d.HeightM, GainDBi: d.GainDBi}
}

// Company is a simulated IoT company: one OUI, one network server.
type Company struct {
	Name string `json:"name"`
	// NetID of its network, 6 hex digits.
	NetID string `json:"net_id"`
	// DevAddrStart and DevAddrCount: the DevAddr range its OUI registers
	// and its network server assigns at join.
	DevAddrStart string `json:"dev_addr_start"` // 8 hex digits
	DevAddrCount uint32 `json:"dev_addr_count"`
	// JoinEUI of all its devices, 16 hex digits.
	JoinEUI string `json:"join_eui"`
}

// World is a whole simulated radio world.
type World struct {
	Format    string    `json:"format"`
	Seed      uint64    `json:"seed"`
	City      City      `json:"city"`
	RadiusKM  float64   `json:"radius_km"`
	Companies []Company `json:"companies"`
	Hotspots  []Hotspot `json:"hotspots"`
	Devices   []Device  `json:"devices"`
}

// HotspotNodes are the radios of all hotspots, by index.
func (w *World) HotspotNodes() []radio.Node {
	n := make([]radio.Node, len(w.Hotspots))
	for i, h := range w.Hotspots {
		n[i] = h.Node()
	}
	return n
}

// HotspotByName finds a hotspot.
func (w *World) HotspotByName(name string) (*Hotspot, bool) {
	for i := range w.Hotspots {
		if w.Hotspots[i].Name == name {
			return &w.Hotspots[i], true
		}
	}
	return nil, false
}

// Heard is one hotspot's reception of a transmission.
type Heard struct {
	Hotspot   int // index in World.Hotspots
	Reception radio.Reception
	// RelayedFrom is the index of the hotspot whose radio really heard it
	// when this reception came over a relay; -1 otherwise.
	RelayedFrom int
}

// Hear decides which hotspots receive tx (from a hotspot or a device) and
// applies the relays: when one hotspot of a relay pair hears a frame its
// peer reports it too, with the same RSSI and SNR, unless the peer sent it
// or heard it better itself. The result is ordered by hotspot index. nodes
// must be w.HotspotNodes() (passed in so callers build it once).
func (w *World) Hear(m *radio.Model, tx radio.Transmission, nodes []radio.Node) []Heard {
	recs := m.Hear(tx, nodes)
	out := make([]Heard, 0, len(recs)+1)
	got := make(map[int]int, len(recs)) // hotspot index -> position in out
	for _, r := range recs {
		got[int(r.Node)] = len(out)
		out = append(out, Heard{Hotspot: int(r.Node), Reception: r, RelayedFrom: -1})
	}
	n := len(out)
	for k := 0; k < n; k++ {
		h := w.Hotspots[out[k].Hotspot]
		if h.RelayPeer == "" {
			continue
		}
		peer, ok := w.HotspotByName(h.RelayPeer)
		if !ok || HotspotNodeID(peer.Index) == tx.From.ID {
			continue
		}
		relayed := Heard{Hotspot: peer.Index, Reception: out[k].Reception, RelayedFrom: h.Index}
		relayed.Reception.Node = HotspotNodeID(peer.Index)
		if j, ok := got[peer.Index]; ok {
			if out[j].RelayedFrom == -1 && out[j].Reception.RSSI >= relayed.Reception.RSSI {
				continue
			}
			out[j] = relayed
			continue
		}
		got[peer.Index] = len(out)
		out = append(out, relayed)
	}
	sortHeard(out)
	return out
}

func sortHeard(h []Heard) {
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && h[j].Hotspot < h[j-1].Hotspot; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
}

// Validate checks a world (typically a hand-edited file) and says what to
// fix.
func (w *World) Validate() error {
	if w.Format != Format {
		return fmt.Errorf("world format %q: want %q", w.Format, Format)
	}
	if w.City.Region == "" {
		return errors.New("world city has no region: set city.region, e.g. \"EU868\"")
	}
	companies := map[string]bool{}
	for i, c := range w.Companies {
		if c.Name == "" || companies[c.Name] {
			return fmt.Errorf("company %d: name %q is empty or repeated", i, c.Name)
		}
		companies[c.Name] = true
		if err := hexLen(c.NetID, 3); err != nil {
			return fmt.Errorf("company %s net_id: %w", c.Name, err)
		}
		if err := hexLen(c.DevAddrStart, 4); err != nil {
			return fmt.Errorf("company %s dev_addr_start: %w", c.Name, err)
		}
		if err := hexLen(c.JoinEUI, 8); err != nil {
			return fmt.Errorf("company %s join_eui: %w", c.Name, err)
		}
		if c.DevAddrCount == 0 {
			return fmt.Errorf("company %s: dev_addr_count must be positive", c.Name)
		}
	}
	names, euis := map[string]bool{}, map[string]bool{}
	for i, h := range w.Hotspots {
		if h.Index != i {
			return fmt.Errorf("hotspot %q: index %d, want %d (hotspots are listed in index order)", h.Name, h.Index, i)
		}
		if h.Name == "" || names[h.Name] {
			return fmt.Errorf("hotspot %d: name %q is empty or repeated", i, h.Name)
		}
		names[h.Name] = true
		if err := hexLen(h.KeySeed, 32); err != nil {
			return fmt.Errorf("hotspot %s key_seed: %w", h.Name, err)
		}
		if err := hexLen(h.GatewayEUI, 8); err != nil || euis[h.GatewayEUI] {
			return fmt.Errorf("hotspot %s gateway_eui %q: want 16 unique hex digits", h.Name, h.GatewayEUI)
		}
		euis[h.GatewayEUI] = true
		if err := checkPos(h.Lat, h.Lng); err != nil {
			return fmt.Errorf("hotspot %s: %w", h.Name, err)
		}
		if err := checkPos(h.AssertedLat, h.AssertedLng); err != nil {
			return fmt.Errorf("hotspot %s asserted: %w", h.Name, err)
		}
		switch h.Kind {
		case KindHonest, KindDishonest, KindRelay:
		default:
			return fmt.Errorf("hotspot %s: kind %q, want %s, %s or %s", h.Name, h.Kind, KindHonest, KindDishonest, KindRelay)
		}
		if h.Mode != ModeFull && h.Mode != ModeDataOnly {
			return fmt.Errorf("hotspot %s: mode %q, want %s or %s", h.Name, h.Mode, ModeFull, ModeDataOnly)
		}
	}
	for _, h := range w.Hotspots {
		if h.RelayPeer == "" {
			continue
		}
		p, ok := w.HotspotByName(h.RelayPeer)
		if !ok || p.RelayPeer != h.Name || p.Name == h.Name {
			return fmt.Errorf("hotspot %s: relay_peer %q must name another hotspot whose relay_peer names it back", h.Name, h.RelayPeer)
		}
	}
	devNames, devEUIs := map[string]bool{}, map[string]bool{}
	for i, d := range w.Devices {
		if d.Index != i {
			return fmt.Errorf("device %q: index %d, want %d", d.Name, d.Index, i)
		}
		if d.Name == "" || devNames[d.Name] {
			return fmt.Errorf("device %d: name %q is empty or repeated", i, d.Name)
		}
		devNames[d.Name] = true
		if !companies[d.Company] {
			return fmt.Errorf("device %s: company %q is not in companies", d.Name, d.Company)
		}
		if err := hexLen(d.DevEUI, 8); err != nil || devEUIs[d.DevEUI] {
			return fmt.Errorf("device %s dev_eui %q: want 16 unique hex digits", d.Name, d.DevEUI)
		}
		devEUIs[d.DevEUI] = true
		if err := hexLen(d.JoinEUI, 8); err != nil {
			return fmt.Errorf("device %s join_eui: %w", d.Name, err)
		}
		if err := hexLen(d.AppKey, 16); err != nil {
			return fmt.Errorf("device %s app_key: %w", d.Name, err)
		}
		if err := checkPos(d.Lat, d.Lng); err != nil {
			return fmt.Errorf("device %s: %w", d.Name, err)
		}
		if _, _, err := radio.ParseDataRate(d.DataRate); err != nil {
			return fmt.Errorf("device %s: %w", d.Name, err)
		}
		if d.UplinkIntervalS <= 0 {
			return fmt.Errorf("device %s: uplink_interval_s must be positive", d.Name)
		}
		if d.ConfirmedEvery < 0 {
			return fmt.Errorf("device %s: confirmed_every must not be negative", d.Name)
		}
	}
	return nil
}

func hexLen(s string, n int) error {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != n {
		return fmt.Errorf("%q is not %d hex digits", s, 2*n)
	}
	return nil
}

func checkPos(lat, lng float64) error {
	if math.IsNaN(lat) || math.IsNaN(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		return fmt.Errorf("position %v,%v is not a latitude,longitude", lat, lng)
	}
	return nil
}
