// Package h3api serves H3 cell look-ups over HTTP so that cgo-free tools
// (hotspot assert, scripts) can turn a latitude/longitude into the H3 cell
// the chain stores, without linking the H3 C library themselves.
package h3api
