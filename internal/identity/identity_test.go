package identity

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// RFC 8032 section 7.1, test 2: ties our key derivation and signing to the
// standard.
func TestRFC8032Vector(t *testing.T) {
	seed, _ := hex.DecodeString("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
	k, err := KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(k.PublicKey()), "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"; got != want {
		t.Fatalf("public key %s, want %s", got, want)
	}
	// With an empty domain the sign bytes are one zero byte then the
	// message, so check the raw primitive instead.
	sig := hex.EncodeToString(edSign(k, []byte{0x72}))
	if want := "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"; sig != want {
		t.Fatalf("signature %s, want %s", sig, want)
	}
}

func TestBech32BIP173(t *testing.T) {
	valid := []string{
		"A12UEL5L",
		"a12uel5l",
		"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
	}
	for _, s := range valid {
		if _, _, err := bech32Decode(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	invalid := []string{
		"pzry9x0s0muk",  // no separator
		"1pzry9x0s0muk", // empty hrp
		"x1b4n0q5v",     // invalid data character
		"li1dgmt3",      // checksum too short
		"A1G7SGD8",      // checksum over upper-case hrp
		"a12uel5m",      // wrong checksum
		"a12UEL5L",      // mixed case
	}
	for _, s := range invalid {
		if _, _, err := bech32Decode(s); err == nil {
			t.Errorf("%s: decoded, want an error", s)
		}
	}
}

func TestAddressRoundTrip(t *testing.T) {
	for i := 0; i < 50; i++ {
		k, err := NewKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		s := k.Address().String()
		if !strings.HasPrefix(s, "hxp1") || len(s) != 62 {
			t.Fatalf("address %q: want hxp1 and 62 characters", s)
		}
		a, err := ParseAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		if a != k.Address() {
			t.Fatalf("round trip changed the address")
		}
		up, err := ParseAddress(strings.ToUpper(s))
		if err != nil || up != a {
			t.Fatalf("upper case form: %v", err)
		}
	}
}

func TestParseAddressErrors(t *testing.T) {
	k, _ := KeyFromSeed(bytes.Repeat([]byte{1}, 32))
	good := k.Address().String()
	other, _ := bech32Encode("cosmos", k.PublicKey())
	short, _ := bech32Encode(AddressPrefix, k.PublicKey()[:20])
	typo := good[:10] + string(flipChar(good[10])) + good[11:]
	for name, s := range map[string]string{"other prefix": other, "short key": short, "typo": typo, "empty": "", "garbage": "hello"} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseAddress(s)
			if !errors.Is(err, ErrBadAddress) {
				t.Fatalf("ParseAddress(%q) = %v, want ErrBadAddress", s, err)
			}
		})
	}
}

func flipChar(c byte) byte {
	if c == 'q' {
		return 'p'
	}
	return 'q'
}

func TestDomainSeparation(t *testing.T) {
	k, _ := NewKey(nil)
	msg := []byte("the same bytes")
	sig := k.Sign(DomainBeacon, msg)
	if err := Verify(k.PublicKey(), DomainBeacon, msg, sig); err != nil {
		t.Fatalf("verify under its own domain: %v", err)
	}
	if err := Verify(k.PublicKey(), DomainWitness, msg, sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("verify under another domain = %v, want ErrBadSignature", err)
	}
	// Ambiguity check: domain "a" + msg "b\x00c" must differ from domain "a\x00b" + "c".
	if bytes.Equal(SignBytes("ab", []byte("c")), SignBytes("a", []byte("bc"))) {
		t.Fatal("sign bytes are ambiguous")
	}
	other, _ := NewKey(nil)
	if err := Verify(other.PublicKey(), DomainBeacon, msg, sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("verify with another key = %v, want ErrBadSignature", err)
	}
	if err := Verify(k.PublicKey()[:5], DomainBeacon, msg, sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("short key = %v, want ErrBadSignature", err)
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "hotspot.key")
	k, err := NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o, want 0600", st.Mode().Perm())
	}
	got, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Address() != k.Address() || !bytes.Equal(got.Seed(), k.Seed()) {
		t.Fatal("loaded key differs")
	}
	if err := SaveKeyFile(path, k); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second save = %v, want ErrKeyExists", err)
	}
}

func TestKeyFilePermissionsRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		path := filepath.Join(t.TempDir(), "k.key")
		k, _ := NewKey(nil)
		if err := SaveKeyFile(path, k); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKeyFile(path)
		if !errors.Is(err, ErrKeyFilePermissions) {
			t.Fatalf("mode %04o: err = %v, want ErrKeyFilePermissions", mode, err)
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("error %q does not say how to fix it", err)
		}
	}
}

func TestKeyFileDamaged(t *testing.T) {
	dir := t.TempDir()
	k, _ := KeyFromSeed(bytes.Repeat([]byte{7}, 32))
	other, _ := KeyFromSeed(bytes.Repeat([]byte{8}, 32))
	cases := map[string]string{
		"not json":      "hello",
		"wrong type":    `{"type":"rsa","seed":"00"}`,
		"bad hex":       `{"type":"hexproof-ed25519","seed":"zz"}`,
		"short seed":    `{"type":"hexproof-ed25519","seed":"0102"}`,
		"address wrong": `{"type":"hexproof-ed25519","address":"` + other.Address().String() + `","seed":"` + hex.EncodeToString(k.Seed()) + `"}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadKeyFile(p); err == nil {
				t.Fatal("loaded a damaged key file")
			}
		})
	}
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created {
		t.Fatalf("second call: created=%v err=%v", created, err)
	}
	if k1.Address() != k2.Address() {
		t.Fatal("second call returned another key")
	}
}

// vector is one entry of testdata/vectors.json: fixed keys and messages with
// their addresses and signatures. Other implementations (and future versions
// of this one) must reproduce them exactly.
type vector struct {
	Seed      string `json:"seed"`
	PublicKey string `json:"public_key"`
	Address   string `json:"address"`
	Domain    string `json:"domain"`
	Message   string `json:"message"`
	Signature string `json:"signature"`
}

func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	if *update {
		var vs []vector
		domains := []Domain{DomainTx, DomainHotspotAdd, DomainSession, DomainUplink, DomainVoucher, DomainBeacon, DomainWitness}
		for i, d := range domains {
			seed := bytes.Repeat([]byte{byte(i + 1)}, 32)
			k, _ := KeyFromSeed(seed)
			msg := []byte("hexproof test vector " + string(d))
			vs = append(vs, vector{
				Seed: hex.EncodeToString(seed), PublicKey: hex.EncodeToString(k.PublicKey()),
				Address: k.Address().String(), Domain: string(d), Message: hex.EncodeToString(msg),
				Signature: hex.EncodeToString(k.Sign(d, msg)),
			})
		}
		b, _ := json.MarshalIndent(vs, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 7 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		seed, _ := hex.DecodeString(v.Seed)
		msg, _ := hex.DecodeString(v.Message)
		k, err := KeyFromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(k.PublicKey()); got != v.PublicKey {
			t.Errorf("%s: public key %s, want %s", v.Domain, got, v.PublicKey)
		}
		if got := k.Address().String(); got != v.Address {
			t.Errorf("%s: address %s, want %s", v.Domain, got, v.Address)
		}
		if got := hex.EncodeToString(k.Sign(Domain(v.Domain), msg)); got != v.Signature {
			t.Errorf("%s: signature %s, want %s", v.Domain, got, v.Signature)
		}
		sig, _ := hex.DecodeString(v.Signature)
		if err := Verify(k.PublicKey(), Domain(v.Domain), msg, sig); err != nil {
			t.Errorf("%s: %v", v.Domain, err)
		}
	}
}

func FuzzParseAddress(f *testing.F) {
	k, _ := KeyFromSeed(bytes.Repeat([]byte{3}, 32))
	f.Add(k.Address().String())
	f.Add("hxp1")
	f.Add("a12uel5l")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		if b, err := ParseAddress(a.String()); err != nil || b != a {
			t.Fatalf("re-parse of %q failed: %v", a.String(), err)
		}
	})
}
