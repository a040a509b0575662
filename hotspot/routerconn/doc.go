// Package routerconn keeps one authenticated RouterService stream per router
// the routing table names (the hotspot is the client): SessionInit, a
// signature over the router's nonce, then uplinks and tx acks out, downlinks
// and vouchers in. Every router has its own goroutines and a bounded outbox,
// so a slow or dead router never delays another; frames for a router that is
// not connected are dropped and counted, since they would be stale long
// before it returns.
package routerconn
