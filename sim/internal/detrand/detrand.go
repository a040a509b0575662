package detrand

import "math"

// Mix is the splitmix64 finaliser: a bijective, well-mixing hash of x.
func Mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Hash combines values into one well-mixed 64-bit value; the order of the
// values matters.
func Hash(vals ...uint64) uint64 {
	h := uint64(0x6a09e667f3bcc909)
	for _, v := range vals {
		h = Mix(h ^ Mix(v))
	}
	return h
}

// Unit maps a 64-bit value to a float64 in [0, 1).
func Unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// Normal maps two 64-bit values to a standard normal deviate (Box-Muller).
func Normal(a, b uint64) float64 {
	u1 := Unit(a)
	if u1 < 1e-300 {
		u1 = 1e-300
	}
	u2 := Unit(b)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Rand is a deterministic splitmix64 stream. The zero value is a valid
// stream (seed 0). It is not safe for concurrent use.
type Rand struct{ state uint64 }

// New returns a stream for seed.
func New(seed uint64) *Rand { return &Rand{state: seed} }

// Uint64 returns the next value of the stream.
func (r *Rand) Uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float64 returns a value in [0, 1).
func (r *Rand) Float64() float64 { return Unit(r.Uint64()) }

// Range returns a value in [lo, hi).
func (r *Rand) Range(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// IntN returns a value in [0, n); n must be positive.
func (r *Rand) IntN(n int) int {
	if n <= 0 {
		panic("detrand: IntN with n <= 0")
	}
	// The modulo bias of a 64-bit value over the small n used here is
	// below 2^-40, which no simulation can observe.
	return int(r.Uint64() % uint64(n))
}

// Normal returns a standard normal deviate.
func (r *Rand) Normal() float64 { return Normal(r.Uint64(), r.Uint64()) }

// Bytes fills b with stream output.
func (r *Rand) Bytes(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

// Fork returns an independent stream derived from this one and a label, so
// that adding draws to one part of a generator does not shift another.
func (r *Rand) Fork(label uint64) *Rand { return New(Hash(r.state, label)) }
