// Package metrics holds the bridge's Prometheus metrics in a registry of its
// own (no globals) and serves them over HTTP on --metrics-bind.
package metrics
