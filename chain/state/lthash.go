package state

import (
	"crypto/sha256"
	"crypto/sha3"
	"encoding/binary"
)

// lanes is the number of 16-bit lanes of the lattice hash.
const lanes = 1024

// LtHash is a homomorphic multiset hash of key/value pairs.
type LtHash [lanes]uint16

const ltDomain = "hexproof/state-lthash/v1"

func expand(key, value []byte) *LtHash {
	h := sha3.NewSHAKE256()
	var n [8]byte
	h.Write([]byte(ltDomain))
	binary.BigEndian.PutUint64(n[:], uint64(len(key)))
	h.Write(n[:])
	h.Write(key)
	binary.BigEndian.PutUint64(n[:], uint64(len(value)))
	h.Write(n[:])
	h.Write(value)
	var buf [lanes * 2]byte
	h.Read(buf[:])
	var out LtHash
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(buf[2*i:])
	}
	return &out
}

// Add adds the pair (key, value).
func (l *LtHash) Add(key, value []byte) {
	e := expand(key, value)
	for i := range l {
		l[i] += e[i]
	}
}

// Remove removes a pair previously added.
func (l *LtHash) Remove(key, value []byte) {
	e := expand(key, value)
	for i := range l {
		l[i] -= e[i]
	}
}

// Bytes returns the lanes, little-endian.
func (l *LtHash) Bytes() []byte {
	b := make([]byte, lanes*2)
	for i, v := range l {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}

func ltFromBytes(b []byte) (LtHash, bool) {
	var l LtHash
	if len(b) != lanes*2 {
		return l, false
	}
	for i := range l {
		l[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return l, true
}

// Sum returns the 32-byte digest of the lattice hash.
func (l *LtHash) Sum() []byte {
	s := sha256.Sum256(l.Bytes())
	return s[:]
}
