// Package filter decides which uplinks the bridge forwards, by the NetID of
// a data frame's DevAddr and the JoinEUI of a join request, like ChirpStack
// Gateway Bridge's filters. With no filter configured everything passes.
package filter
