package app

// Integer H3 index helpers (no cgo): the bit layout of an H3 cell index is
// mode (4 bits, 1 = cell) at 59, resolution (4 bits) at 52, base cell
// (7 bits) at 45, then 15 digits of 3 bits, digit 1 most significant; the
// digits below the resolution are 7.

const (
	h3ResShift = 52
)

func h3Res(c uint64) int { return int(c>>h3ResShift) & 0xf }

// h3DescendantRange returns the smallest and largest res-12 indexes that
// can descend from c (a cell of resolution <= 12). Every res-12
// descendant's index lies in [lo, hi]; every valid res-12 index in that
// range descends from c.
func h3DescendantRange(c uint64) (lo, hi uint64) {
	res := h3Res(c)
	lo = c&^(uint64(0xf)<<h3ResShift) | uint64(12)<<h3ResShift
	hi = lo
	for i := res + 1; i <= 12; i++ {
		shift := uint(3 * (15 - i))
		lo &^= 7 << shift
		hi |= 7 << shift
	}
	return lo, hi
}
