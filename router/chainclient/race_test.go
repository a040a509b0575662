//go:build race

package chainclient

// raceEnabled: the in-process chain node of TestAgainstRealChain trips the
// race detector inside the chain application (chain/state Commit vs. a
// concurrent abci_query), which is not this package's code.
const raceEnabled = true
