// Package air is the running radio world: it carries frames between the
// simulated devices and the simulated packet forwarders of the hotspots,
// using package radio to decide who hears what.
//
//   - A device uplink (Step) is heard by the hotspots the radio model and
//     the world's relays say; each of their forwarders pushes it up with
//     its RSSI, SNR and its own concentrator timestamp of the end of the
//     frame.
//   - A frame a forwarder transmits (a PULL_RESP it accepted) goes on air
//     from that hotspot's antenna. Frames with inverted polarity (LoRaWAN
//     downlinks) reach devices: every device whose last uplink that
//     hotspot heard and which the hotspot's signal reaches gets it, with
//     the delay since its uplink measured on that hotspot's counter, and
//     checks it against its receive windows. Frames without inverted
//     polarity (proof-of-coverage beacons) reach other hotspots, whose
//     forwarders push them up like any received frame: this is how
//     beacons get witnessed in the devnet.
//
// Frames are delivered at the end of their time on air, or at once with
// Config.Immediate (fast tests). When the radio model has collisions on
// (and delivery is at time on air), every reception is checked against
// the other frames on air at the time: same channel, spreading factor and
// IQ polarity within the capture threshold, or the receiver transmitting,
// and lost receptions are counted in Stats.Collisions.
package air
