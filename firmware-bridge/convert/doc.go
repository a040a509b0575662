// Package convert maps GWMP JSON objects to and from the ChirpStack gateway
// messages (github.com/chirpstack/chirpstack/api/go/v4/gw) the way ChirpStack
// Gateway Bridge v4 does: rxpk -> UplinkFrame, stat -> GatewayStats,
// DownlinkFrameItem -> txpk, txpk_ack -> TxAckStatus. It is pure: no I/O,
// no clock except the values it is given.
package convert
