// Package chainrpc adapts chain/client (the cgo-free CometBFT RPC client) to
// what the hotspot agent reads from and sends to the chain: chain id and
// parameters (cached), the chain head, the routing table, the hotspot's own
// record, rewards and PoC history, and voucher claims signed by the hotspot
// key.
package chainrpc
