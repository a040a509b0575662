// Package oracleconn delivers queued PoC reports to one oracle's
// PocIngestService. Every oracle has its own durable queue and sender, so a
// slow or unreachable oracle never delays the others; a report leaves an
// oracle's queue only when that oracle accepted it (or refused it as
// invalid, which no retry can fix).
package oracleconn
