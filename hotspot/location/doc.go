// Package location prepares a hotspot's location assertion without cgo: it
// validates H3 cells given as hex, asks an oracle's HTTP API
// (GET /api/v1/h3/cell) to turn a latitude/longitude into the resolution-12
// cell, and builds the AssertLocation payload.
package location
