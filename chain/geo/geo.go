package geo

import (
	"errors"
	"fmt"
	"math/bits"
	"sort"

	"github.com/uber/h3-go/v4"
)

// MaxResolution is H3's finest resolution.
const MaxResolution = 15

// Errors. H3 failures of local coordinates (cells too far apart or across a
// pentagon's distortion) are reported as ErrNoLocalCoordinates.
var (
	ErrInvalidCell        = errors.New("not a valid H3 cell")
	ErrResolution         = errors.New("resolution out of range")
	ErrNoLocalCoordinates = errors.New("cells have no common local coordinates (too far apart or across a pentagon)")
)

// spacingMM is the average distance between neighbouring cell centres per
// resolution, in millimetres: sqrt(3) times H3's average hexagon edge length.
// TestSpacingTable regenerates it from h3.HexagonEdgeLengthAvgM.
var spacingMM = [MaxResolution + 1]uint64{
	2219200509, 836678988, 316121714, 119475517, 45157612, 17067786, 6451080,
	2436087, 920436, 347772, 131400, 49647, 18758, 7088, 2678, 1012,
}

// CellSpacingMM returns the average neighbour centre spacing at res in mm,
// or 0 for a resolution out of range.
func CellSpacingMM(res int) uint64 {
	if res < 0 || res > MaxResolution {
		return 0
	}
	return spacingMM[res]
}

// IsValid reports whether c is a valid H3 cell index.
func IsValid(c uint64) bool { return h3.Cell(c).IsValid() }

// Resolution returns c's resolution, or -1 if c is not a valid cell.
func Resolution(c uint64) int {
	if !IsValid(c) {
		return -1
	}
	return h3.Cell(c).Resolution()
}

// Parent returns c's ancestor at res (c itself when res is c's resolution).
func Parent(c uint64, res int) (uint64, error) {
	r := Resolution(c)
	if r < 0 {
		return 0, fmt.Errorf("%w: %#x", ErrInvalidCell, c)
	}
	if res < 0 || res > r {
		return 0, fmt.Errorf("%w: parent at %d of a resolution %d cell", ErrResolution, res, r)
	}
	if res == r {
		return c, nil
	}
	p, err := h3.Cell(c).Parent(res)
	if err != nil {
		return 0, fmt.Errorf("parent of %#x at %d: %w", c, res, err)
	}
	return uint64(p), nil
}

// ParentOfValid is Parent for a cell already known to be valid, with
// 0 <= res <= its resolution: pure bit operations (set the resolution field,
// fill the finer digits with 7), no cgo call. Out-of-range input gives an
// unspecified (but deterministic) value.
func ParentOfValid(c uint64, res int) uint64 {
	if res < 0 || res > MaxResolution {
		return 0
	}
	c = c&^(uint64(0xf)<<52) | uint64(res)<<52
	return c | (uint64(1)<<(3*(MaxResolution-res)) - 1)
}

// ResolutionOfValid is Resolution for a cell already known to be valid.
func ResolutionOfValid(c uint64) int { return int(c>>52) & 0xf }

// GridDistance returns the number of grid steps between two cells of the same
// resolution. It fails with ErrNoLocalCoordinates when H3 cannot compute it.
func GridDistance(a, b uint64) (int64, error) {
	if err := sameRes(a, b); err != nil {
		return 0, err
	}
	d, err := h3.GridDistance(h3.Cell(a), h3.Cell(b))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoLocalCoordinates, err)
	}
	return int64(d), nil
}

// LocalIJ returns c's coordinates in the local IJ system of origin (same
// resolution). The system is anchored at origin's base cell, so subtract
// LocalIJ(origin, origin) for an offset. The i and j axes are 120 degrees
// apart.
func LocalIJ(origin, c uint64) (i, j int64, err error) {
	if err := sameRes(origin, c); err != nil {
		return 0, 0, err
	}
	ij, err := h3.CellToLocalIJ(h3.Cell(origin), h3.Cell(c))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrNoLocalCoordinates, err)
	}
	return int64(ij.I), int64(ij.J), nil
}

func sameRes(a, b uint64) error {
	ra, rb := Resolution(a), Resolution(b)
	if ra < 0 {
		return fmt.Errorf("%w: %#x", ErrInvalidCell, a)
	}
	if rb < 0 {
		return fmt.Errorf("%w: %#x", ErrInvalidCell, b)
	}
	if ra != rb {
		return fmt.Errorf("%w: resolutions %d and %d differ", ErrResolution, ra, rb)
	}
	return nil
}

// Disk1 returns c and its neighbours (6, or 5 around a pentagon), sorted
// ascending.
func Disk1(c uint64) ([]uint64, error) {
	if !IsValid(c) {
		return nil, fmt.Errorf("%w: %#x", ErrInvalidCell, c)
	}
	cells, err := h3.GridDisk(h3.Cell(c), 1)
	if err != nil {
		return nil, fmt.Errorf("neighbours of %#x: %w", c, err)
	}
	out := make([]uint64, 0, len(cells))
	for _, x := range cells {
		if x != 0 {
			out = append(out, uint64(x))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// delta returns b's IJ offset from a (local IJ coordinates are anchored at
// the origin's base cell, not at the origin itself).
func delta(a, b uint64) (int64, int64, error) {
	ai, aj, err := LocalIJ(a, a)
	if err != nil {
		return 0, 0, err
	}
	bi, bj, err := LocalIJ(a, b)
	if err != nil {
		return 0, 0, err
	}
	return bi - ai, bj - aj, nil
}

// maxLatticeQ keeps q<<20 inside 64 bits.
const maxLatticeQ = 1 << 43

// DistanceM estimates the distance between the centres of a and b in metres
// (see the package comment for the error). Both cells must be valid; they may
// differ in resolution (the coarser one sets the finest usable resolution).
// ok is false when the cells are invalid or no resolution gives local
// coordinates, which happens only for cells thousands of kilometres apart:
// callers treat that as "far".
func DistanceM(a, b uint64) (meters uint64, ok bool) {
	mm, ok := DistanceMM(a, b)
	return (mm + 500) / 1000, ok
}

// DistanceMM is DistanceM in millimetres.
func DistanceMM(a, b uint64) (uint64, bool) {
	ra, rb := Resolution(a), Resolution(b)
	if ra < 0 || rb < 0 {
		return 0, false
	}
	for r := min(ra, rb); r >= 0; r-- {
		pa, pb := ParentOfValid(a, r), ParentOfValid(b, r)
		i, j, err := delta(pa, pb)
		if err != nil {
			continue
		}
		q := i*i + j*j - i*j // >= 0 for any integers
		if q < 0 || q >= maxLatticeQ {
			continue
		}
		// sqrt(q) in 1/1024 cell units, then scale by the spacing.
		root := isqrt(uint64(q) << 20)
		hi, lo := bits.Mul64(root, spacingMM[r])
		if hi != 0 {
			continue
		}
		raw := lo >> 10
		// Local correction: the mean of both cells' factors keeps the
		// estimate symmetric.
		f := uint64(localFactor(a)) + uint64(localFactor(b))
		hi, lo = bits.Mul64(raw, f)
		if hi != 0 {
			continue
		}
		return lo >> 16, true
	}
	return 0, false
}

// factorOne is a local factor of 1.0 (Q15).
const factorOne = 1 << 15

// localFactor returns the ratio, in Q15, of the real spacing of cells around
// c (measured at the resolution-2 ancestor's centre) to the global average
// spacing. H3 cells near icosahedron face centres are larger than near face
// edges; the table in factors.go removes most of that distortion.
func localFactor(c uint64) uint16 {
	base := (c >> 45) & 0x7f
	d1 := (c >> (3 * (MaxResolution - 1))) & 7
	d2 := (c >> (3 * (MaxResolution - 2))) & 7
	i := base*49 + d1*7 + d2
	if Resolution(c) < 2 || i >= uint64(len(factors)) || factors[i] == 0 {
		return factorOne
	}
	return factors[i]
}

// isqrt returns floor(sqrt(x)) using integers only.
func isqrt(x uint64) uint64 {
	if x < 2 {
		return x
	}
	// Start above the root: 2^ceil(bits/2).
	r := uint64(1) << ((bits.Len64(x) + 1) / 2)
	for {
		n := (r + x/r) / 2
		if n >= r {
			return r
		}
		r = n
	}
}
