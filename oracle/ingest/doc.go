// Package ingest is the oracle's PoC report intake: the PocIngestService gRPC
// server that hotspots send signed beacon and witness reports to. It checks
// signatures and cheap rules at once (rejecting with InvalidArgument and a
// machine-readable reason in an ErrorInfo detail), queues accepted reports in
// PostgreSQL so they survive a restart, groups the witnesses of each beacon
// by payload over a window that must fit the chain's entropy validity, and
// submits one PocReceipt transaction per beacon signed with the oracle's own
// key. Several oracles may submit the same beacon: the chain records one and
// answers the others "already recorded", which this package treats as done.
package ingest
