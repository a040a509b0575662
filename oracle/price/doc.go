// Package price is the price source validators' vote extensions read: it
// polls configured sources (a static value, an HTTP JSON upstream, or the
// devnet's deterministic simulated feed), keeps the median of the fresh
// quotes and serves GET /api/v1/price. When no source has a fresh quote it
// answers 503 with no price: a validator that gets no price votes none,
// which is safe, while a stale price would be wrong.
package price
