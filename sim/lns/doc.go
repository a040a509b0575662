// Package lns is a small LoRaWAN 1.0.x network server, one per simulated
// IoT company in the devnet: the company's side of the network, at the far
// end of its router.
//
// It is a GWMP server (UDP): every gateway that talks to it (the router's
// virtual gateways, one per hotspot, or simulated packet forwarders) is
// acknowledged and remembered by its EUI and address. It answers OTAA join
// requests with a join accept (real keys and MIC via
// github.com/brocaar/lorawan, session keys per LoRaWAN 1.0.x), checks the
// MIC (NwkSKey) and frame counter of data uplinks, decrypts FRMPayload
// (AppSKey), waits a dedup window to collect the copies of one frame heard
// by several gateways, publishes the result to MQTT as JSON on
//
//	{prefix}application/{company}/device/{dev_eui}/event/up
//	{prefix}application/{company}/device/{dev_eui}/event/join
//
// and sends the downlinks of class A: join accepts at the uplink's tmst +
// 5 s and the acknowledgement of confirmed uplinks at tmst + 1 s (RX1, same
// frequency and data rate), each through the gateway that heard the frame
// best. A downlink refused by the gateway's TX_ACK (TOO_LATE, ...) is tried
// once more in RX2 (tmst + 2 s, resp. + 6 s for joins; 869.525 MHz SF12 by
// default).
package lns
