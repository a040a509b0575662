// Package gwmp is the simulator's own codec of Semtech's packet forwarder
// protocol (GWMP over UDP, versions 1 and 2), used by the simulated packet
// forwarder (sim/pktfwd) and the simulated network servers (sim/lns).
//
// Wire format: byte 0 protocol version, bytes 1-2 a random token, byte 3
// the packet type, then, by type, the gateway's 8-byte EUI and/or a JSON
// object:
//
//	PUSH_DATA  0x00  token  EUI  {"rxpk":[...],"stat":{...}}   gateway -> server
//	PUSH_ACK   0x01  token                                    server -> gateway
//	PULL_DATA  0x02  token  EUI                               gateway -> server
//	PULL_RESP  0x03  token  {"txpk":{...}}                    server -> gateway
//	PULL_ACK   0x04  token                                    server -> gateway
//	TX_ACK     0x05  token  EUI  {"txpk_ack":{"error":...}}   gateway -> server
//
// It is deliberately separate from the firmware bridge's codec: the
// simulator plays the other side of that code and must not share its
// mistakes.
package gwmp
