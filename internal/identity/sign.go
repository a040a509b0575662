package identity

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Domain separates the signatures of different message kinds.
type Domain string

// Every kind of signed message has its own domain. Changing one is a
// breaking change of the wire format.
const (
	DomainTx         Domain = "hexproof/tx/v1"
	DomainHotspotAdd Domain = "hexproof/hotspot-add/v1"
	DomainSession    Domain = "hexproof/session/v1"
	DomainUplink     Domain = "hexproof/uplink/v1"
	DomainVoucher    Domain = "hexproof/voucher/v1"
	DomainBeacon     Domain = "hexproof/beacon/v1"
	DomainWitness    Domain = "hexproof/witness/v1"
)

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = errors.New("bad signature")

// SignBytes is what a signature under d covers: d, a zero byte, then msg.
func SignBytes(d Domain, msg []byte) []byte {
	out := make([]byte, 0, len(d)+1+len(msg))
	out = append(out, d...)
	out = append(out, 0)
	return append(out, msg...)
}

// Verify checks sig by pub over msg under domain d.
func Verify(pub []byte, d Domain, msg, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key is %d bytes, want %d", ErrBadSignature, len(pub), ed25519.PublicKeySize)
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes, want %d", ErrBadSignature, len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(ed25519.PublicKey(pub), SignBytes(d, msg), sig) {
		return ErrBadSignature
	}
	return nil
}

// signatureFieldName is the field every self-signed protobuf message carries.
const signatureFieldName = "signature"

// MessageSignBytes returns the bytes a self-signed protobuf message is signed
// over: the deterministic encoding of m with its "signature" field unset. It
// fails for messages without such a field and for messages carrying unknown
// fields (which would make the encoding depend on who decoded it).
func MessageSignBytes(m proto.Message) ([]byte, error) {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(signatureFieldName)
	if fd == nil || fd.Kind() != protoreflect.BytesKind {
		return nil, fmt.Errorf("%s has no bytes field %q", r.Descriptor().FullName(), signatureFieldName)
	}
	if hasUnknown(r) {
		return nil, fmt.Errorf("%s carries unknown fields", r.Descriptor().FullName())
	}
	c := proto.Clone(m).ProtoReflect()
	c.Clear(fd)
	return proto.MarshalOptions{Deterministic: true}.Marshal(c.Interface())
}

func hasUnknown(r protoreflect.Message) bool {
	if len(r.GetUnknown()) > 0 {
		return true
	}
	found := false
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len() && !found; i++ {
				found = hasUnknown(l.Get(i).Message())
			}
		case fd.IsMap():
			// Hexproof messages have no maps.
		case fd.Message() != nil:
			found = hasUnknown(v.Message())
		}
		return !found
	})
	return found
}

// SignMessage sets m's "signature" field to k's signature under d.
func (k *Key) SignMessage(d Domain, m proto.Message) error {
	b, err := MessageSignBytes(m)
	if err != nil {
		return err
	}
	r := m.ProtoReflect()
	r.Set(r.Descriptor().Fields().ByName(signatureFieldName), protoreflect.ValueOfBytes(k.Sign(d, b)))
	return nil
}

// VerifyMessage checks m's "signature" field against pub under d.
func VerifyMessage(pub []byte, d Domain, m proto.Message) error {
	b, err := MessageSignBytes(m)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	r := m.ProtoReflect()
	sig := r.Get(r.Descriptor().Fields().ByName(signatureFieldName)).Bytes()
	return Verify(pub, d, b, sig)
}
