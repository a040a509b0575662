// Package ratelimit is the per-hotspot token bucket that caps the uplinks a
// hotspot may send (Helium allows 25 packets/s per gateway).
package ratelimit
