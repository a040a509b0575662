package dc

// BytesPerDC is the payload size one data credit buys.
const BytesPerDC = 24

// Cost is what one bought copy of a size-byte frame costs:
// ceil(max(size, 24) / 24); zero for a join of an OUI with free joins.
func Cost(size int, join, freeJoins bool) uint64 {
	if join && freeJoins {
		return 0
	}
	size = max(size, BytesPerDC)
	return uint64((size + BytesPerDC - 1) / BytesPerDC)
}
