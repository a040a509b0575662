package identity

import (
	"crypto/ed25519"
	"errors"
	"fmt"
)

// AddressPrefix is the human-readable part of every Hexproof address.
const AddressPrefix = "hxp"

// ErrBadAddress is returned for a string that is not a Hexproof address.
var ErrBadAddress = errors.New("not a hexproof address")

// Address is an ed25519 public key, the identity of every account, hotspot,
// router and oracle. On the wire it travels as its 32 raw bytes; people see
// it as bech32, e.g. "hxp1...".
type Address [ed25519.PublicKeySize]byte

// AddressFromBytes checks that b is a 32-byte public key.
func AddressFromBytes(b []byte) (Address, error) {
	var a Address
	if len(b) != len(a) {
		return a, fmt.Errorf("%w: public key is %d bytes, want %d", ErrBadAddress, len(b), len(a))
	}
	copy(a[:], b)
	return a, nil
}

// ParseAddress parses the bech32 form ("hxp1...").
func ParseAddress(s string) (Address, error) {
	hrp, data, err := bech32Decode(s)
	if err != nil {
		return Address{}, fmt.Errorf("%w: %q: %v", ErrBadAddress, s, err)
	}
	if hrp != AddressPrefix {
		return Address{}, fmt.Errorf("%w: %q has prefix %q, want %q", ErrBadAddress, s, hrp, AddressPrefix)
	}
	return AddressFromBytes(data)
}

// String returns the bech32 form.
func (a Address) String() string {
	s, err := bech32Encode(AddressPrefix, a[:])
	if err != nil {
		// 32 bytes always convert; failure means the encoder is broken.
		panic("identity: bech32 encode: " + err.Error())
	}
	return s
}

// Bytes returns the 32 raw bytes.
func (a Address) Bytes() []byte { return append([]byte(nil), a[:]...) }

// PublicKey returns the ed25519 public key.
func (a Address) PublicKey() ed25519.PublicKey { return ed25519.PublicKey(a.Bytes()) }

// IsZero reports whether a is the zero value.
func (a Address) IsZero() bool { return a == Address{} }

// MarshalText implements encoding.TextMarshaler (JSON, TOML use bech32).
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Address) UnmarshalText(b []byte) error {
	p, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = p
	return nil
}
