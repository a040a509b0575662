// Package geo is the chain's integer-only view of H3 cells. Cells travel as
// uint64 H3 indexes; consensus code never converts them to latitude and
// longitude, because floating-point results may differ between machines
// (compilers fuse multiply-adds differently on arm64 and amd64).
//
// The operations used (validity, resolution, parent, 1-ring, local IJ
// coordinates and grid distance) are bit and integer arithmetic inside the H3
// C library (github.com/uber/h3-go/v4, so this package needs cgo and must
// never be imported by the hotspot agent).
//
// DistanceM estimates the ground distance between two cells without floats:
// it takes local IJ coordinates of one cell relative to the other at the
// finest resolution where H3 can give them, turns them into a hex-lattice
// length with an integer square root (|v|^2 = i^2 + j^2 - i*j in units of
// the cell spacing), and multiplies by the average centre-to-centre spacing
// of that resolution (sqrt(3) * H3's average edge length, a fixed table in
// millimetres). H3 cells at one resolution differ in size by up to about 2x
// in area across the globe (larger near icosahedron face centres), so the
// result is then scaled by a committed per-resolution-2-cell correction
// factor (factors.go, generated offline from H3 with floats by
// TestFactorsTable -update; validators only read it). Without the factor the
// estimate is 0.91x..1.42x the haversine distance of the cell centres; with
// it, TestDistanceAccuracy measures 0.88x..1.12x over random places for
// 200 m..150 km and fails outside 0.85x..1.15x (see docs/poc.md). Every
// validator computes the same estimate, which is what consensus needs.
package geo
