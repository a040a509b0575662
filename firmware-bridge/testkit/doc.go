// Package testkit holds what the firmware-bridge tests and benchmarks share:
// a simulated packet forwarder speaking GWMP over real UDP, and a private
// Mosquitto process that a test may stop and restart (the shared system
// broker must never be stopped).
package testkit
