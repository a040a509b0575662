// Package metrics holds the router's Prometheus metrics, registered on a
// registry the caller passes in (no global registry).
package metrics
