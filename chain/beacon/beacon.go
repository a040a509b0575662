package beacon

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// PayloadSize is the beacon payload length. On air the beacon is 52 bytes:
// the proprietary MHDR then the payload.
const PayloadSize = 51

// FrameSize is the on-air PHYPayload length of a beacon.
const FrameSize = PayloadSize + 1

// MHDRProprietary is the LoRaWAN MHDR of a proprietary frame (MType 111,
// Major 00), which devices and network servers ignore.
const MHDRProprietary = 0xE0

// Domains of the hashes in Derive. Changing one changes every beacon.
const (
	domainPayload = "hexproof/beacon-payload/v1"
	domainChannel = "hexproof/beacon-channel/v1"
)

// MaxEntropySize bounds the entropy Derive accepts (a block hash is 32).
const MaxEntropySize = 64

// Errors returned by Derive.
var (
	ErrBadEntropy = errors.New("beacon entropy must be 1 to 64 bytes (a block hash)")
	ErrBadHotspot = errors.New("beacon hotspot must be a 32-byte ed25519 public key")
	ErrBadRegion  = errors.New("region has no beacon plan")
)

// Beacon is what a hotspot must transmit for one entropy.
type Beacon struct {
	Payload     []byte
	FrequencyHz uint64
	DataRate    string // packet-forwarder notation, e.g. "SF9BW125"
}

// Plan is a region's beacon channel plan.
type Plan struct {
	Region hexproofv1.Region
	// Channels are uplink centre frequencies in Hz, ascending.
	Channels []uint64
	// DataRates are LoRa data rates usable on every channel, in band DR
	// index order, e.g. "SF12BW125" ... "SF7BW125".
	DataRates []string
	// MaxEIRPDBm is the region's default maximum uplink EIRP, whole dBm,
	// rounded down (CN470's 19.15 dBm is 19).
	MaxEIRPDBm int32
}

// regionSpec says where a region's plan comes from.
type regionSpec struct {
	name band.Name
	// channels are band uplink channel indices; nil means the band's
	// default channels (what every device and gateway of the region uses).
	channels []int
	// maxEIRPDBm duplicates band's float EIRP as an integer so no float
	// reaches consensus; a test keeps the two in step.
	maxEIRPDBm int32
}

func indexRange(from, to int) []int {
	out := make([]int, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// specs lists the regions of hexproofv1.Region. Regions with 64 or more
// uplink channels use the 8-channel sub-band gateways are usually set to
// (US915/AU915 sub-band 2, CN470 channels 0-7), as only those are heard.
var specs = map[hexproofv1.Region]regionSpec{
	hexproofv1.Region_REGION_EU868: {name: band.EU868, maxEIRPDBm: 16},
	hexproofv1.Region_REGION_US915: {name: band.US915, channels: indexRange(8, 15), maxEIRPDBm: 30},
	hexproofv1.Region_REGION_AU915: {name: band.AU915, channels: indexRange(8, 15), maxEIRPDBm: 30},
	hexproofv1.Region_REGION_AS923: {name: band.AS923, maxEIRPDBm: 16},
	hexproofv1.Region_REGION_KR920: {name: band.KR920, maxEIRPDBm: 14},
	hexproofv1.Region_REGION_IN865: {name: band.IN865, maxEIRPDBm: 30},
	hexproofv1.Region_REGION_CN470: {name: band.CN470, channels: indexRange(0, 7), maxEIRPDBm: 19},
	hexproofv1.Region_REGION_RU864: {name: band.RU864, maxEIRPDBm: 16},
	hexproofv1.Region_REGION_EU433: {name: band.EU433, maxEIRPDBm: 12},
}

var plans = sync.OnceValue(func() map[hexproofv1.Region]Plan {
	out := make(map[hexproofv1.Region]Plan, len(specs))
	for r, s := range specs {
		p, err := buildPlan(r, s)
		if err != nil {
			// The band tables are compiled in; a failure is a programming error
			// that TestPlans catches.
			panic(fmt.Sprintf("beacon: plan for %v: %v", r, err))
		}
		out[r] = p
	}
	return out
})

func buildPlan(r hexproofv1.Region, s regionSpec) (Plan, error) {
	b, err := band.GetConfig(s.name, false, lorawan.DwellTimeNoLimit)
	if err != nil {
		return Plan{}, err
	}
	idx := s.channels
	if idx == nil {
		idx = b.GetStandardUplinkChannelIndices()
	}
	p := Plan{Region: r, MaxEIRPDBm: s.maxEIRPDBm}
	minDR, maxDR := -1, 1<<30
	for _, i := range idx {
		c, err := b.GetUplinkChannel(i)
		if err != nil {
			return Plan{}, fmt.Errorf("channel %d: %w", i, err)
		}
		p.Channels = append(p.Channels, uint64(c.Frequency))
		minDR, maxDR = max(minDR, c.MinDR), min(maxDR, c.MaxDR)
	}
	sort.Slice(p.Channels, func(i, j int) bool { return p.Channels[i] < p.Channels[j] })
	for dr := minDR; dr <= maxDR; dr++ {
		d, err := b.GetDataRate(dr)
		if err != nil || d.Modulation != band.LoRaModulation || d.Bandwidth != 125 {
			continue
		}
		mp, err := b.GetMaxPayloadSizeForDataRateIndex(band.LoRaWAN_1_0_4, band.RegParamRevRP002_1_0_3, dr)
		if err != nil || mp.M < PayloadSize {
			continue
		}
		p.DataRates = append(p.DataRates, "SF"+strconv.Itoa(d.SpreadFactor)+"BW125")
	}
	if len(p.Channels) == 0 || len(p.DataRates) == 0 {
		return Plan{}, fmt.Errorf("empty plan: %d channels, %d data rates", len(p.Channels), len(p.DataRates))
	}
	return p, nil
}

// PlanFor returns the region's beacon plan. The slices are shared: do not
// modify them.
func PlanFor(region hexproofv1.Region) (Plan, bool) {
	p, ok := plans()[region]
	return p, ok
}

// Derive returns the beacon the entropy dictates for hotspot (its 32-byte
// public key) in region.
func Derive(entropy []byte, hotspot []byte, region hexproofv1.Region) (Beacon, error) {
	if len(entropy) == 0 || len(entropy) > MaxEntropySize {
		return Beacon{}, ErrBadEntropy
	}
	if len(hotspot) != 32 {
		return Beacon{}, ErrBadHotspot
	}
	p, ok := PlanFor(region)
	if !ok {
		return Beacon{}, fmt.Errorf("%w: %v", ErrBadRegion, region)
	}
	payload := make([]byte, 0, 2*sha256.Size)
	for ctr := byte(0); ctr < 2; ctr++ {
		h := sha256.New()
		h.Write([]byte(domainPayload))
		h.Write([]byte{0})
		h.Write(entropy)
		h.Write(hotspot)
		h.Write([]byte{ctr})
		payload = h.Sum(payload)
	}
	payload = payload[:PayloadSize:PayloadSize]
	sel := sha256.Sum256(append(append([]byte(domainChannel), 0), payload...))
	ch := binary.BigEndian.Uint64(sel[0:8]) % uint64(len(p.Channels))
	dr := binary.BigEndian.Uint64(sel[8:16]) % uint64(len(p.DataRates))
	return Beacon{Payload: payload, FrequencyHz: p.Channels[ch], DataRate: p.DataRates[dr]}, nil
}

// TxPowerDBm is the conducted transmit power for a beacon: the region's
// maximum EIRP minus the antenna gain (gainDdbi in tenths of dBi), rounded
// down to whole dBm so EIRP never exceeds the limit. An unknown region
// gives 0.
func TxPowerDBm(region hexproofv1.Region, gainDdbi int32) int32 {
	p, ok := PlanFor(region)
	if !ok {
		return 0
	}
	return floorDiv(int64(p.MaxEIRPDBm)*10-int64(gainDdbi), 10)
}

func floorDiv(a, b int64) int32 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return int32(q)
}

// Frame returns the PHYPayload to transmit: MHDR 0xE0 then payload.
func Frame(payload []byte) []byte {
	out := make([]byte, 0, 1+len(payload))
	out = append(out, MHDRProprietary)
	return append(out, payload...)
}

// ParseFrame returns the payload of phy and true if phy is a beacon frame
// (52 bytes starting with MHDR 0xE0).
func ParseFrame(phy []byte) ([]byte, bool) {
	if len(phy) != FrameSize || phy[0] != MHDRProprietary {
		return nil, false
	}
	return append([]byte(nil), phy[1:]...), true
}
