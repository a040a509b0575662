// Package hotspottest holds test doubles of the hotspot's peers that speak the
// real wire protocols on loopback: a RouterService that authenticates
// hotspots like a router and records their uplinks and acks, and a
// PocIngestService oracle that verifies and records reports (and can play
// unavailable). Only tests import it.
package hotspottest
