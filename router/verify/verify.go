package verify

import (
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
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
	sig := up.GetSignature()
	if len(sig) != 64 {
		return false
	}
	// Unknown fields would make the encoding depend on the decoder;
	// identity.MessageSignBytes refuses them, so do we.
	if len(up.ProtoReflect().GetUnknown()) > 0 || (up.GetRadio() != nil && len(up.GetRadio().ProtoReflect().GetUnknown()) > 0) {
		return false
	}
	up.Signature = nil
	msg, err := proto.MarshalOptions{Deterministic: true}.Marshal(up)
	up.Signature = sig
	if err != nil {
		return false
	}
	ek, ok := k.get(pub)
	if !ok {
		return false
	}
	return voi.VerifyExpandedWithOptions(ek, identity.SignBytes(identity.DomainUplink, msg), sig, stdlibOptions)
}
