package poc

import (
	"bytes"
	"crypto/sha256"
	"sort"
	"strings"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/chain/geo"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Hotspot is what verification needs to know about a hotspot on chain.
type Hotspot struct {
	Address identity.Address
	Owner   identity.Address
	Mode    hexproofv1.HotspotMode
	// Location is the asserted H3 cell (resolution 12 expected, at least
	// 11 required); 0 means not asserted.
	Location   uint64
	GainDdbi   int32 // antenna gain, tenths of dBi
	ElevationM int32
	Region     hexproofv1.Region
	// LastBeaconHeight is the entropy height of the hotspot's last physical
	// beacon (0 = never): the beacon interval and witness reciprocity use it.
	LastBeaconHeight uint64
	// LastWitnessHeight is the entropy height of the beacon the hotspot last
	// physically witnessed (0 = never): beacon reciprocity uses it.
	LastWitnessHeight uint64
}

// Block is a committed block as the entropy source.
type Block struct {
	Hash   []byte
	TimeMs uint64 // block time, Unix milliseconds
}

// View is the read-only chain state verification consults. The chain app
// implements it over its store.
type View interface {
	// Hotspot returns the hotspot with that key, false if there is none.
	Hotspot(addr identity.Address) (Hotspot, bool)
	// Block returns the committed block at height, false if unknown
	// (pruned or in the future).
	Block(height uint64) (Block, bool)
}

// Now is the block being executed.
type Now struct {
	Height uint64
	TimeMs uint64 // block time, Unix milliseconds
}

// BeaconResult is the verdict on a receipt's beacon.
type BeaconResult struct {
	Hotspot identity.Address // zero if the key was malformed
	Reason  Reason           // "" when valid
	// Valid: passed every check; its witnesses may be rewarded.
	Valid bool
	// Physical: passed every check except reciprocity; record
	// LastBeaconHeight.
	Physical bool
	// Beacon is what the entropy dictates (zero if it could not be derived).
	Expected beacon.Beacon
}

// WitnessResult is the verdict on one witness report.
type WitnessResult struct {
	Hotspot  identity.Address // zero if the key was malformed
	Reason   Reason           // "" when valid
	Valid    bool
	Physical bool // record LastWitnessHeight
	// Rewarded: valid and among the at most MaxWitnessesRewarded selected.
	Rewarded bool
	// DistanceM is the estimated beaconer-witness distance (0 if unknown).
	DistanceM uint64
}

// Result is the verdict on a receipt.
type Result struct {
	EntropyHeight uint64
	Beacon        BeaconResult
	// Witnesses are in the receipt's order.
	Witnesses []WitnessResult
}

// RewardedWitnesses returns the indices of rewarded witnesses, ascending.
func (r Result) RewardedWitnesses() []int {
	var out []int
	for i, w := range r.Witnesses {
		if w.Rewarded {
			out = append(out, i)
		}
	}
	return out
}

const domainSelect = "hexproof/witness-select/v1"

// witnessState is the per-witness working state.
type witnessState struct {
	rep      *hexproofv1.WitnessReport
	hs       Hotspot
	reason   Reason
	sigIndex int // index in the batch, -1 if not added
}

// asserted reports whether a location can be used for distances.
func asserted(cell uint64) bool {
	return cell != 0 && geo.Resolution(cell) >= 11
}

// Verify checks a receipt. It never panics on malformed input and returns
// the same Result for the same inputs on every machine.
func Verify(view View, p Params, now Now, r *hexproofv1.PocReceipt) Result {
	var res Result
	b := r.GetBeacon()
	ws := r.GetWitnesses()
	res.Witnesses = make([]WitnessResult, len(ws))
	res.EntropyHeight = b.GetEntropyHeight()

	batch := newSigBatch(1 + min(len(ws), max(p.MaxWitnessesPerReceipt, 0)))

	// Beacon: everything up to the signature.
	var beaconer Hotspot
	beaconSig := -1
	switch {
	case b == nil || len(b.GetHotspot()) != 32 || len(b.GetPayload()) != beacon.PayloadSize:
		res.Beacon.Reason = BeaconMalformed
	default:
		addr, _ := identity.AddressFromBytes(b.GetHotspot())
		res.Beacon.Hotspot = addr
		hs, ok := view.Hotspot(addr)
		if !ok {
			res.Beacon.Reason = BeaconUnknownHotspot
			break
		}
		beaconer = hs
		beaconSig = batch.add(addr, identity.DomainBeacon, b)
	}

	// Witnesses: structural checks, then queue signatures.
	st := make([]witnessState, len(ws))
	for i, w := range ws {
		s := &st[i]
		s.rep, s.sigIndex = w, -1
		switch {
		case w == nil || w.GetRadio() == nil || len(w.GetHotspot()) != 32:
			s.reason = WitnessMalformed
			continue
		case i >= p.MaxWitnessesPerReceipt:
			s.reason = WitnessOverLimit
		}
		addr, _ := identity.AddressFromBytes(w.GetHotspot())
		res.Witnesses[i].Hotspot = addr
		if s.reason != "" {
			continue
		}
		if res.Beacon.Reason != BeaconMalformed && addr == res.Beacon.Hotspot {
			s.reason = WitnessSelf
			continue
		}
		hs, ok := view.Hotspot(addr)
		if !ok {
			s.reason = WitnessUnknownHotspot
			continue
		}
		s.hs = hs
		s.sigIndex = batch.add(addr, identity.DomainWitness, w)
	}

	valid := batch.verify()

	// Beacon: remaining checks.
	if res.Beacon.Reason == "" {
		res.Beacon.Reason = checkBeacon(view, p, now, b, beaconer, valid[beaconSig], &res.Beacon.Expected)
	}
	if res.Beacon.Reason == "" || res.Beacon.Reason == BeaconNoRecentWitness {
		res.Beacon.Physical = true
	}
	res.Beacon.Valid = res.Beacon.Reason == ""

	// Witness signatures, then duplicates among correctly signed reports:
	// the kept report is the earliest received, ties broken by signature
	// bytes, so the submitter's ordering cannot censor a witness.
	keep := map[identity.Address]int{}
	for i := range st {
		s := &st[i]
		if s.reason != "" {
			continue
		}
		if !valid[s.sigIndex] {
			s.reason = WitnessBadSignature
			continue
		}
		addr := res.Witnesses[i].Hotspot
		j, seen := keep[addr]
		if !seen {
			keep[addr] = i
			continue
		}
		if witnessBefore(s.rep, st[j].rep) {
			st[j].reason = WitnessDuplicate
			keep[addr] = i
		} else {
			s.reason = WitnessDuplicate
		}
	}

	// Witness checks that do not depend on other witnesses.
	for i := range st {
		s := &st[i]
		if s.reason != "" {
			continue
		}
		s.reason = checkWitness(view, p, now, b, res.Beacon, beaconer, s, &res.Witnesses[i])
	}

	// "Too late after the first": the first is the earliest physical
	// witness (one that passed everything else but reciprocity).
	first, haveFirst := uint64(0), false
	for i := range st {
		if r := st[i].reason; r == "" || r == WitnessNoRecentBeacon {
			t := st[i].rep.GetRadio().GetReceivedAtMs()
			if !haveFirst || t < first {
				first, haveFirst = t, true
			}
		}
	}
	for i := range st {
		s := &st[i]
		switch s.reason {
		case "", WitnessTooClose, WitnessTooFar, WitnessRssiTooHigh, WitnessSnrTooLow, WitnessNoRecentBeacon:
			if haveFirst && s.rep.GetRadio().GetReceivedAtMs() > first+p.WitnessMaxDelayAfterFirstMs {
				s.reason = WitnessTooLateAfterFirst
			}
		}
	}

	// A witness of a beacon that is physical but not valid (reciprocity) is
	// itself physical, but not valid.
	for i := range st {
		s, out := &st[i], &res.Witnesses[i]
		out.Physical = s.reason == "" || s.reason == WitnessNoRecentBeacon
		if s.reason == "" && !res.Beacon.Valid {
			s.reason = WitnessBeaconInvalid
		}
		out.Reason = s.reason
		out.Valid = s.reason == ""
	}

	selectRewarded(p, b.GetEntropy(), res.Witnesses)
	return res
}

// witnessBefore orders two reports of the same hotspot.
func witnessBefore(a, b *hexproofv1.WitnessReport) bool {
	ta, tb := a.GetRadio().GetReceivedAtMs(), b.GetRadio().GetReceivedAtMs()
	if ta != tb {
		return ta < tb
	}
	return bytes.Compare(a.GetSignature(), b.GetSignature()) < 0
}

func checkBeacon(view View, p Params, now Now, b *hexproofv1.BeaconReport, hs Hotspot, sigOK bool, expected *beacon.Beacon) Reason {
	if !sigOK {
		return BeaconBadSignature
	}
	if hs.Mode != hexproofv1.HotspotMode_HOTSPOT_MODE_FULL {
		return BeaconDataOnly
	}
	if _, ok := beacon.PlanFor(hs.Region); !ok || !asserted(hs.Location) {
		return BeaconLocationNotAsserted
	}
	h := b.GetEntropyHeight()
	blk, ok := view.Block(h)
	if !ok || !bytes.Equal(blk.Hash, b.GetEntropy()) {
		return BeaconEntropyUnknown
	}
	if h >= now.Height || now.Height-h > p.EntropyValidityBlocks {
		return BeaconEntropyExpired
	}
	if t := b.GetTransmittedAtMs(); t+p.MaxClockSkewMs < blk.TimeMs || t > now.TimeMs+p.MaxClockSkewMs {
		return BeaconTimeInvalid
	}
	if hs.LastBeaconHeight != 0 && (h <= hs.LastBeaconHeight || h-hs.LastBeaconHeight < p.BeaconIntervalBlocks) {
		return BeaconIrregularInterval
	}
	want, err := beacon.Derive(b.GetEntropy(), b.GetHotspot(), hs.Region)
	if err != nil {
		// Entropy length out of range: no block hash looks like that.
		return BeaconEntropyUnknown
	}
	*expected = want
	switch {
	case !bytes.Equal(b.GetPayload(), want.Payload):
		return BeaconPayloadMismatch
	case b.GetFrequencyHz() != want.FrequencyHz:
		return BeaconFrequencyMismatch
	case b.GetDatarate() != want.DataRate:
		return BeaconDataRateMismatch
	case b.GetTxPowerDbm() > beacon.TxPowerDBm(hs.Region, hs.GainDdbi):
		return BeaconTxPowerTooHigh
	}
	if !recent(hs.LastWitnessHeight, h, p.ReciprocityWindowBlocks) {
		return BeaconNoRecentWitness
	}
	return ""
}

// recent reports whether last (0 = never) is at most window blocks before h
// (or after it: reports land out of entropy order).
func recent(last, h, window uint64) bool {
	return last != 0 && (last >= h || h-last <= window)
}

func checkWitness(view View, p Params, now Now, b *hexproofv1.BeaconReport, br BeaconResult, beaconer Hotspot, s *witnessState, out *WitnessResult) Reason {
	w, hs := s.rep, s.hs
	radio := w.GetRadio()
	if hs.Mode != hexproofv1.HotspotMode_HOTSPOT_MODE_FULL {
		return WitnessDataOnly
	}
	if !asserted(hs.Location) {
		return WitnessLocationNotAsserted
	}
	if !br.Physical {
		return WitnessBeaconInvalid
	}
	if !bytes.Equal(w.GetPayload(), b.GetPayload()) {
		return WitnessPayloadMismatch
	}
	if absDiff(radio.GetFrequencyHz(), b.GetFrequencyHz()) > p.MaxFrequencyDeltaHz {
		return WitnessFrequencyMismatch
	}
	if radio.GetDatarate() != b.GetDatarate() {
		return WitnessDataRateMismatch
	}
	if hs.Region != beaconer.Region || (radio.GetRegion() != hexproofv1.Region_REGION_UNSPECIFIED && radio.GetRegion() != beaconer.Region) {
		return WitnessOtherRegion
	}
	// The beacon is physical, so its entropy block exists.
	blk, _ := view.Block(b.GetEntropyHeight())
	t, sent := radio.GetReceivedAtMs(), b.GetTransmittedAtMs()
	if t+p.MaxClockSkewMs < blk.TimeMs || t > now.TimeMs+p.MaxClockSkewMs {
		return WitnessEntropyExpired
	}
	if t+p.MaxClockSkewMs < sent {
		return WitnessBeforeBeacon
	}
	if t > sent+p.WitnessMaxDelayMs {
		return WitnessTooLate
	}
	dist, distOK := geo.DistanceM(beaconer.Location, hs.Location)
	if distOK {
		out.DistanceM = dist
	}
	if tooClose(p, beaconer.Location, hs.Location, dist, distOK) {
		return WitnessTooClose
	}
	if !distOK || dist > p.MaxWitnessDistanceM {
		return WitnessTooFar
	}
	if int64(radio.GetRssiDbm())*100 > maxRssiCentiDBm(beaconer, hs, dist, b.GetFrequencyHz())+p.MaxRssiExcessDB*100 {
		return WitnessRssiTooHigh
	}
	if floor, ok := demodFloorCentiDB(b.GetDatarate()); ok && int64(radio.GetSnrCb()) < floor-SnrMarginDB*10 {
		return WitnessSnrTooLow
	}
	if !recent(hs.LastBeaconHeight, b.GetEntropyHeight(), p.ReciprocityWindowBlocks) {
		return WitnessNoRecentBeacon
	}
	return ""
}

// tooClose applies Helium's rule: grid distance of the resolution-11 parents
// below MinWitnessCellDistance. Where H3 has no grid distance (pentagon
// distortion) the distance estimate is compared with that many cell
// spacings instead.
func tooClose(p Params, a, b uint64, dist uint64, distOK bool) bool {
	pa, err1 := geo.Parent(a, 11)
	pb, err2 := geo.Parent(b, 11)
	if err1 == nil && err2 == nil {
		if d, err := geo.GridDistance(pa, pb); err == nil {
			return d < p.MinWitnessCellDistance
		}
	}
	return distOK && dist*1000 < uint64(p.MinWitnessCellDistance)*geo.CellSpacingMM(11)
}

// DistanceLowerBoundPct is the share of the estimated distance used for the
// path-loss bound: geo.DistanceM is at most 1.15x the real distance
// (measured), so 85% never exceeds it by much and the check errs towards
// accepting.
const DistanceLowerBoundPct = 85

// maxRssiCentiDBm is the strongest plausible RSSI in hundredths of a dBm:
// the beaconer's EIRP (its tx power plus gain, both capped by the region)
// plus the witness antenna gain, minus free-space path loss over the lower
// bound of the distance.
func maxRssiCentiDBm(beaconer, witness Hotspot, distM, freqHz uint64) int64 {
	eirp := int64(beacon.TxPowerDBm(beaconer.Region, beaconer.GainDdbi))*100 + int64(beaconer.GainDdbi)*10
	return eirp + int64(witness.GainDdbi)*10 - FSPLCentiDB(distM*DistanceLowerBoundPct/100, freqHz)
}

// SnrMarginDB is how far (dB) below LoRa's demodulation floor a witness SNR
// may be: concentrators' SNR estimates are noisy near sensitivity. A fixed
// rule rather than a parameter so a zero-valued parameter can never make it
// reject honest edge-of-range witnesses.
const SnrMarginDB = 3

// demodFloorCentiDB is the lowest SNR (tenths of a dB) at which LoRa can
// demodulate the data rate: -7.5 dB at SF7 down to -20 dB at SF12 (2.5 dB
// per spreading factor, Semtech SX1301/SX1302 data sheets).
func demodFloorCentiDB(dr string) (int64, bool) {
	// "SF7BW125" .. "SF12BW500": parse the spreading factor by hand (no
	// fmt on the hot path).
	if len(dr) < 5 || dr[:2] != "SF" {
		return 0, false
	}
	sf, i := 0, 2
	for ; i < len(dr) && i < 4 && dr[i] >= '0' && dr[i] <= '9'; i++ {
		sf = sf*10 + int(dr[i]-'0')
	}
	if i == 2 || !strings.HasPrefix(dr[i:], "BW") || sf < 7 || sf > 12 {
		return 0, false
	}
	return -75 - int64(sf-7)*25, true
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// selectRewarded marks at most MaxWitnessesRewarded valid witnesses as
// rewarded: those with the smallest SHA-256(domain, 0, entropy, key).
func selectRewarded(p Params, entropy []byte, out []WitnessResult) {
	type cand struct {
		i   int
		key [32]byte
	}
	var cs []cand
	for i, w := range out {
		if !w.Valid {
			continue
		}
		h := sha256.New()
		h.Write([]byte(domainSelect))
		h.Write([]byte{0})
		h.Write(entropy)
		h.Write(w.Hotspot[:])
		var c cand
		c.i = i
		h.Sum(c.key[:0])
		cs = append(cs, c)
	}
	sort.Slice(cs, func(a, b int) bool { return bytes.Compare(cs[a].key[:], cs[b].key[:]) < 0 })
	for k, c := range cs {
		if k >= p.MaxWitnessesRewarded {
			break
		}
		out[c.i].Rewarded = true
	}
}

// sigBatch collects signatures to check in one batch.
type sigBatch struct {
	bv      *cmted25519.BatchVerifier
	n       int
	invalid []bool // entries known bad before verification
}

func newSigBatch(capacity int) *sigBatch {
	return &sigBatch{bv: cmted25519.NewBatchVerifier().(*cmted25519.BatchVerifier), invalid: make([]bool, 0, capacity)}
}

// add queues m's signature by addr under d and returns its index.
func (s *sigBatch) add(addr identity.Address, d identity.Domain, m signed) int {
	idx := len(s.invalid)
	msg, err := signBytes(d, m)
	sig := m.GetSignature()
	if err != nil || len(sig) != 64 {
		s.invalid = append(s.invalid, true)
		return idx
	}
	if err := s.bv.Add(cmted25519.PubKey(addr[:]), msg, sig); err != nil {
		s.invalid = append(s.invalid, true)
		return idx
	}
	s.invalid = append(s.invalid, false)
	s.n++
	return idx
}

type signed interface {
	proto.Message
	GetSignature() []byte
}

// signBytes is what identity.VerifyMessage checks: the domain, a zero byte,
// then the deterministic encoding with the signature unset.
func signBytes(d identity.Domain, m signed) ([]byte, error) {
	b, err := identity.MessageSignBytes(m)
	if err != nil {
		return nil, err
	}
	return identity.SignBytes(d, b), nil
}

// verify returns per-index validity. The batch verifier falls back to
// single verification when the batch fails, so the bad ones are found.
func (s *sigBatch) verify() []bool {
	out := make([]bool, len(s.invalid))
	if s.n == 0 {
		return out
	}
	_, valid := s.bv.Verify()
	k := 0
	for i, bad := range s.invalid {
		if bad {
			continue
		}
		out[i] = k < len(valid) && valid[k]
		k++
	}
	return out
}
