// Package client talks to a Hexproof chain node over CometBFT RPC: typed
// abci_query calls for every query path the chain application serves (see
// docs/chain-queries.md), the JSON types of their answers, transaction
// broadcasting (sync, or waiting until committed) and helpers that build and
// sign the transaction envelope.
//
// It is pure Go without cgo, so cgo-free components such as the hotspot agent
// can import it. The chain application itself uses the answer types and the
// path constants defined here, so client and server cannot drift apart.
package client
