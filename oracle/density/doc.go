// Package density computes the hex density scale of HIP-17 for display: the
// hotspot counts of res-11 hexes are rolled up to resolution 4; at each
// resolution a hex's count is clipped to a limit that grows with the number
// of dense neighbours, and a hotspot's scale is the product of
// clipped/unclipped over its ancestors. The chain computes the scale that
// pays rewards with integer arithmetic; this float version, with the same
// parameters, is what the explorer colours the coverage map by.
package density
