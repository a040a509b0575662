// Package router assembles the packet router of an OUI: hotspot streams in
// (package stream), chain view (chainview), routing (route), dedup and
// multi-buy (dedup), data-credit metering and vouchers (dc), and delivery to
// the LoRaWAN Network Server as virtual Semtech UDP gateways (vgw, gwmp).
// Config is the binary's typed configuration; New builds a Router from it
// without starting anything and Run serves until its context ends.
package router
