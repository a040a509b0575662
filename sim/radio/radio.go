package radio

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/hexproof/hexproof/sim/internal/detrand"
)

// SpeedOfLight in m/s.
const SpeedOfLight = 299_792_458.0

// EarthRadiusM is the mean Earth radius used for distances.
const EarthRadiusM = 6_371_008.8

// Params configure the propagation model. DefaultParams gives values for
// rooftop hotspots in a European city.
type Params struct {
	// PathLossExponent is n of the log-distance model (2 is free space,
	// 2.7-3.5 is urban).
	PathLossExponent float64 `json:"path_loss_exponent"`
	// RefDistanceM is d0, below which the loss is free space.
	RefDistanceM float64 `json:"ref_distance_m"`
	// ShadowingSigmaDB is the standard deviation of the per-link shadowing.
	ShadowingSigmaDB float64 `json:"shadowing_sigma_db"`
	// NoiseFigureDB is the receiver noise figure (SX1302: about 6 dB).
	NoiseFigureDB float64 `json:"noise_figure_db"`
	// MaxSNRDB caps reported SNR (real demodulators saturate near +10..15).
	MaxSNRDB float64 `json:"max_snr_db"`
	// Collisions turns on the interference model of Resolve.
	Collisions bool `json:"collisions"`
	// CaptureThresholdDB: with collisions on, the stronger of two
	// overlapping same-SF frames survives when it is at least this much
	// stronger.
	CaptureThresholdDB float64 `json:"capture_threshold_db"`
	// Seed selects the shadowing of every link.
	Seed uint64 `json:"seed"`
}

// DefaultParams returns the model used by the devnet unless told otherwise.
func DefaultParams() Params {
	return Params{
		PathLossExponent:   3.3,
		RefDistanceM:       1,
		ShadowingSigmaDB:   6,
		NoiseFigureDB:      6,
		MaxSNRDB:           13.5,
		CaptureThresholdDB: 6,
	}
}

// Validate reports the first unusable parameter.
func (p Params) Validate() error {
	switch {
	case p.PathLossExponent < 2 || p.PathLossExponent > 6:
		return fmt.Errorf("path loss exponent %v out of range: use 2 (free space) to 6", p.PathLossExponent)
	case p.RefDistanceM <= 0:
		return fmt.Errorf("reference distance %v m: must be positive", p.RefDistanceM)
	case p.ShadowingSigmaDB < 0 || p.ShadowingSigmaDB > 20:
		return fmt.Errorf("shadowing sigma %v dB out of range: use 0 to 20", p.ShadowingSigmaDB)
	case p.NoiseFigureDB < 0 || p.NoiseFigureDB > 20:
		return fmt.Errorf("noise figure %v dB out of range: use 0 to 20", p.NoiseFigureDB)
	case p.CaptureThresholdDB < 0:
		return fmt.Errorf("capture threshold %v dB: must not be negative", p.CaptureThresholdDB)
	}
	return nil
}

// Node is a radio: a hotspot's antenna or a device.
type Node struct {
	// ID identifies the node for shadowing; it must be stable for a world.
	ID      uint64
	Lat     float64
	Lng     float64
	HeightM float64 // antenna height above ground
	GainDBi float64 // antenna gain
}

// Transmission is one LoRa frame on air.
type Transmission struct {
	From        Node
	TxPowerDBm  float64 // conducted power, before the antenna gain
	FrequencyHz float64
	SF          int // 7..12
	BandwidthHz int // 125000, 250000 or 500000
	CodingRate  int // 1..4 for 4/5..4/8; 0 means 4/5
	PayloadLen  int // PHYPayload bytes
	Start       time.Time
	// InvertedIQ marks LoRaWAN downlinks; frames of opposite IQ polarity
	// do not interfere with each other (see Lost).
	InvertedIQ bool
}

// Airtime is the transmission's time on air with LoRaWAN framing; 0 when
// its spreading factor, bandwidth or length are invalid.
func (t Transmission) Airtime() time.Duration {
	d, err := TimeOnAir(AirtimeParams{PayloadLen: t.PayloadLen, SF: t.SF, BandwidthHz: t.BandwidthHz,
		CodingRate: t.CodingRate, PreambleSymbols: 8, ExplicitHeader: true, CRC: true, LowDataRateOptimize: Auto})
	if err != nil {
		return 0
	}
	return d
}

// End is Start plus the time on air.
func (t Transmission) End() time.Time { return t.Start.Add(t.Airtime()) }

// Reception is what one receiver got from a transmission.
type Reception struct {
	Node       uint64  // receiver id
	RSSI       float64 // dBm
	SNR        float64 // dB
	DistanceM  float64
	PathLossDB float64
}

// Model is the propagation model. It is immutable and safe for concurrent
// use.
type Model struct {
	p Params
}

// New returns a model; it refuses unusable parameters.
func New(p Params) (*Model, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Model{p: p}, nil
}

// Params returns the model's parameters.
func (m *Model) Params() Params { return m.p }

// FSPL is the free-space path loss in dB at distance d (m) and frequency f
// (Hz): 20·log10(4π·d·f/c).
func FSPL(distanceM, frequencyHz float64) float64 {
	return 20 * math.Log10(4*math.Pi*distanceM*frequencyHz/SpeedOfLight)
}

// Distance is the great-circle distance between two points (haversine), in
// metres, combined with the height difference.
func Distance(latA, lngA, latB, lngB, dh float64) float64 {
	const rad = math.Pi / 180
	p1, p2 := latA*rad, latB*rad
	dp := (latB - latA) * rad
	dl := (lngB - lngA) * rad
	h := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	g := 2 * EarthRadiusM * math.Asin(math.Min(1, math.Sqrt(h)))
	if dh == 0 {
		return g
	}
	return math.Hypot(g, dh)
}

// NodeDistance is the distance between two nodes in metres.
func NodeDistance(a, b Node) float64 {
	return Distance(a.Lat, a.Lng, b.Lat, b.Lng, a.HeightM-b.HeightM)
}

// Shadowing is the link's shadowing term in dB: normal, mean 0, standard
// deviation ShadowingSigmaDB (truncated at ±3 sigma), fixed by the seed and the two ids and equal
// in both directions.
func (m *Model) Shadowing(a, b uint64) float64 {
	if m.p.ShadowingSigmaDB == 0 {
		return 0
	}
	if a > b {
		a, b = b, a
	}
	x := detrand.Normal(detrand.Hash(m.p.Seed, a, b, 1), detrand.Hash(m.p.Seed, a, b, 2))
	return m.p.ShadowingSigmaDB * math.Max(-shadowingClip, math.Min(shadowingClip, x))
}

// shadowingClip truncates the shadowing distribution at ±3 sigma, so that
// a link's loss has a hard bound and Hear can skip far receivers without
// computing their shadowing.
const shadowingClip = 3

// PathLoss is the loss in dB of the link between nodes a and b over
// distance d at frequency f: log-distance plus shadowing, never below free
// space.
func (m *Model) PathLoss(a, b uint64, distanceM, frequencyHz float64) float64 {
	if distanceM < 1 {
		distanceM = 1
	}
	free := FSPL(distanceM, frequencyHz)
	pl := free
	if d0 := m.p.RefDistanceM; distanceM > d0 {
		pl = FSPL(d0, frequencyHz) + 10*m.p.PathLossExponent*math.Log10(distanceM/d0)
	}
	pl += m.Shadowing(a, b)
	return math.Max(pl, free)
}

// NoiseFloorDBm is the thermal noise in a bandwidth plus a noise figure.
func NoiseFloorDBm(bandwidthHz int, noiseFigureDB float64) float64 {
	return -174 + 10*math.Log10(float64(bandwidthHz)) + noiseFigureDB
}

// requiredSNR is the LoRa demodulation floor by spreading factor (Semtech
// SX1276/SX1302 datasheets).
var requiredSNR = [...]float64{7: -7.5, 8: -10, 9: -12.5, 10: -15, 11: -17.5, 12: -20}

// ErrSpreadingFactor is returned for a spreading factor outside SF7..SF12.
var ErrSpreadingFactor = errors.New("spreading factor out of range: use 7 to 12")

// RequiredSNR is the lowest SNR at which a frame of spreading factor sf is
// demodulated.
func RequiredSNR(sf int) (float64, error) {
	if sf < 7 || sf > 12 {
		return 0, fmt.Errorf("SF%d: %w", sf, ErrSpreadingFactor)
	}
	return requiredSNR[sf], nil
}

// NoiseFloor is the model's noise floor for a bandwidth.
func (m *Model) NoiseFloor(bandwidthHz int) float64 {
	return NoiseFloorDBm(bandwidthHz, m.p.NoiseFigureDB)
}

// Sensitivity is the weakest RSSI demodulated at sf and bandwidth.
func (m *Model) Sensitivity(sf, bandwidthHz int) (float64, error) {
	snr, err := RequiredSNR(sf)
	if err != nil {
		return 0, err
	}
	return m.NoiseFloor(bandwidthHz) + snr, nil
}

// receivedPower is the link's RSSI and path loss regardless of whether the
// frame is demodulated (interference counts either way).
func (m *Model) receivedPower(tx Transmission, rx Node) (rssi, pl, dist float64) {
	dist = NodeDistance(tx.From, rx)
	rssi, pl = m.powerAt(tx, rx, dist)
	return rssi, pl, dist
}

func (m *Model) powerAt(tx Transmission, rx Node, dist float64) (rssi, pl float64) {
	pl = m.PathLoss(tx.From.ID, rx.ID, dist, tx.FrequencyHz)
	return tx.TxPowerDBm + tx.From.GainDBi + rx.GainDBi - pl, pl
}

// Link computes what rx receives of tx and whether it demodulates it. It
// does not consider other transmissions (see Resolve).
func (m *Model) Link(tx Transmission, rx Node) (Reception, bool) {
	if tx.SF < 7 || tx.SF > 12 || tx.BandwidthHz <= 0 {
		return Reception{}, false
	}
	return m.linkAt(tx, rx, NodeDistance(tx.From, rx))
}

func (m *Model) linkAt(tx Transmission, rx Node, dist float64) (Reception, bool) {
	rssi, pl := m.powerAt(tx, rx, dist)
	noise := m.NoiseFloor(tx.BandwidthHz)
	snr := rssi - noise
	heard := snr >= requiredSNR[tx.SF]
	if m.p.MaxSNRDB != 0 && snr > m.p.MaxSNRDB {
		snr = m.p.MaxSNRDB
	}
	return Reception{Node: rx.ID, RSSI: rssi, SNR: snr, DistanceM: dist, PathLossDB: pl}, heard
}

// Hear returns the receivers (other than the sender) that demodulate tx,
// in the order of receivers.
func (m *Model) Hear(tx Transmission, receivers []Node) []Reception {
	if tx.SF < 7 || tx.SF > 12 || tx.BandwidthHz <= 0 {
		return nil
	}
	// The farthest any receiver could hear tx: the loss budget with the
	// best receive antenna and the most favourable shadowing.
	maxGain := math.Inf(-1)
	for _, rx := range receivers {
		maxGain = math.Max(maxGain, rx.GainDBi)
	}
	sens := m.NoiseFloor(tx.BandwidthHz) + requiredSNR[tx.SF]
	budget := tx.TxPowerDBm + tx.From.GainDBi + maxGain - sens + shadowingClip*m.p.ShadowingSigmaDB
	maxDist := m.maxDistance(budget, tx.FrequencyHz)
	var out []Reception
	for _, rx := range receivers {
		if rx.ID == tx.From.ID {
			continue
		}
		dist := NodeDistance(tx.From, rx)
		if dist > maxDist {
			continue
		}
		if r, ok := m.linkAt(tx, rx, dist); ok {
			out = append(out, r)
		}
	}
	return out
}

// maxDistance is the distance at which the shadowing-free loss reaches
// budget dB (a small margin covers rounding).
func (m *Model) maxDistance(budget, frequencyHz float64) float64 {
	d0 := m.p.RefDistanceM
	if budget <= FSPL(d0, frequencyHz) {
		// Within d0 the loss is free space.
		return d0 * math.Pow(10, (budget-FSPL(d0, frequencyHz))/20) * 1.001
	}
	return d0 * math.Pow(10, (budget-FSPL(d0, frequencyHz))/(10*m.p.PathLossExponent)) * 1.001
}

// sameChannel reports whether two frames share a channel: centre
// frequencies closer than half the narrower bandwidth.
func sameChannel(a, b Transmission) bool {
	bw := min(a.BandwidthHz, b.BandwidthHz)
	return math.Abs(a.FrequencyHz-b.FrequencyHz) < float64(bw)/2
}

// Resolve decides, for a batch of transmissions, which receivers demodulate
// each one: out[i] lists the receptions of txs[i]. With Params.Collisions
// off it equals Hear per transmission. With it on, a reception is lost when
// the receiver is itself transmitting during the frame (half duplex), or
// when another frame overlapping in time on the same channel and spreading
// factor arrives at the receiver less than CaptureThresholdDB weaker.
func (m *Model) Resolve(txs []Transmission, receivers []Node) [][]Reception {
	out := make([][]Reception, len(txs))
	if !m.p.Collisions {
		for i, tx := range txs {
			out[i] = m.Hear(tx, receivers)
		}
		return out
	}
	order := make([]int, len(txs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return txs[order[a]].Start.Before(txs[order[b]].Start) })
	ends := make([]time.Time, len(txs))
	for i, tx := range txs {
		ends[i] = tx.End()
	}
	// overlapping[i]: indices of transmissions overlapping txs[i] in time.
	overlapping := make([][]int, len(txs))
	for a := 0; a < len(order); a++ {
		i := order[a]
		for b := a + 1; b < len(order); b++ {
			j := order[b]
			if !txs[j].Start.Before(ends[i]) {
				break
			}
			overlapping[i] = append(overlapping[i], j)
			overlapping[j] = append(overlapping[j], i)
		}
	}
	byID := make(map[uint64]Node, len(receivers))
	for _, n := range receivers {
		byID[n.ID] = n
	}
	for i, tx := range txs {
		for _, r := range m.Hear(tx, receivers) {
			if m.interfered(txs, i, overlapping[i], byID[r.Node], r) {
				continue
			}
			out[i] = append(out[i], r)
		}
	}
	return out
}

func (m *Model) interfered(txs []Transmission, i int, others []int, rx Node, r Reception) bool {
	for _, j := range others {
		if m.destroys(txs[j], txs[i], rx, r) {
			return true
		}
	}
	return false
}

// destroys reports whether other, known to overlap tx in time, makes rx
// lose its reception r of tx.
func (m *Model) destroys(other, tx Transmission, rx Node, r Reception) bool {
	if other.From.ID == rx.ID {
		return true // half duplex: the receiver is transmitting
	}
	if other.SF != tx.SF || other.InvertedIQ != tx.InvertedIQ || !sameChannel(tx, other) {
		return false
	}
	p, _, _ := m.receivedPower(other, rx)
	return r.RSSI-p < m.p.CaptureThresholdDB
}

// Lost reports whether, with Params.Collisions on, rx loses its reception
// r of tx to one of others (which must not include tx itself): a frame
// overlapping tx in time that rx is itself sending, or one on the same
// channel, spreading factor and IQ polarity that arrives less than
// CaptureThresholdDB weaker. With collisions off it is always false.
func (m *Model) Lost(tx Transmission, rx Node, r Reception, others []Transmission) bool {
	if !m.p.Collisions {
		return false
	}
	end := tx.End()
	for _, o := range others {
		if !o.Start.Before(end) || !tx.Start.Before(o.End()) {
			continue
		}
		if m.destroys(o, tx, rx, r) {
			return true
		}
	}
	return false
}
