package tx

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func key(t testing.TB, b byte) *identity.Key {
	k, err := identity.KeyFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestVerify(t *testing.T) {
	k := key(t, 1)
	good, err := client.BuildTx(k, "c1", 0, 1, &hexproofv1.Transfer{To: key(t, 2).PublicKey(), Amount: 3})
	if err != nil {
		t.Fatal(err)
	}
	var env hexproofv1.Tx
	if err := proto.Unmarshal(good, &env); err != nil {
		t.Fatal(err)
	}
	badSig := proto.Clone(&env).(*hexproofv1.Tx)
	badSig.Signature[0] ^= 1
	badSigRaw, _ := proto.MarshalOptions{Deterministic: true}.Marshal(badSig)
	// A body with a trailing duplicate field decodes but is not canonical.
	nonCanon := proto.Clone(&env).(*hexproofv1.Tx)
	nonCanon.Body = protowire.AppendVarint(protowire.AppendTag(slicesClone(env.Body), 3, protowire.VarintType), 0)
	nonCanon.Signature = k.Sign(identity.DomainTx, nonCanon.Body)
	nonCanonRaw, _ := proto.MarshalOptions{Deterministic: true}.Marshal(nonCanon)
	unknown := proto.Clone(&env).(*hexproofv1.Tx)
	unknown.Body = protowire.AppendVarint(protowire.AppendTag(slicesClone(env.Body), 99, protowire.VarintType), 1)
	unknown.Signature = k.Sign(identity.DomainTx, unknown.Body)
	unknownRaw, _ := proto.MarshalOptions{Deterministic: true}.Marshal(unknown)
	noPayload, _ := client.SignTx(k, &hexproofv1.TxBody{ChainId: "c1"})

	tests := []struct {
		name  string
		raw   []byte
		chain string
		code  uint32
	}{
		{"good", good, "c1", client.CodeOK},
		{"wrong chain", good, "c2", client.CodeWrongChain},
		{"bad signature", badSigRaw, "c1", client.CodeBadSignature},
		{"non canonical body", nonCanonRaw, "c1", client.CodeDecode},
		{"unknown field", unknownRaw, "c1", client.CodeDecode},
		{"garbage", []byte{0xff, 0xff}, "c1", client.CodeDecode},
		{"empty", nil, "c1", client.CodeDecode},
		{"no payload", noPayload, "c1", client.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.code == client.CodeBadSignature {
				// A recheck trusts the signature verified before.
				if _, err := VerifyKnownSignature(tt.raw, tt.chain); err != nil {
					t.Fatalf("VerifyKnownSignature: %v", err)
				}
			}
			d, err := Verify(tt.raw, tt.chain)
			if got := CodeOf(err); got != tt.code {
				t.Fatalf("code %d (%v), want %d", got, err, tt.code)
			}
			if err == nil && d.Signer != k.Address() {
				t.Fatalf("signer %s", d.Signer)
			}
		})
	}
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

func FuzzDecode(f *testing.F) {
	k := key(f, 1)
	good, _ := client.BuildTx(k, "c1", 0, 1, &hexproofv1.Transfer{To: k.PublicKey(), Amount: 3})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, body, err := Decode(raw)
		if err != nil {
			return
		}
		// Whatever decodes is canonical: re-encoding the envelope gives raw.
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(body)
		var env hexproofv1.Tx
		_ = proto.Unmarshal(raw, &env)
		if !bytes.Equal(b, env.Body) {
			t.Fatalf("accepted a non-canonical body")
		}
		_, _ = Verify(raw, "c1")
	})
}
