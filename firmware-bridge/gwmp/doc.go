// Package gwmp is the wire codec of Semtech's UDP packet-forwarder protocol
// (GWMP, PROTOCOL.TXT of Lora-net/packet_forwarder and sx1302_hal), versions
// 1 and 2: the six datagram types and their JSON payloads (rxpk, stat, txpk,
// txpk_ack). It does no I/O; every decoder takes untrusted bytes from the
// network and returns an error instead of panicking.
package gwmp
