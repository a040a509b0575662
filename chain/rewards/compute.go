package rewards

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"slices"
	"sort"

	"github.com/hexproof/hexproof/chain/geo"
	"github.com/hexproof/hexproof/internal/identity"
)

// Params are the reward parameters of the chain.
type Params struct {
	// Basis points of the emission per pool; they must sum to 10,000.
	BeaconBps    uint64 `json:"beacon_bps"`
	WitnessBps   uint64 `json:"witness_bps"`
	DataBps      uint64 `json:"data_bps"`
	ValidatorBps uint64 `json:"validator_bps"`
	OracleBps    uint64 `json:"oracle_bps"`
	// HIP-15: N (witnesses for a full beacon reward), r = RNum/RDen, cap.
	HIP15N    uint64 `json:"hip15_n"`
	HIP15RNum uint64 `json:"hip15_r_num"`
	HIP15RDen uint64 `json:"hip15_r_den"`
	HIP15Cap  uint64 `json:"hip15_cap"` // beacon units cap, whole units
	// Density levels (HIP-17/104).
	Density []DensityLevel `json:"density"`
}

// DefaultParams: Helium-like pool shares and HIP-15/17 constants.
func DefaultParams() Params {
	return Params{
		BeaconBps: 1000, WitnessBps: 4000, DataBps: 3500, ValidatorBps: 1000, OracleBps: 500,
		HIP15N: 4, HIP15RNum: 4, HIP15RDen: 5, HIP15Cap: 2,
		Density: DefaultDensityLevels(),
	}
}

// ErrBadParams is wrapped by Validate's errors.
var ErrBadParams = errors.New("invalid reward params")

// Validate checks the parameters.
func (p Params) Validate() error {
	if p.BeaconBps+p.WitnessBps+p.DataBps+p.ValidatorBps+p.OracleBps != 10_000 {
		return fmt.Errorf("%w: pool basis points sum to %d, want 10000", ErrBadParams,
			p.BeaconBps+p.WitnessBps+p.DataBps+p.ValidatorBps+p.OracleBps)
	}
	if p.HIP15N == 0 || p.HIP15N > 64 || p.HIP15RDen == 0 || p.HIP15RNum >= p.HIP15RDen || p.HIP15RNum == 0 {
		return fmt.Errorf("%w: hip15 needs 1 <= n <= 64 and 0 < r < 1", ErrBadParams)
	}
	if p.HIP15Cap < 1 || p.HIP15Cap > 16 {
		return fmt.Errorf("%w: hip15_cap must be 1..16", ErrBadParams)
	}
	return validateLevels(p.Density)
}

// Hotspot is an asserted, full-mode hotspot counted for density.
type Hotspot struct {
	Address  identity.Address
	Owner    identity.Address
	Location uint64 // H3 cell, resolution >= 11
}

// Beacon is one valid beacon of the epoch with its rewarded witnesses
// (poc.Result: Beacon.Valid and the witnesses with Rewarded).
type Beacon struct {
	Beaconer  identity.Address
	Witnesses []identity.Address
}

// DataClaim is DC a hotspot claimed from vouchers during the epoch.
type DataClaim struct {
	Hotspot identity.Address
	// Owner is the account paid when the hotspot is not in Input.Hotspots
	// (data-only hotspots are not counted for density); ignored otherwise.
	Owner identity.Address
	DC    uint64
}

// Weighted is a validator (weight = voting power) or an oracle (weight =
// receipts it landed this epoch). Address is its account key.
type Weighted struct {
	Address identity.Address
	Weight  uint64
}

// Input is everything an epoch's rewards depend on. Order does not matter:
// Compute sorts what it needs.
type Input struct {
	Emission   uint64 // micro-HXP minted this epoch
	PriceUusd  uint64 // µUSD per HXP; 0 = no price
	Hotspots   []Hotspot
	Beacons    []Beacon
	Data       []DataClaim
	Validators []Weighted
	Oracles    []Weighted
}

// DCValueUusd is what one data credit is worth: $0.00001.
const DCValueUusd = 10

// HotspotReward is one hotspot's epoch breakdown (the `why` query).
type HotspotReward struct {
	Hotspot identity.Address `json:"hotspot"`
	Owner   identity.Address `json:"owner"`
	// Scale is the hotspot's hex density scale (UnitOne fixed point).
	Scale         uint64 `json:"scale"`
	Beacons       uint64 `json:"beacons"`       // valid beacons
	Witnesses     uint64 `json:"witnesses"`     // rewarded witness reports
	BeaconUnits   uint64 `json:"beacon_units"`  // scaled, UnitOne fixed point
	WitnessUnits  uint64 `json:"witness_units"` // scaled by each beaconer's scale
	DataDC        uint64 `json:"data_dc"`
	BeaconReward  uint64 `json:"beacon_reward"`
	WitnessReward uint64 `json:"witness_reward"`
	DataReward    uint64 `json:"data_reward"`
	Total         uint64 `json:"total"`
}

// AccountReward is a validator's or oracle's reward.
type AccountReward struct {
	Address identity.Address `json:"address"`
	Weight  uint64           `json:"weight"`
	Reward  uint64           `json:"reward"`
}

// Pools records how the emission was split and where it flowed.
type Pools struct {
	// The basis-point split.
	Beacon    uint64 `json:"beacon"`
	Witness   uint64 `json:"witness"`
	Data      uint64 `json:"data"`
	Validator uint64 `json:"validator"`
	Oracle    uint64 `json:"oracle"`
	// Data paid to hotspots and the unused rest (flows to PoC).
	DataPaid   uint64 `json:"data_paid"`
	DataUnused uint64 `json:"data_unused"`
	// Paid out per pool after flows.
	BeaconPaid    uint64 `json:"beacon_paid"`
	WitnessPaid   uint64 `json:"witness_paid"`
	ValidatorPaid uint64 `json:"validator_paid"`
	OraclePaid    uint64 `json:"oracle_paid"`
	// Unowned is what hotspots without a known owner would have earned;
	// it is part of Unallocated.
	Unowned uint64 `json:"unowned"`
}

// Output is an epoch's rewards, every slice sorted by address.
type Output struct {
	Emission    uint64          `json:"emission"`
	Pools       Pools           `json:"pools"`
	Hotspots    []HotspotReward `json:"hotspots"`
	Validators  []AccountReward `json:"validators"`
	Oracles     []AccountReward `json:"oracles"`
	Unallocated uint64          `json:"unallocated"`
}

// Minted is the sum of every reward paid.
func (o *Output) Minted() uint64 {
	var s uint64
	for _, h := range o.Hotspots {
		s += h.Total
	}
	for _, a := range o.Validators {
		s += a.Reward
	}
	for _, a := range o.Oracles {
		s += a.Reward
	}
	return s
}

// Check verifies the invariant: minted + unallocated == emission.
func (o *Output) Check() error {
	if m := o.Minted(); m+o.Unallocated != o.Emission {
		return fmt.Errorf("rewards: minted %d + unallocated %d != emission %d", m, o.Unallocated, o.Emission)
	}
	return nil
}

// rPow returns r^k in UnitOne fixed point, floor(UnitOne * num^k / den^k),
// exact (big integers, once per k).
type powTable struct {
	num uint64
	den uint64
	tab []uint64
}

func (t *powTable) get(k uint64) uint64 {
	if k > 4096 {
		return 0 // below 10^-12 for any r < 1 with den <= 2^64: floor is 0 long before
	}
	for uint64(len(t.tab)) <= k {
		n := uint64(len(t.tab))
		num := new(big.Int).Exp(new(big.Int).SetUint64(t.num), new(big.Int).SetUint64(n), nil)
		den := new(big.Int).Exp(new(big.Int).SetUint64(t.den), new(big.Int).SetUint64(n), nil)
		num.Mul(num, new(big.Int).SetUint64(UnitOne))
		t.tab = append(t.tab, num.Quo(num, den).Uint64())
	}
	return t.tab[k]
}

// Units returns HIP-15's beacon and per-witness units for a beacon with w
// rewarded witnesses, in UnitOne fixed point (unscaled).
func (p Params) Units(w uint64) (beaconUnits, witnessUnits uint64) {
	t := &powTable{num: p.HIP15RNum, den: p.HIP15RDen}
	return p.units(t, w)
}

func (p Params) units(t *powTable, w uint64) (uint64, uint64) {
	n := p.HIP15N
	if w == 0 {
		return 0, 0
	}
	if w <= n {
		return w * UnitOne / n, UnitOne
	}
	rk := t.get(w - n)
	b := min(p.HIP15Cap*UnitOne, 2*UnitOne-rk)
	// (N - (1 - r^k)) / w, floor.
	wu := (n*UnitOne - (UnitOne - rk)) / w
	return b, wu
}

func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c) // callers guarantee a*b/c < 2^64
	return q
}

// Compute returns the epoch's rewards.
func Compute(p Params, in Input) (*Output, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	out := &Output{Emission: in.Emission}
	e := in.Emission
	pl := &out.Pools
	pl.Beacon = mulDiv(e, p.BeaconBps, 10_000)
	pl.Data = mulDiv(e, p.DataBps, 10_000)
	pl.Validator = mulDiv(e, p.ValidatorBps, 10_000)
	pl.Oracle = mulDiv(e, p.OracleBps, 10_000)
	pl.Witness = e - pl.Beacon - pl.Data - pl.Validator - pl.Oracle

	// Hotspots, sorted, with density scales.
	hs := append([]Hotspot(nil), in.Hotspots...)
	slices.SortFunc(hs, func(a, b Hotspot) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	locs := make([]uint64, 0, len(hs))
	for i, h := range hs {
		if i > 0 && hs[i-1].Address == h.Address {
			return nil, fmt.Errorf("rewards: hotspot %s listed twice", h.Address)
		}
		locs = append(locs, h.Location)
	}
	dens, err := NewDensity(locs, p.Density)
	if err != nil {
		return nil, err
	}
	// Accumulate in a compact array indexed through one map: the witness
	// loop touches random hotspots, so small entries keep it in cache.
	type acc struct {
		scale, beaconUnits, witnessUnits, beacons, witnesses, dataDC uint64
	}
	idx := make(map[identity.Address]int32, len(hs))
	accs := make([]acc, len(hs))
	addrs := make([]identity.Address, len(hs))
	owners := make([]identity.Address, len(hs))
	scaleMemo := map[uint64]uint64{}
	for i, h := range hs {
		idx[h.Address] = int32(i)
		addrs[i], owners[i] = h.Address, h.Owner
		if geo.Resolution(h.Location) >= BaseResolution {
			// The scale depends only on ancestors at 10 and coarser.
			key := geo.ParentOfValid(h.Location, BaseResolution-1)
			s, ok := scaleMemo[key]
			if !ok {
				s = dens.Scale(h.Location)
				scaleMemo[key] = s
			}
			accs[i].scale = s
		}
	}
	at := func(a identity.Address) int32 {
		i, ok := idx[a]
		if !ok {
			// Not an asserted full hotspot: it earns data, and PoC at scale 0.
			i = int32(len(accs))
			idx[a] = i
			accs = append(accs, acc{})
			addrs = append(addrs, a)
			owners = append(owners, identity.Address{})
		}
		return i
	}

	// PoC units.
	pow := &powTable{num: p.HIP15RNum, den: p.HIP15RDen}
	for _, b := range in.Beacons {
		bi := at(b.Beaconer)
		bu, wu := p.units(pow, uint64(len(b.Witnesses)))
		scale := accs[bi].scale
		accs[bi].beacons++
		accs[bi].beaconUnits += mulDiv(bu, scale, UnitOne)
		wScaled := mulDiv(wu, scale, UnitOne)
		for _, w := range b.Witnesses {
			wi := at(w)
			accs[wi].witnesses++
			accs[wi].witnessUnits += wScaled
		}
	}
	for _, d := range in.Data {
		i := at(d.Hotspot)
		accs[i].dataDC += d.DC
		if owners[i].IsZero() {
			owners[i] = d.Owner
		}
	}

	// Deterministic order for everything that follows: hs is sorted; the
	// extra hotspots (appended after it) are sorted and merged in.
	order := make([]int32, len(accs))
	for i := range order {
		order[i] = int32(i)
	}
	if len(accs) > len(hs) {
		slices.SortFunc(order, func(a, b int32) int { return bytes.Compare(addrs[a][:], addrs[b][:]) })
	}
	rowsBuf := make([]HotspotReward, len(order))
	all := make([]*HotspotReward, len(order))
	for k, i := range order {
		a := &accs[i]
		rowsBuf[k] = HotspotReward{
			Hotspot: addrs[i], Owner: owners[i], Scale: a.scale,
			Beacons: a.beacons, Witnesses: a.witnesses,
			BeaconUnits: a.beaconUnits, WitnessUnits: a.witnessUnits, DataDC: a.dataDC,
		}
		all[k] = &rowsBuf[k]
	}

	// Data.
	dataW := make([]uint64, len(all))
	var totalDC u128
	for i, r := range all {
		dataW[i] = r.DataDC
		totalDC = totalDC.add(r.DataDC)
	}
	if !totalDC.isZero() {
		paidByValue := false
		if in.PriceUusd > 0 {
			// Value of all DC in micro-HXP: DC * 10 µUSD * 10^6 / price.
			var total u128
			vals := make([]uint64, len(all))
			fits := true
			for i, r := range all {
				hi, lo := bits.Mul64(r.DataDC, DCValueUusd*1_000_000)
				if hi >= in.PriceUusd {
					fits = false
					break
				}
				vals[i], _ = bits.Div64(hi, lo, in.PriceUusd)
				total = total.add(vals[i])
			}
			if fits && total.hi == 0 && total.lo <= pl.Data {
				for i, r := range all {
					r.DataReward = vals[i]
				}
				pl.DataPaid = total.lo
				paidByValue = true
			}
		}
		if !paidByValue {
			shares := share(pl.Data, dataW, addrsOf(all))
			for i, r := range all {
				r.DataReward = shares[i]
			}
			pl.DataPaid = pl.Data
		}
	}
	pl.DataUnused = pl.Data - pl.DataPaid
	// Unused data flows to PoC by the PoC pools' basis points.
	beaconPool, witnessPool := pl.Beacon, pl.Witness
	if pl.DataUnused > 0 {
		toBeacon := uint64(0)
		if p.BeaconBps+p.WitnessBps > 0 {
			toBeacon = mulDiv(pl.DataUnused, p.BeaconBps, p.BeaconBps+p.WitnessBps)
		}
		beaconPool += toBeacon
		witnessPool += pl.DataUnused - toBeacon
	}

	// PoC pools; an empty one flows to the other, both empty to validators.
	bw := make([]uint64, len(all))
	ww := make([]uint64, len(all))
	var anyB, anyW bool
	for i, r := range all {
		bw[i], ww[i] = r.BeaconUnits, r.WitnessUnits
		anyB = anyB || r.BeaconUnits > 0
		anyW = anyW || r.WitnessUnits > 0
	}
	validatorPool, oraclePool := pl.Validator, pl.Oracle
	switch {
	case !anyB && !anyW:
		validatorPool += beaconPool + witnessPool
		beaconPool, witnessPool = 0, 0
	case !anyB:
		witnessPool += beaconPool
		beaconPool = 0
	case !anyW:
		beaconPool += witnessPool
		witnessPool = 0
	}
	addrs = addrsOf(all)
	if anyB {
		for i, s := range share(beaconPool, bw, addrs) {
			all[i].BeaconReward = s
		}
	}
	if anyW {
		for i, s := range share(witnessPool, ww, addrs) {
			all[i].WitnessReward = s
		}
	}
	pl.BeaconPaid, pl.WitnessPaid = beaconPool, witnessPool

	// Oracles, then validators.
	orc := weighted(in.Oracles)
	if totalWeight(orc) == 0 {
		validatorPool += oraclePool
		oraclePool = 0
		orc = nil
	}
	out.Oracles = pay(oraclePool, orc)
	pl.OraclePaid = oraclePool
	val := weighted(in.Validators)
	if totalWeight(val) == 0 {
		out.Unallocated = validatorPool
		validatorPool = 0
		val = nil
	}
	out.Validators = pay(validatorPool, val)
	pl.ValidatorPaid = validatorPool

	for _, r := range all {
		r.Total = r.BeaconReward + r.WitnessReward + r.DataReward
		if r.Owner.IsZero() && r.Total > 0 {
			// Nobody to pay (a hotspot neither listed nor named by a data
			// claim's owner): keep the amount out of circulation.
			out.Unallocated += r.Total
			pl.Unowned += r.Total
			r.BeaconReward, r.WitnessReward, r.DataReward, r.Total = 0, 0, 0, 0
		}
	}
	out.Hotspots = rowsBuf // all points into it, in address order
	if err := out.Check(); err != nil {
		// Broken arithmetic is a programming error; refuse to mint.
		return nil, err
	}
	return out, nil
}

func addrsOf(rs []*HotspotReward) []identity.Address {
	out := make([]identity.Address, len(rs))
	for i, r := range rs {
		out[i] = r.Hotspot
	}
	return out
}

// weighted merges duplicate addresses and sorts by address.
func weighted(in []Weighted) []Weighted {
	ws := append([]Weighted(nil), in...)
	sort.Slice(ws, func(i, j int) bool { return bytes.Compare(ws[i].Address[:], ws[j].Address[:]) < 0 })
	out := ws[:0]
	for _, w := range ws {
		if n := len(out); n > 0 && out[n-1].Address == w.Address {
			out[n-1].Weight += w.Weight
			continue
		}
		out = append(out, w)
	}
	return out
}

func totalWeight(ws []Weighted) uint64 {
	var t uint64
	for _, w := range ws {
		t += w.Weight
	}
	return t
}

func pay(pool uint64, ws []Weighted) []AccountReward {
	if len(ws) == 0 {
		return nil
	}
	weights := make([]uint64, len(ws))
	addrs := make([]identity.Address, len(ws))
	for i, w := range ws {
		weights[i], addrs[i] = w.Weight, w.Address
	}
	shares := share(pool, weights, addrs)
	out := make([]AccountReward, len(ws))
	for i, w := range ws {
		out[i] = AccountReward{Address: w.Address, Weight: w.Weight, Reward: shares[i]}
	}
	return out
}

// share divides pool in proportion to weights (largest remainder method):
// floor(pool * w_i / W) each, then the micro-units left one each to the
// largest remainders, ties to the lower address. The shares sum to pool
// exactly when W > 0; with W == 0 everything is 0.
func share(pool uint64, weights []uint64, addrs []identity.Address) []uint64 {
	out := make([]uint64, len(weights))
	var total u128
	for _, w := range weights {
		total = total.add(w)
	}
	if total.isZero() || pool == 0 {
		return out
	}
	rems := make([]u128, len(weights))
	var paid uint64
	for i, w := range weights {
		if w == 0 {
			continue
		}
		out[i], rems[i] = divMod(pool, w, total)
		paid += out[i]
	}
	left := pool - paid // < number of non-zero weights
	if left == 0 {
		return out
	}
	idx := make([]int, 0, len(weights))
	for i, w := range weights {
		if w > 0 {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool {
		ra, rb := rems[idx[a]], rems[idx[b]]
		if c := ra.cmp(rb); c != 0 {
			return c > 0
		}
		return bytes.Compare(addrs[idx[a]][:], addrs[idx[b]][:]) < 0
	})
	for k := uint64(0); k < left; k++ {
		out[idx[k]]++
	}
	return out
}

// u128 is an unsigned 128-bit integer for sums that may pass 2^64.
type u128 struct{ hi, lo uint64 }

func (a u128) add(b uint64) u128 {
	lo, c := bits.Add64(a.lo, b, 0)
	return u128{a.hi + c, lo}
}

func (a u128) isZero() bool { return a.hi == 0 && a.lo == 0 }

func (a u128) cmp(b u128) int {
	switch {
	case a.hi != b.hi:
		if a.hi < b.hi {
			return -1
		}
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// divMod returns floor(a*b/c) and the remainder, for a*b/c < 2^64.
func divMod(a, b uint64, c u128) (uint64, u128) {
	hi, lo := bits.Mul64(a, b)
	if c.hi == 0 {
		q, r := bits.Div64(hi, lo, c.lo)
		return q, u128{0, r}
	}
	n := new(big.Int).Lsh(new(big.Int).SetUint64(hi), 64)
	n.Or(n, new(big.Int).SetUint64(lo))
	d := new(big.Int).Lsh(new(big.Int).SetUint64(c.hi), 64)
	d.Or(d, new(big.Int).SetUint64(c.lo))
	q, r := new(big.Int).QuoRem(n, d, new(big.Int))
	rhi := new(big.Int).Rsh(r, 64).Uint64()
	rlo := new(big.Int).And(r, new(big.Int).SetUint64(^uint64(0))).Uint64()
	return q.Uint64(), u128{rhi, rlo}
}
