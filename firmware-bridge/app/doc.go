// Package app is the firmware-bridge program: its typed configuration
// (flags, FIRMWARE_BRIDGE_* environment, TOML file), validation, and Run,
// which wires the UDP bridge, the MQTT integration and the metrics server
// and shuts them down in order (UDP first, then OFFLINE states, then MQTT).
package app
