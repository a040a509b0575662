// Package e2e holds the oracle's end-to-end test against a real chain node
// run in-process (chain/node): hotspot reports through PoC ingest over gRPC,
// receipts landed on chain by two independent oracles, and the indexer's
// rows compared with the chain's own answers.
package e2e
