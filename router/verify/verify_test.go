package verify

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func signed(t testing.TB, k *identity.Key) *hexproofv1.Uplink {
	up := &hexproofv1.Uplink{Hotspot: k.PublicKey(), PhyPayload: []byte{0x40, 1, 2, 3, 4, 0, 1, 0, 1, 9, 9, 9, 9}, Seq: 3,
		Radio: &hexproofv1.RadioMeta{FrequencyHz: 868_100_000, Datarate: "SF7BW125", RssiDbm: -90, SnrCb: -20, Tmst: 77}}
	if err := k.SignMessage(identity.DomainUplink, up); err != nil {
		t.Fatal(err)
	}
	return up
}

func TestUplinkAgreesWithIdentity(t *testing.T) {
	k, _ := identity.NewKey(nil)
	other, _ := identity.NewKey(nil)
	tests := []struct {
		name   string
		mutate func(up *hexproofv1.Uplink)
		pub    *identity.Key
	}{
		{"valid", func(*hexproofv1.Uplink) {}, k},
		{"other key", func(*hexproofv1.Uplink) {}, other},
		{"payload changed", func(up *hexproofv1.Uplink) { up.PhyPayload[0] = 0x80 }, k},
		{"radio changed", func(up *hexproofv1.Uplink) { up.Radio.RssiDbm = -20 }, k},
		{"signature cut", func(up *hexproofv1.Uplink) { up.Signature = up.Signature[:63] }, k},
		{"no signature", func(up *hexproofv1.Uplink) { up.Signature = nil }, k},
		{"unknown field", func(up *hexproofv1.Uplink) { up.ProtoReflect().SetUnknown([]byte{0xa0, 0x06, 0x01}) }, k},
	}
	keys := NewKeys(10)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := signed(t, k)
			tt.mutate(up)
			want := identity.VerifyMessage(tt.pub.PublicKey(), identity.DomainUplink, up) == nil
			if got := keys.Uplink(tt.pub.Address(), up); got != want {
				t.Fatalf("verify = %v, identity.VerifyMessage = %v", got, want)
			}
			if tt.name == "valid" && !want {
				t.Fatal("valid uplink refused")
			}
		})
	}
}

// FuzzUplink checks that the fast path accepts exactly what
// identity.VerifyMessage accepts, for any decoded uplink.
func FuzzUplink(f *testing.F) {
	k, _ := identity.NewKey(nil)
	b, _ := proto.Marshal(signed(f, k))
	f.Add(b)
	keys := NewKeys(10)
	f.Fuzz(func(t *testing.T, b []byte) {
		var up hexproofv1.Uplink
		if proto.Unmarshal(b, &up) != nil {
			return
		}
		want := identity.VerifyMessage(k.PublicKey(), identity.DomainUplink, &up) == nil
		if got := keys.Uplink(k.Address(), &up); got != want {
			t.Fatalf("verify = %v, identity.VerifyMessage = %v", got, want)
		}
	})
}

func BenchmarkUplink(b *testing.B) {
	k, _ := identity.NewKey(nil)
	up := signed(b, k)
	b.Run("identity.VerifyMessage", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if identity.VerifyMessage(k.PublicKey(), identity.DomainUplink, up) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("verify.Keys", func(b *testing.B) {
		keys := NewKeys(10)
		for i := 0; i < b.N; i++ {
			if !keys.Uplink(k.Address(), up) {
				b.Fatal("refused")
			}
		}
	})
}
