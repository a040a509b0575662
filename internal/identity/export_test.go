package identity

import "crypto/ed25519"

func edSign(k *Key, msg []byte) []byte { return ed25519.Sign(k.priv, msg) }
