package app

import (
	"bytes"
	"testing"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// FuzzFinalizeBlock feeds arbitrary transaction bytes to two independent
// instances: neither may panic and both must reach the same app hash.
func FuzzFinalizeBlock(f *testing.F) {
	a := newNet(f, f.TempDir(), testGenesis(f))
	b := newNet(f, f.TempDir(), testGenesis(f))
	alice := a.wallet("alice")
	f.Add(alice.tx(f, &hexproofv1.Transfer{To: a.wallet("bob").k.PublicKey(), Amount: 1}), []byte{})
	f.Add(alice.tx(f, &hexproofv1.BurnForDc{Amount: 100}), []byte{0x0a, 0x02, 0x0a, 0x00})
	f.Add([]byte{0xff, 0x01}, alice.tx(f, &hexproofv1.PocReceipt{}))
	f.Add(alice.tx(f, receiptTB(f, 1, testKey(f, "hs-a"), testKey(f, "hs-b"))), alice.tx(f, &hexproofv1.OuiCreate{Config: &hexproofv1.OuiConfig{MaxCopies: 1}}))
	v := &hexproofv1.Voucher{ChainId: testChain, Oui: 1, Router: testKey(f, "r").PublicKey(), Hotspot: testKey(f, "hs-a").PublicKey(), Epoch: 1, Dc: 5}
	testKey(f, "r").SignMessage(identity.DomainVoucher, v)
	f.Add(alice.tx(f, &hexproofv1.VoucherClaim{Voucher: v}), alice.tx(f, &hexproofv1.BurnForDc{Amount: 10, Target: &hexproofv1.BurnForDc_Oui{Oui: 1}}))
	f.Fuzz(func(t *testing.T, tx1, tx2 []byte) {
		a.t, b.t = t, t
		ra := a.block(tx1, tx2)
		rb := b.block(tx1, tx2)
		for i := range ra {
			if ra[i].Code != rb[i].Code || ra[i].GasUsed != rb[i].GasUsed {
				t.Fatalf("tx %d: results differ", i)
			}
		}
		if !bytes.Equal(a.app.AppHash(), b.app.AppHash()) {
			t.Fatalf("app hashes diverge at height %d", a.height)
		}
	})
}
