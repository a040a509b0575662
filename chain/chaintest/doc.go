// Package chaintest runs a real one-validator Hexproof chain in-process for
// tests of the chain's CLI and of the components that talk to a chain (the
// oracle, the router): a CometBFT node with the Hexproof app, RPC on a free
// 127.0.0.1 port, stopped and removed when the test ends.
package chaintest
