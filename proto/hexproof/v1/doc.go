// Package hexproofv1 is the generated Go of Hexproof's wire contracts in
// proto/hexproof/v1: the hotspot <-> router stream, the PoC reports and the
// oracle's ingest service, and the chain's transactions. Regenerate with
// `make proto`; docs/wire.md is the field-by-field reference.
package hexproofv1
