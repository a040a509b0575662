// Package tx decodes and checks the signed transaction envelope: canonical
// encoding (a body or envelope whose deterministic re-encoding differs is
// refused, so each transaction has exactly one byte form and one hash),
// chain id, signer key and the ed25519 signature under identity.DomainTx.
// Checks that need state (nonce, fee, balances) belong to the application.
package tx
