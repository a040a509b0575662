// Package world is the simulated radio world of the devnet: hotspots at
// realistic positions in a real city, the simulated IoT companies and
// their sensor devices.
//
// A world is generated from a Config (city, seed, counts) and the same
// Config always gives the same world, byte for byte: every random choice
// comes from a splitmix64 stream forked per section (hotspots, devices,
// keys), so adding devices does not move hotspots. A world is saved to and
// loaded from a JSON file (format "hexproof-world/1", see docs/sim.md) so
// a devnet can be rerun on exactly the same world or on a hand-edited one.
//
// Beside ordinary hotspots a world holds the cases proof of coverage must
// handle: dense clusters of hotspots a few tens of metres apart (hex
// density scaling), dishonest hotspots whose asserted location is far from
// where their radio is, a pair of hotspots that relay beacons to each other
// over the internet (each reports what the other hears), and data-only
// hotspots. Who hears what is decided by package radio; Hear applies the
// relays on top.
package world
