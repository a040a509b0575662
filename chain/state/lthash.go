package state

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
)

// lanes is the number of 16-bit lanes of the lattice hash.
const lanes = 1024

// LtHash is a homomorphic multiset hash of key/value pairs.
type LtHash [lanes]uint16

const ltDomain = "hexproof/state-lthash/v2"

var zeroLanes [lanes * 2]byte

// expand maps a pair to 1024 pseudo-random lanes: the SHA-256 digest of
// the length-prefixed pair keys AES-256 in counter mode (zero IV), whose
// keystream is the lanes. It is a hash-seeded PRG (about 4x faster than
// SHAKE-256 here, with AES hardware on amd64 and arm64).
func expand(key, value []byte) *LtHash {
	h := sha256.New()
	var n [8]byte
	h.Write([]byte(ltDomain))
	binary.BigEndian.PutUint64(n[:], uint64(len(key)))
	h.Write(n[:])
	h.Write(key)
	binary.BigEndian.PutUint64(n[:], uint64(len(value)))
	h.Write(n[:])
	h.Write(value)
	var seed [32]byte
	h.Sum(seed[:0])
	block, err := aes.NewCipher(seed[:])
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	var iv [aes.BlockSize]byte
	var buf [lanes * 2]byte
	cipher.NewCTR(block, iv[:]).XORKeyStream(buf[:], zeroLanes[:])
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
