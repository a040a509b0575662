// Package gwmp encodes and decodes the Semtech UDP packet-forwarder protocol
// (GWMP v2) from the gateway's side: the router speaks it to a LoRaWAN
// Network Server as one virtual gateway per hotspot. It is a pure codec; the
// sockets live in package vgw.
package gwmp
