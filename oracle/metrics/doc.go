// Package metrics exposes the oracle's Prometheus metrics (GET /metrics):
// ingest reports and receipts, the ingest queue, the indexer's height, lag
// and rows, and HTTP latency. Everything lives in a private registry owned by
// Metrics, so several oracles (tests) can run in one process.
package metrics
