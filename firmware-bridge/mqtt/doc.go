// Package mqtt is the bridge's MQTT integration (paho.mqtt.golang),
// wire-compatible with ChirpStack Gateway Bridge v4:
//
//	{prefix}gateway/{gateway_id}/event/up|stats|ack   gw.UplinkFrame, gw.GatewayStats, gw.DownlinkTxAck
//	{prefix}gateway/{gateway_id}/state/conn           gw.ConnState, retained
//	{prefix}gateway/{gateway_id}/command/down         gw.DownlinkFrame (subscribed)
//
// payloads in protobuf (default) or protojson. The bridge's own last will is
// an OFFLINE gw.ConnState on {prefix}bridge/{client_id}/state/conn, or on
// the state topic of --gateway-id when the bridge serves one known gateway.
//
// Publishing never blocks the caller: messages go to a bounded queue per
// connection (events of one gateway always use the same connection, so
// they stay in order) and overflow is counted. Each connection keeps a
// window of unacknowledged QoS 1 publishes; when the broker goes away the
// unacknowledged messages go back to the front of the queue and are sent
// again after the reconnect, so a broker restart loses nothing that fits
// in the queue. Writes are coalesced (one syscall for many packets) and
// reads buffered, which paho does not do by itself.
package mqtt
