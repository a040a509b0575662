// Package device is a simulated LoRaWAN 1.0.x class A end device: it joins
// by OTAA, then sends its sensor readings periodically, some of them
// confirmed, building real frames with github.com/brocaar/lorawan (MIC,
// FRMPayload encryption, frame counters) and checking the join accept and
// the acknowledgements it gets back.
//
// A Device does no I/O and reads no clock: the caller (the radio world)
// asks it what to send at a given time (Step), carries the frame over the
// simulated radio, and hands back any downlink with its delay after the
// end of the uplink, which the device checks against its receive windows
// (RX1 = 1 s and RX2 = 2 s after a data uplink; 5 s and 6 s after a join
// request).
package device
