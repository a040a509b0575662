// Package cli is the `chain` command: node homes (init, testnet), running a
// node (start), account keys (keys), signed transactions (tx) and queries
// (query). cmd/chain/main.go only wires signals and os streams to Run.
package cli
