// Package app is Hexproof's CometBFT ABCI 2.0 application: accounts, HXP and
// data credits, hotspots, OUIs and routing, proof-of-coverage receipts
// verified by every validator, voucher claims, the validator price feed
// through vote extensions, and epoch rewards.
//
// The application is deterministic: consensus paths (PrepareProposal,
// ProcessProposal, FinalizeBlock, Commit) read only the block and the state
// in chain/state, use integer arithmetic, never iterate maps in an order that
// matters, and never touch the clock or the network. Only ExtendVote reads
// the outside world (the validator's price source), and what it returns is
// checked by everyone before it reaches the state.
//
// Life of a block: FinalizeBlock runs every transaction in its own cache on
// top of a block cache, records results, ends the epoch when the height is a
// multiple of epoch_blocks, and stages the new state to get the app hash;
// Commit persists it atomically with the height (see chain/state). Info
// reports the last committed height and app hash so CometBFT replays exactly
// the blocks the application has not applied.
package app
