// Package bridgemqtt is the hotspot's MQTT link to the gateway bridge
// (firmware-bridge or ChirpStack Gateway Bridge v4): it subscribes to
// {prefix}gateway/{id}/event/up|ack|stats and state/conn and publishes
// command/down, with gw v4 payloads in protobuf or protojson.
package bridgemqtt
