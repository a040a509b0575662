package verify

import (
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

var stdlibOptions = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// Keys caches expanded public keys. Safe for concurrent use.
type Keys struct {
	mu   sync.Mutex
	keys map[[32]byte]*voi.ExpandedPublicKey
	max  int
}

// NewKeys returns a cache of at most max keys (it is emptied when full).
func NewKeys(max int) *Keys {
	return &Keys{keys: map[[32]byte]*voi.ExpandedPublicKey{}, max: max}
}

func (k *Keys) get(pub [32]byte) (*voi.ExpandedPublicKey, bool) {
	k.mu.Lock()
	ek, ok := k.keys[pub]
	k.mu.Unlock()
	if ok {
		return ek, true
	}
	ek, err := voi.NewExpandedPublicKey(voi.PublicKey(pub[:]))
	if err != nil {
		return nil, false
	}
	k.mu.Lock()
	if len(k.keys) >= k.max {
		clear(k.keys)
	}
	k.keys[pub] = ek
	k.mu.Unlock()
	return ek, true
}

// Forget drops a key (its session ended).
func (k *Keys) Forget(pub [32]byte) {
	k.mu.Lock()
	delete(k.keys, pub)
	k.mu.Unlock()
}

// Uplink reports whether up carries pub's valid signature under
// identity.DomainUplink. It briefly clears up.Signature while encoding, so
// up must not be used concurrently.
func (k *Keys) Uplink(pub [32]byte, up *hexproofv1.Uplink) bool {
	msg, sig, ek, ok := k.prepare(pub, up)
	return ok && voi.VerifyExpandedWithOptions(ek, msg, sig, stdlibOptions)
}
