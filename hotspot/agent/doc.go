// Package agent composes the hotspot: the MQTT link to the gateway bridge,
// the routing table cache, the router sessions, proof of coverage, the
// per-oracle durable outboxes, the voucher store and the local status API.
// It owns the uplink path (CRC check, classification, routing, signing), the
// downlink path (RX1 then RX2 items to the bridge, the final ack back to the
// router) and the beacon transmissions.
package agent
