package poc

import (
	"crypto/sha256"
	"math"
	"testing"

	"github.com/uber/h3-go/v4"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// The fixture: a beaconer in Paris and witnesses placed at given distances
// and bearings, EU868, entropy block 1000, receipt executed in block 1010.
const (
	entropyHeight = 1000
	blockTimeMs   = 1_700_000_000_000
	nowHeight     = 1010
	nowTimeMs     = blockTimeMs + 10_000
	sentMs        = blockTimeMs + 5_000
	airtimeMs     = 1_000
)

var (
	parisLat, parisLng = 48.8566, 2.3522
	entropy            = sha256.Sum256([]byte("block 1000"))
)

func testParams() Params {
	p := DefaultParams()
	p.BeaconIntervalBlocks = 100
	p.EntropyValidityBlocks = 50
	p.ReciprocityWindowBlocks = 500
	return p
}

func key(t testing.TB, name string) *identity.Key {
	t.Helper()
	seed := sha256.Sum256([]byte(name))
	k, err := identity.KeyFromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// destination moves d metres from (lat, lng) along bearing (degrees).
func destination(lat, lng, bearing, d float64) (float64, float64) {
	const earth = 6371007.180918475
	φ1, λ1, θ, δ := lat*math.Pi/180, lng*math.Pi/180, bearing*math.Pi/180, d/earth
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(δ) + math.Cos(φ1)*math.Sin(δ)*math.Cos(θ))
	λ2 := λ1 + math.Atan2(math.Sin(θ)*math.Sin(δ)*math.Cos(φ1), math.Cos(δ)-math.Sin(φ1)*math.Sin(φ2))
	return φ2 * 180 / math.Pi, math.Remainder(λ2*180/math.Pi, 360)
}

func cellAt(t testing.TB, lat, lng float64) uint64 {
	t.Helper()
	c, err := h3.LatLngToCell(h3.NewLatLng(lat, lng), 12)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(c)
}

// world is an in-memory View.
type world struct {
	hotspots map[identity.Address]Hotspot
	blocks   map[uint64]Block
	keys     map[string]*identity.Key
}

func (w *world) Hotspot(a identity.Address) (Hotspot, bool) { h, ok := w.hotspots[a]; return h, ok }
func (w *world) Block(h uint64) (Block, bool)               { b, ok := w.blocks[h]; return b, ok }

func newWorld(t testing.TB) *world {
	return &world{
		hotspots: map[identity.Address]Hotspot{},
		blocks:   map[uint64]Block{entropyHeight: {Hash: entropy[:], TimeMs: blockTimeMs}},
		keys:     map[string]*identity.Key{},
	}
}

// add places a reciprocal full hotspot distM metres from Paris.
func (w *world) add(t testing.TB, name string, distM, bearing float64) *identity.Key {
	k := key(t, name)
	lat, lng := destination(parisLat, parisLng, bearing, distM)
	w.keys[name] = k
	w.hotspots[k.Address()] = Hotspot{
		Address:           k.Address(),
		Owner:             key(t, "owner of "+name).Address(),
		Mode:              hexproofv1.HotspotMode_HOTSPOT_MODE_FULL,
		Location:          cellAt(t, lat, lng),
		GainDdbi:          12,
		Region:            hexproofv1.Region_REGION_EU868,
		LastBeaconHeight:  800,
		LastWitnessHeight: 850,
	}
	return k
}

func (w *world) edit(name string, f func(*Hotspot)) {
	a := w.keys[name].Address()
	h := w.hotspots[a]
	f(&h)
	w.hotspots[a] = h
}

// beaconReport is the honest report of name's beacon.
func (w *world) beaconReport(t testing.TB, name string) *hexproofv1.BeaconReport {
	k := w.keys[name]
	hs := w.hotspots[k.Address()]
	if _, ok := beacon.PlanFor(hs.Region); !ok {
		hs.Region, hs.GainDdbi = hexproofv1.Region_REGION_EU868, 12
	}
	b, err := beacon.Derive(entropy[:], k.PublicKey(), hs.Region)
	if err != nil {
		t.Fatal(err)
	}
	return &hexproofv1.BeaconReport{
		Hotspot:         k.PublicKey(),
		EntropyHeight:   entropyHeight,
		Entropy:         entropy[:],
		Payload:         b.Payload,
		FrequencyHz:     b.FrequencyHz,
		Datarate:        b.DataRate,
		TxPowerDbm:      beacon.TxPowerDBm(hs.Region, hs.GainDdbi),
		TransmittedAtMs: sentMs,
	}
}

// witnessReport is name's honest report of hearing b, with an RSSI 20 dB
// below free space.
func (w *world) witnessReport(t testing.TB, name string, b *hexproofv1.BeaconReport) *hexproofv1.WitnessReport {
	k := w.keys[name]
	return &hexproofv1.WitnessReport{
		Hotspot: k.PublicKey(),
		Payload: b.Payload,
		Radio: &hexproofv1.RadioMeta{
			FrequencyHz:  b.FrequencyHz,
			Datarate:     b.Datarate,
			RssiDbm:      -115,
			SnrCb:        -50,
			ReceivedAtMs: sentMs + airtimeMs,
			Region:       hexproofv1.Region_REGION_EU868,
		},
	}
}

func (w *world) signBeacon(t testing.TB, name string, b *hexproofv1.BeaconReport) {
	if err := w.keys[name].SignMessage(identity.DomainBeacon, b); err != nil {
		t.Fatal(err)
	}
}

func (w *world) signWitness(t testing.TB, name string, r *hexproofv1.WitnessReport) {
	if err := w.keys[name].SignMessage(identity.DomainWitness, r); err != nil {
		t.Fatal(err)
	}
}

// receipt builds name's signed beacon with signed reports by witnesses.
func (w *world) receipt(t testing.TB, name string, witnesses ...string) *hexproofv1.PocReceipt {
	b := w.beaconReport(t, name)
	w.signBeacon(t, name, b)
	r := &hexproofv1.PocReceipt{Beacon: b}
	for _, wn := range witnesses {
		wr := w.witnessReport(t, wn, b)
		w.signWitness(t, wn, wr)
		r.Witnesses = append(r.Witnesses, wr)
	}
	return r
}
