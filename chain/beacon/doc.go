// Package beacon defines what a proof-of-coverage beacon must be, given the
// entropy (the hash of a committed block) and the beaconing hotspot's public
// key: its 51-byte payload, the frequency and data rate it is sent on, and the
// transmit power for a given antenna gain.
//
// The chain verifies beacon reports against Derive, and the hotspot agent
// calls the same function to build what it transmits, so the package is pure
// Go (no cgo, no H3) and free of floating point, I/O and clocks: the same
// inputs give the same beacon on every machine.
//
// Derivation (version 1, see docs/poc.md):
//
//	payload   = first 51 bytes of SHA-256(D || 0x00 || entropy || hotspot || 0x00)
//	            || SHA-256(D || 0x00 || entropy || hotspot || 0x01), D = "hexproof/beacon-payload/v1"
//	selector  = SHA-256("hexproof/beacon-channel/v1" || 0x00 || payload)
//	channel   = plan.Channels[uint64be(selector[0:8]) mod len(plan.Channels)]
//	data rate = plan.DataRates[uint64be(selector[8:16]) mod len(plan.DataRates)]
//
// The region's plan (Plan) comes from github.com/brocaar/lorawan/band: the
// uplink channels every gateway of the region listens to (the default
// channels, or the usual 8-channel sub-band where the band has 64+ channels)
// and their LoRa 125 kHz data rates whose maximum payload holds the 51-byte
// beacon.
//
// On air a beacon is a LoRaWAN proprietary frame: MHDR 0xE0 followed by the
// payload, 52 bytes, no MIC (Frame, ParseFrame).
package beacon
