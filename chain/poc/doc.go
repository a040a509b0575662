// Package poc verifies proof-of-coverage receipts: one beacon report and the
// witness reports heard for it (hexproofv1.PocReceipt), against the chain
// state the caller exposes through View.
//
// It is a deterministic core in the style of etcd raft: no I/O, no clock, no
// goroutines, no map iteration, no floating point. The chain app calls
//
//	res := poc.Verify(view, params, poc.Now{Height: h, TimeMs: t}, receipt)
//
// inside FinalizeBlock and then records what the result says:
//
//   - res.Beacon.Physical: set the beaconer's LastBeaconHeight to
//     res.EntropyHeight (used for the beacon interval and for reciprocity);
//   - each res.Witnesses[i].Physical: set that witness's LastWitnessHeight to
//     res.EntropyHeight;
//   - keep every Reason (beacon and per witness) for queries;
//   - res.Beacon.Valid with the witnesses whose Rewarded is true are the
//     inputs of the epoch's rewards (package rewards).
//
// "Physical" means a report passed every check except reciprocity (the rule
// that a beaconer needs a recent valid witness and a witness a recent valid
// beacon). Recording physical reports, not only valid ones, lets a new
// hotspot bootstrap: its first beacon and first witness are physical but not
// valid, and from then on it is reciprocal.
//
// Each check has a Reason constant (e.g. "witness_too_close"); a report gets
// the first failing reason in the documented order (Reasons). Signatures are
// ed25519 over identity.MessageSignBytes under identity.DomainBeacon /
// identity.DomainWitness, checked in one batch per receipt with CometBFT's
// ed25519 batch verifier (ZIP-215 rules, like CometBFT's own votes; a batch
// failure falls back to single verification to find the bad ones).
//
// docs/poc.md explains every rule, parameter and reason for anyone
// recomputing results.
package poc
