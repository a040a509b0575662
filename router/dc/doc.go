// Package dc meters data credits: what a bought packet copy costs, how much
// of each OUI's escrow this router has promised, and the cumulative
// per-hotspot, per-epoch counters its vouchers sign.
//
// The counters are persisted (written to a temporary file, fsync'd, renamed
// over the old file, directory fsync'd) before any voucher carrying them is
// signed, so a restarted router never signs a smaller voucher than one it
// signed before. Purchases made after the last persist and before a crash
// are lost with the process: they were never vouchered, so nobody was
// promised them.
package dc
