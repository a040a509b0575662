// Package bridge is the GWMP UDP server: it answers PUSH_DATA and PULL_DATA,
// turns uplinks and stats into MQTT events, keeps the registry of gateways
// (downlink address, protocol version, ONLINE/OFFLINE with expiry) and
// schedules downlinks: one PULL_RESP per DownlinkFrame item, the next item
// (RX1 -> RX2) when the gateway's TX_ACK reports an error, and an ack event
// per frame, also when the TX_ACK never comes.
//
// The UDP reader never blocks: datagrams go to bounded per-worker queues
// (sharded by source address so a gateway's packets stay in order) and
// what does not fit is dropped and counted.
package bridge
