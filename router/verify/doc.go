// Package verify checks uplink signatures on the router's hot path. It
// accepts exactly what identity.VerifyMessage(hotspot, DomainUplink, up)
// accepts (same sign bytes, crypto/ed25519 semantics) but costs about half:
// the sign bytes are encoded without cloning the message, and each
// hotspot's public key is decompressed once per session (curve25519-voi's
// expanded keys) instead of once per uplink.
package verify
