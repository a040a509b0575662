// Package chainclient adapts chain/client (CometBFT RPC + abci_query) to
// the router's chainview.Source: chain id, height and epoch, OUI
// configurations and escrow, onboarded hotspots and voucher claims.
package chainclient
