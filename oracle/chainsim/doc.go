// Package chainsim builds a deterministic in-memory chain history (signed
// Hexproof transactions, their results and events, epoch rewards) and serves
// it through the indexer's Source interface. Tests and benchmarks of the
// indexer and explorer use it where a real chain would be slow or is not
// the subject; the end-to-end test uses a real chain instead.
package chainsim
