// Package frame classifies a received LoRaWAN PHYPayload for routing: a join
// request (routed by its JoinEUI/DevEUI pair), a data uplink (routed by
// DevAddr), a Hexproof beacon (the witness path) or something the hotspot
// does not forward.
package frame
