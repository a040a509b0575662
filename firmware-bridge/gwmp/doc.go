// Package gwmp is the wire codec of Semtech's UDP packet-forwarder protocol
// (GWMP, PROTOCOL.TXT of Lora-net/packet_forwarder and sx1302_hal), versions
// 1 and 2: the six datagram types and their JSON payloads (rxpk, stat, txpk,
// txpk_ack). It is the repository's one GWMP codec: the firmware bridge
// (server side), the router's virtual gateways (router/vgw, gateway side)
// and the simulator (sim/pktfwd, sim/lns) all use it; what only one role
// needs (the router's refusal of GPS-timed downlinks, the simulated
// forwarder's scheduling) stays in that role's package.
//
// It does no I/O and no cgo; every decoder takes untrusted bytes from the
// network and returns an error instead of panicking. PUSH_DATA is decoded
// and encoded by hand-written JSON code (the bridge's and the router's hot
// paths) that agrees with encoding/json on every input (fuzz targets).
package gwmp
