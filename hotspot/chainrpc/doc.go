// Package chainrpc is the hotspot's small client of a chain node's CometBFT
// JSON-RPC (http://host:26657): chain id and head from /status, the app's
// abci_query paths of docs/chain-queries.md (parameters, routing table, the
// hotspot's record, rewards, PoC history, account nonce), and transactions
// signed by the hotspot key (voucher claims) or the owner key (onboarding,
// location) broadcast with /broadcast_tx_sync and followed with /tx.
//
// It speaks the documented wire formats with net/http and encoding/json
// instead of importing chain/client, whose CometBFT RPC dependency alone
// costs a gateway about 12 MB of resident memory; tests check it against
// chain/client's encodings and CometBFT's own JSON.
package chainrpc
