package rewards

import (
	"cmp"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"

	"github.com/hexproof/hexproof/chain/geo"
)

// UnitOne is 1.0 in the fixed point of units and scales.
const UnitOne uint64 = 1_000_000_000_000

// BaseResolution is where hotspots are counted before rolling up.
const BaseResolution = 11

// DensityLevel is HIP-17's parameter set for one resolution.
type DensityLevel struct {
	Res    int    `json:"res"`
	N      uint64 `json:"n"`      // neighbours allowed at full density
	Target uint64 `json:"target"` // hotspots per hex before scaling starts
	Max    uint64 `json:"max"`    // upper bound of the limit
}

// DefaultDensityLevels are Helium's HIP-17/104 values.
func DefaultDensityLevels() []DensityLevel {
	return []DensityLevel{
		{Res: 4, N: 2, Target: 500, Max: 1000},
		{Res: 5, N: 4, Target: 100, Max: 200},
		{Res: 6, N: 4, Target: 25, Max: 50},
		{Res: 7, N: 4, Target: 5, Max: 10},
		{Res: 8, N: 2, Target: 1, Max: 1},
		{Res: 9, N: 2, Target: 1, Max: 1},
		{Res: 10, N: 2, Target: 1, Max: 1},
	}
}

// ErrBadDensity is wrapped by density parameter errors.
var ErrBadDensity = errors.New("invalid density levels")

func validateLevels(levels []DensityLevel) error {
	seen := map[int]bool{}
	for _, l := range levels {
		if l.Res < 0 || l.Res >= BaseResolution {
			return fmt.Errorf("%w: resolution %d outside 0..%d", ErrBadDensity, l.Res, BaseResolution-1)
		}
		if seen[l.Res] {
			return fmt.Errorf("%w: resolution %d listed twice", ErrBadDensity, l.Res)
		}
		seen[l.Res] = true
		if l.Target == 0 || l.Max == 0 || l.Max > 1<<20 || l.Target > 1<<20 {
			return fmt.Errorf("%w: resolution %d: target and max must be 1..%d", ErrBadDensity, l.Res, 1<<20)
		}
		if l.Target > l.Max {
			// With target <= max, limit >= target, so "clipped >= target"
			// and "unclipped >= target" agree and occupancy is well defined.
			return fmt.Errorf("%w: resolution %d: target %d above max %d", ErrBadDensity, l.Res, l.Target, l.Max)
		}
	}
	return nil
}

// HexCount is one hex's HIP-17 figures at one resolution.
type HexCount struct {
	Res       int    `json:"res"`
	Hex       uint64 `json:"hex"`
	Unclipped uint64 `json:"unclipped"` // sum of the children's clipped counts
	// Occupied counts the hexes of the 1-ring (itself included) with
	// unclipped >= target. It is only computed where it can matter
	// (unclipped > min(target, max)); elsewhere it is 1 if the hex itself
	// reaches the target, else 0.
	Occupied uint64 `json:"occupied"`
	Limit    uint64 `json:"limit"`   // min(max, target * max(occupied - N + 1, 1))
	Clipped  uint64 `json:"clipped"` // min(limit, unclipped)
}

// Density holds the rolled-up counts of an epoch. Build it with NewDensity.
type Density struct {
	levels []DensityLevel // sorted by resolution, descending
	minRes int
	// byRes[r] maps hex -> figures at resolution r (lookups only; nothing
	// is ever produced in map order).
	byRes map[int]map[uint64]HexCount
}

// NewDensity counts hotspots at their resolution-11 ancestors and rolls the
// counts up to the coarsest level. Locations must be valid cells of
// resolution >= 11 (others are ignored: they have no density and scale 0).
//
// At each resolution R: unclipped(h) = sum of clipped(c) over h's children
// at R+1 (at resolution 11, the number of hotspots); occupied(h) counts the
// hexes of h's 1-ring, h included, whose clipped count >= target; limit(h) =
// min(max, target * max(occupied - N + 1, 1)); clipped(h) = min(limit,
// unclipped). Because levels require target <= max, limit >= target and a
// hex's clipped count reaches the target exactly when its unclipped count
// does, so occupancy is computed from unclipped counts with no dependence on
// the order hexes are processed (Helium's implementation mixes the two
// depending on hash-map order). Resolutions between the levels pass counts
// through unclipped.
func NewDensity(locations []uint64, levels []DensityLevel) (*Density, error) {
	if err := validateLevels(levels); err != nil {
		return nil, err
	}
	lv := append([]DensityLevel(nil), levels...)
	sort.Slice(lv, func(i, j int) bool { return lv[i].Res > lv[j].Res })
	d := &Density{levels: lv, minRes: BaseResolution, byRes: map[int]map[uint64]HexCount{}}
	if len(lv) > 0 {
		d.minRes = lv[len(lv)-1].Res
	}
	// Resolution 11 counts, from sorted parents.
	cells := make([]uint64, 0, len(locations))
	for _, c := range locations {
		if geo.Resolution(c) < BaseResolution {
			continue
		}
		cells = append(cells, geo.ParentOfValid(c, BaseResolution))
	}
	slices.Sort(cells)
	type hc struct {
		hex     uint64
		clipped uint64
	}
	var cur []hc
	for _, c := range cells {
		if n := len(cur); n > 0 && cur[n-1].hex == c {
			cur[n-1].clipped++
		} else {
			cur = append(cur, hc{c, 1})
		}
	}
	base := make(map[uint64]HexCount, len(cur))
	for _, h := range cur {
		base[h.hex] = HexCount{Res: BaseResolution, Hex: h.hex, Unclipped: h.clipped, Clipped: h.clipped, Limit: h.clipped}
	}
	d.byRes[BaseResolution] = base

	li := 0
	for r := BaseResolution - 1; r >= d.minRes; r-- {
		// Roll up: parents of the finer hexes, sorted, summed.
		next := make([]hc, 0, len(cur))
		for _, h := range cur {
			next = append(next, hc{geo.ParentOfValid(h.hex, r), h.clipped})
		}
		slices.SortFunc(next, func(a, b hc) int { return cmp.Compare(a.hex, b.hex) })
		var summed []hc
		for _, h := range next {
			if n := len(summed); n > 0 && summed[n-1].hex == h.hex {
				summed[n-1].clipped += h.clipped
			} else {
				summed = append(summed, h)
			}
		}
		unclipped := make(map[uint64]uint64, len(summed))
		for _, h := range summed {
			unclipped[h.hex] = h.clipped
		}
		var level *DensityLevel
		if li < len(d.levels) && d.levels[li].Res == r {
			level = &d.levels[li]
			li++
		}
		m := make(map[uint64]HexCount, len(summed))
		for i := range summed {
			h := &summed[i]
			hcnt := HexCount{Res: r, Hex: h.hex, Unclipped: h.clipped, Limit: h.clipped, Clipped: h.clipped}
			if level != nil {
				floorLimit := min(level.Max, level.Target) // limit is never below this
				if h.clipped > floorLimit {
					disk, err := geo.Disk1(h.hex)
					if err != nil {
						return nil, err
					}
					for _, n := range disk {
						if unclipped[n] >= level.Target {
							hcnt.Occupied++
						}
					}
				} else if h.clipped >= level.Target {
					hcnt.Occupied = 1 // itself; neighbours cannot change the outcome
				}
				over := uint64(1)
				if hcnt.Occupied+1 > level.N+1 {
					over = hcnt.Occupied - level.N + 1
				}
				hcnt.Limit = min(level.Max, level.Target*over)
				hcnt.Clipped = min(hcnt.Limit, h.clipped)
			}
			h.clipped = hcnt.Clipped
			m[h.hex] = hcnt
		}
		d.byRes[r] = m
		cur = summed
	}
	return d, nil
}

// Explain returns the figures of cell's ancestors from resolution 11 down to
// the coarsest level, and false if the cell holds no counted hotspot.
func (d *Density) Explain(cell uint64) ([]HexCount, bool) {
	if geo.Resolution(cell) < BaseResolution {
		return nil, false
	}
	out := make([]HexCount, 0, BaseResolution-d.minRes+1)
	for r := BaseResolution; r >= d.minRes; r-- {
		h, ok := d.byRes[r][geo.ParentOfValid(cell, r)]
		if !ok {
			return nil, false
		}
		out = append(out, h)
	}
	return out, true
}

// Scale returns the density scale of a hotspot at cell in UnitOne fixed
// point: floor(UnitOne * prod(clipped/unclipped)) over the levels, computed
// exactly. A cell with no counted hotspot has scale 0.
func (d *Density) Scale(cell uint64) uint64 {
	hs, ok := d.Explain(cell)
	if !ok {
		return 0
	}
	return scaleOf(hs)
}

func scaleOf(hs []HexCount) uint64 {
	num, den := big.NewInt(1), big.NewInt(1)
	var t big.Int
	for _, h := range hs {
		if h.Res >= BaseResolution {
			continue
		}
		if h.Unclipped == 0 {
			return 0
		}
		num.Mul(num, t.SetUint64(h.Clipped))
		den.Mul(den, t.SetUint64(h.Unclipped))
	}
	num.Mul(num, t.SetUint64(UnitOne))
	return num.Quo(num, den).Uint64()
}
