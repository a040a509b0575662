package joinkeys

import (
	"encoding/hex"
	"testing"

	"github.com/brocaar/lorawan"
)

func key(t *testing.T, s string) lorawan.AES128Key {
	t.Helper()
	var k lorawan.AES128Key
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		t.Fatalf("bad key %q", s)
	}
	copy(k[:], b)
	return k
}

// The expected keys were computed independently with OpenSSL:
//
//	echo -n 010302013c0000341200000000000000 | xxd -r -p |
//	  openssl enc -aes-128-ecb -K 2b7e151628aed2a6abf7158809cf4f3c -nopad | xxd -p
//
// (and 02... for the AppSKey): JoinNonce 0x010203, NetID 0x00003c,
// DevNonce 0x1234, all little endian in the block.
func TestSessionKeysVector(t *testing.T) {
	nwk, app, err := SessionKeys(key(t, "2b7e151628aed2a6abf7158809cf4f3c"), 0x010203, lorawan.NetID{0x00, 0x00, 0x3c}, 0x1234)
	if err != nil {
		t.Fatal(err)
	}
	if want := key(t, "20ce39752e7fb13231aa275b433c957b"); nwk != want {
		t.Errorf("NwkSKey %s, want %s", nwk, want)
	}
	if want := key(t, "6c62c5f114b97c00ceae1b335dc5531d"); app != want {
		t.Errorf("AppSKey %s, want %s", app, want)
	}
}

func TestSessionKeysDependOnEveryInput(t *testing.T) {
	k := key(t, "2b7e151628aed2a6abf7158809cf4f3c")
	base, _, _ := SessionKeys(k, 1, lorawan.NetID{0, 0, 0x3c}, 1)
	for name, got := range map[string]func() lorawan.AES128Key{
		"join nonce": func() lorawan.AES128Key { n, _, _ := SessionKeys(k, 2, lorawan.NetID{0, 0, 0x3c}, 1); return n },
		"net id":     func() lorawan.AES128Key { n, _, _ := SessionKeys(k, 1, lorawan.NetID{0, 0, 0x3d}, 1); return n },
		"dev nonce":  func() lorawan.AES128Key { n, _, _ := SessionKeys(k, 1, lorawan.NetID{0, 0, 0x3c}, 2); return n },
	} {
		if got() == base {
			t.Errorf("%s does not change the key", name)
		}
	}
	if _, _, err := SessionKeys(k, 1<<24, lorawan.NetID{}, 1); err == nil {
		t.Error("25-bit join nonce accepted")
	}
}
