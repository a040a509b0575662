package client

import (
	"bytes"
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func testKey(t *testing.T, b byte) *identity.Key {
	t.Helper()
	k, err := identity.KeyFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBuildTxVerifies(t *testing.T) {
	k := testKey(t, 1)
	to := testKey(t, 2)
	raw, err := BuildTx(k, "hexproof-test", 7, 10, &hexproofv1.Transfer{To: to.PublicKey(), Amount: 5})
	if err != nil {
		t.Fatal(err)
	}
	var tx hexproofv1.Tx
	if err := proto.Unmarshal(raw, &tx); err != nil {
		t.Fatal(err)
	}
	if err := identity.Verify(k.PublicKey(), identity.DomainTx, tx.Body, tx.Signature); err != nil {
		t.Fatalf("envelope signature: %v", err)
	}
	var body hexproofv1.TxBody
	if err := proto.Unmarshal(tx.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.ChainId != "hexproof-test" || body.Nonce != 7 || body.Fee != 10 || !bytes.Equal(body.Signer, k.PublicKey()) {
		t.Fatalf("body = %v", &body)
	}
	if got := body.GetTransfer().GetAmount(); got != 5 {
		t.Fatalf("amount = %d", got)
	}
	if err := SetPayload(&body, &hexproofv1.Tx{}); err == nil {
		t.Fatal("SetPayload accepted a non-payload message")
	}
}

func TestSignHotspotAdd(t *testing.T) {
	owner, hs := testKey(t, 1), testKey(t, 3)
	p, err := SignHotspotAdd(hs, "c", owner.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := HotspotAddSignBytes("c", owner.PublicKey(), hs.PublicKey(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	if err := identity.Verify(hs.PublicKey(), identity.DomainHotspotAdd, sb, p.HotspotSignature); err != nil {
		t.Fatal(err)
	}
	other, _ := HotspotAddSignBytes("other-chain", owner.PublicKey(), hs.PublicKey(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	if err := identity.Verify(hs.PublicKey(), identity.DomainHotspotAdd, other, p.HotspotSignature); err == nil {
		t.Fatal("signature verified for another chain")
	}
}

func TestCellJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Cell
		err  bool
	}{
		{in: "8c2a1072b59ffff", want: 0x8c2a1072b59ffff},
		{in: "0x8c2a1072b59ffff", want: 0x8c2a1072b59ffff},
		{in: "zz", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ParseCell(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v", err)
			}
			if tt.err {
				return
			}
			if c != tt.want {
				t.Fatalf("got %x", uint64(c))
			}
			b, _ := json.Marshal(struct{ C Cell }{c})
			var back struct{ C Cell }
			if err := json.Unmarshal(b, &back); err != nil || back.C != c {
				t.Fatalf("round trip %s: %v %x", b, err, uint64(back.C))
			}
		})
	}
}

func TestQueryPath(t *testing.T) {
	if got := QueryPath(PathParams); got != "/params" {
		t.Fatal(got)
	}
	if got := QueryPath(PathRouteEUI, "join_eui", FormatEUI(1), "dev_eui", FormatEUI(0xff)); got != "/route/eui?dev_eui=00000000000000ff&join_eui=0000000000000001" {
		t.Fatal(got)
	}
}
