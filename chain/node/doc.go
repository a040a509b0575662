// Package node runs a Hexproof chain node: CometBFT in-process with the
// Hexproof application (chain/app) through a local ABCI client, CometBFT's
// logs adapted to log/slog, Prometheus metrics, the validator's price source
// for vote extensions, and state-sync snapshots. It also creates node homes
// in CometBFT's standard layout (config/config.toml, config/genesis.json,
// config/node_key.json, config/priv_validator_key.json, data/) for one node
// (InitHome) or a local multi-validator network (Testnet).
package node
