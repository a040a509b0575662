package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Key is an ed25519 private key with its address.
type Key struct {
	priv ed25519.PrivateKey
	addr Address
}

// NewKey draws a key from r (crypto/rand.Reader when r is nil).
func NewKey(r io.Reader) (*Key, error) {
	if r == nil {
		r = rand.Reader
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(r, seed); err != nil {
		return nil, fmt.Errorf("read key seed: %w", err)
	}
	return KeyFromSeed(seed)
}

// KeyFromSeed derives the key of a 32-byte seed (RFC 8032).
func KeyFromSeed(seed []byte) (*Key, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	k := &Key{priv: priv}
	copy(k.addr[:], priv.Public().(ed25519.PublicKey))
	return k, nil
}

// Address returns the key's public address.
func (k *Key) Address() Address { return k.addr }

// PublicKey returns the 32-byte public key.
func (k *Key) PublicKey() []byte { return k.addr.Bytes() }

// Seed returns the 32-byte private seed.
func (k *Key) Seed() []byte { return k.priv.Seed() }

// PrivateKey returns the ed25519 private key.
func (k *Key) PrivateKey() ed25519.PrivateKey { return k.priv }

// Sign signs msg under domain d.
func (k *Key) Sign(d Domain, msg []byte) []byte {
	return ed25519.Sign(k.priv, SignBytes(d, msg))
}

// keyFile is the on-disk form. The address is stored for people reading the
// file and checked on load.
type keyFile struct {
	Type    string `json:"type"`
	Address string `json:"address"`
	Seed    string `json:"seed"`
}

const keyFileType = "hexproof-ed25519"

// ErrKeyFilePermissions is returned for a key file that others can read.
var ErrKeyFilePermissions = errors.New("key file is readable by others")

// ErrKeyExists is returned when saving over an existing key file.
var ErrKeyExists = errors.New("key file already exists")

// SaveKeyFile writes k to path with mode 0600. It never overwrites a file:
// losing a hotspot key loses the hotspot.
func SaveKeyFile(path string, k *Key) error {
	b, err := json.MarshalIndent(keyFile{Type: keyFileType, Address: k.addr.String(), Seed: hex.EncodeToString(k.Seed())}, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create key directory: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s (move it away first if you really mean to replace it)", ErrKeyExists, path)
	}
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync key file: %w", err)
	}
	return f.Close()
}

// LoadKeyFile reads a key written by SaveKeyFile. It refuses a file that
// group or others may read or write.
func LoadKeyFile(path string) (*Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run `chmod 600 %s`", ErrKeyFilePermissions, path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("parse key file %s: %w", path, err)
	}
	if kf.Type != keyFileType {
		return nil, fmt.Errorf("parse key file %s: type %q, want %q", path, kf.Type, keyFileType)
	}
	seed, err := hex.DecodeString(kf.Seed)
	if err != nil {
		return nil, fmt.Errorf("parse key file %s: seed: %w", path, err)
	}
	k, err := KeyFromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("parse key file %s: %w", path, err)
	}
	if kf.Address != "" && kf.Address != k.addr.String() {
		return nil, fmt.Errorf("parse key file %s: address %s does not match the seed (file damaged?)", path, kf.Address)
	}
	return k, nil
}

// LoadOrCreateKeyFile loads path, creating a fresh key there if none exists.
func LoadOrCreateKeyFile(path string) (*Key, bool, error) {
	k, err := LoadKeyFile(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	k, err = NewKey(nil)
	if err != nil {
		return nil, false, err
	}
	if err := SaveKeyFile(path, k); err != nil {
		return nil, false, err
	}
	return k, true, nil
}
