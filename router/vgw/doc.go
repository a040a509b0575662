// Package vgw runs the router's virtual gateways: towards each LNS, every
// hotspot whose uplinks the router delivers there appears as its own
// Semtech UDP gateway, with a gateway EUI derived from the hotspot key and
// its own UDP socket, so the LNS's PULL_RESP for a device comes back on the
// socket of the hotspot it picked. Each gateway sends PULL_DATA keepalives
// and periodic stat, and is closed after a period without uplinks.
package vgw
