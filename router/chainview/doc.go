// Package chainview is the router's cached view of the chain: chain id and
// epoch, the OUIs it serves (routes, max_copies, escrow) and the hotspots
// that are onboarded. It reads a Source (the consumer-side interface the
// chain client adapter implements), refreshes in the background and keeps
// serving the last good data while the chain is unreachable.
package chainview
