// Package gwmp is what is left of the simulator's own GWMP codec: the
// simulator now uses the one codec of the repository,
// github.com/hexproof/hexproof/firmware-bridge/gwmp. These names remain
// only so that sim/devnet builds until it imports that package directly;
// remove this package then.
package gwmp
