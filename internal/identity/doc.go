// Package identity holds the ed25519 identities of Hexproof: hotspot, owner,
// router, oracle and validator keys, their key files, their human address
// format (bech32 with the "hxp" prefix) and domain-separated signing.
//
// Every signature in Hexproof covers a domain string, a zero byte and the
// message, so a signature made for one kind of message can never be replayed
// as another kind.
package identity
