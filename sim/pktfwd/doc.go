// Package pktfwd is a simulated Semtech packet forwarder (lora_pkt_fwd):
// one per simulated hotspot, it speaks GWMP v2 over real UDP to whatever
// runs on the gateway (the firmware bridge in the devnet, or any GWMP
// server). Frames the radio world says the hotspot heard go up in
// PUSH_DATA rxpk; PULL_DATA keeps the downlink path open; a PULL_RESP is
// answered with a TX_ACK whose outcome is decided like a concentrator
// would (TOO_LATE when the frame's time has passed, TOO_EARLY when it is
// too far ahead, GPS_UNLOCKED for GPS-timed frames) or forced by a
// configurable function, and frames that go out are handed to a callback
// so the radio world can deliver them.
//
// The concentrator's 32-bit microsecond counter (tmst) starts at 0 when
// the forwarder is created and wraps like the real one.
package pktfwd
