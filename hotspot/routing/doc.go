// Package routing holds the hotspot's copy of the chain's routing table (every
// OUI's DevAddr ranges, JoinEUI/DevEUI pairs and routers), answers "which
// OUIs want this frame", and keeps the table fresh: refreshed from the chain
// on an interval, persisted to disk after every refresh, and loaded from disk
// at start, so routing keeps working while the chain RPC is unreachable.
package routing
