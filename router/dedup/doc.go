// Package dedup recognises copies of the same LoRaWAN frame heard by several
// hotspots, decides which copies the router buys (the first max_copies, each
// from a different hotspot, bought as they arrive: waiting gains nothing
// because the first copies are as good as later ones for the LNS), and keeps
// the best-heard hotspot of each frame for its downlink. Its memory is
// bounded both in time (entries expire) and in count (the oldest entry is
// evicted when full).
package dedup
