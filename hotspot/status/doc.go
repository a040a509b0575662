// Package status serves the hotspot's local HTTP API on 127.0.0.1: GET
// /status (JSON for tools and the `hotspot status` command) and GET /metrics
// (Prometheus). It also fetches and prints that JSON for a person.
package status
