// Package stream serves RouterService.Stream, the hotspots' bidirectional
// gRPC stream: the session handshake (SessionInit, SessionChallenge with a
// fresh nonce, SessionProof signed under identity.DomainSession,
// SessionAccepted or SessionRefused with a reason a person can act on), the
// per-hotspot rate limit, the stream-count limit, and a send queue per
// session so a slow hotspot never blocks the router.
//
// Downlink retries are the hotspot's job: every Downlink carries its RX1
// window and, when the router could compute one, an RX2 window. The hotspot
// tries RX1; if its gateway refuses it (TOO_LATE, ...) it tries RX2, and it
// reports the final outcome in one TxAck with window 1 or 2 (0 when none
// was used). A TxAck for a failed window 1 while an RX2 window remains is
// taken as intermediate: the router waits for the RX2 outcome and forwards
// only the final one to the LNS.
package stream
