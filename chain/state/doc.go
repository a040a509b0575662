// Package state is the chain application's persistent state: a key/value
// store on cometbft-db with in-memory write caches, an incrementally updated
// app hash and state-sync snapshots.
//
// Consensus code never writes to the database directly. FinalizeBlock works
// in a Cache over the committed Store (and a nested Cache per transaction, so
// a failed transaction leaves nothing behind); Stage computes the new app
// hash from the cache's changes without touching the disk; Commit then writes
// the changes together with {height, app hash} in one synced batch, so a
// crash leaves either the old or the new state, never a mix.
//
// The app hash is a lattice (homomorphic) hash of the whole state: every
// key/value pair is expanded into 1024 pseudo-random 16-bit lanes (AES-256-CTR
// keyed by the pair's SHA-256 digest) and the
// lanes of all pairs are summed modulo 2^16 (LtHash, Bellare-Micciancio).
// Adding or removing a pair is one expansion, so the hash of a state of any
// size is updated in time proportional to the block's changes, it does not
// depend on the order of writes, and anyone holding the state (for example
// after a state-sync restore) can recompute it from scratch. The 32-byte app
// hash is SHA-256 over the lanes.
package state
