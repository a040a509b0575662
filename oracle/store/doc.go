// Package store owns the oracle's PostgreSQL schema: the embedded tern
// migrations, opening a pool with a clear error when the database is
// unreachable, and the indexer cursor. The indexer writes the tables, the
// explorer reads them, and PoC ingest keeps its report queue in them.
package store
