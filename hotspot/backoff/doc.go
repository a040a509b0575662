// Package backoff computes jittered exponential reconnect delays, so that
// hotspots that lost a peer at the same moment don't all reconnect at once.
package backoff
