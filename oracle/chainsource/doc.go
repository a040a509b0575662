// Package chainsource connects the oracle to a chain node through
// chain/client (CometBFT RPC): it serves committed blocks with their
// results to the indexer, answers the indexer's questions about verdicts,
// epoch rewards and OUIs from the chain's abci queries, and gives PoC ingest
// the chain head, parameters and a nonce-managed receipt submitter.
package chainsource
