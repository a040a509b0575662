package poc

import "math/bits"

// log2Q32 returns log2(x) in Q32 fixed point (x > 0), using only integer
// arithmetic: the integer part from the bit length, the fraction by repeated
// squaring of the mantissa (one bit per squaring).
func log2Q32(x uint64) int64 {
	if x == 0 {
		return 0
	}
	n := bits.Len64(x) - 1
	// Mantissa in [1, 2) as Q61.
	var m uint64
	if n <= 61 {
		m = x << (61 - n)
	} else {
		m = x >> (n - 61)
	}
	frac := int64(0)
	for i := 31; i >= 0; i-- {
		hi, lo := bits.Mul64(m, m) // Q122 in [1, 4)
		m = hi<<3 | lo>>61         // back to Q61
		if m >= 2<<61 {
			m >>= 1
			frac |= 1 << i
		}
	}
	return int64(n)<<32 | frac
}

// log10Micro returns round-down(log10(x) * 1e6) for x > 0.
func log10Micro(x uint64) int64 {
	// log10(2) * 1e6 = 301029.9957
	return (log2Q32(x) * 301030) >> 32
}

// FSPLCentiDB is the free-space path loss in hundredths of a dB between
// isotropic antennas d metres apart at f Hz:
// 20 log10(d) + 20 log10(f) + 20 log10(4 pi / c), with 20 log10(4 pi / c) =
// -147.55 dB. d below 1 m counts as 1 m.
func FSPLCentiDB(distanceM, frequencyHz uint64) int64 {
	distanceM = max(distanceM, 1)
	frequencyHz = max(frequencyHz, 1)
	return (log10Micro(distanceM)+log10Micro(frequencyHz))/500 - 14755
}
