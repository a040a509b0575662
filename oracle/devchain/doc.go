// Package devchain starts a one-validator Hexproof chain in-process
// (chain/node) for the oracle's end-to-end tests and benchmarks: short
// epochs, no onboarding fees, a static price, CometBFT metrics off so that
// several nodes can run one after another in a process.
package devchain
