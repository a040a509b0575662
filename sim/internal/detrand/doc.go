// Package detrand is the deterministic randomness of the simulator: a
// splitmix64 generator and stateless hashes, written out here so that the
// same seed gives the same world on every Go version and platform (the
// standard library only promises stable streams for its raw sources, not
// for the helpers built on them).
package detrand
