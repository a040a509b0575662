package vouchers

import (
	"context"
	"errors"
	"testing"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

type fakeChain struct {
	epoch  uint64
	fail   bool
	claims []*hexproofv1.Voucher
}

func (f *fakeChain) CurrentEpoch(context.Context) (uint64, error) { return f.epoch, nil }
func (f *fakeChain) ClaimVoucher(_ context.Context, v *hexproofv1.Voucher) error {
	if f.fail {
		return errors.New("chain down")
	}
	f.claims = append(f.claims, v)
	return nil
}

func TestStoreAndClaim(t *testing.T) {
	router, _ := identity.NewKey(nil)
	hs, _ := identity.NewKey(nil)
	mk := func(epoch, dc uint64) *hexproofv1.Voucher {
		v := &hexproofv1.Voucher{ChainId: "c", Oui: 1, Router: router.PublicKey(), Hotspot: hs.PublicKey(), Epoch: epoch, Dc: dc}
		if err := router.SignMessage(identity.DomainVoucher, v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := Verify(mk(1, 5), router.PublicKey(), hs.PublicKey(), "c"); err != nil {
		t.Fatal(err)
	}
	bad := mk(1, 5)
	bad.Dc = 500
	if err := Verify(bad, router.PublicKey(), hs.PublicKey(), "c"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tampered voucher: %v", err)
	}
	if err := Verify(mk(1, 5), router.PublicKey(), hs.PublicKey(), "other"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong chain: %v", err)
	}

	dir := t.TempDir()
	s, err := Open(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []*hexproofv1.Voucher{mk(1, 5), mk(1, 9), mk(1, 7), mk(2, 3)} {
		if _, err := s.Put(v); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := Open(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Len() != 2 || s2.List()[0].GetDc() != 9 {
		t.Fatalf("after reopen: %v", s2.List())
	}
	ch := &fakeChain{epoch: 2, fail: true}
	if r := Claim(context.Background(), s2, ch, 2); r.Failed != 1 || s2.Len() != 2 {
		t.Fatalf("failed claim removed vouchers: %+v len %d", r, s2.Len())
	}
	ch.fail = false
	if r := Claim(context.Background(), s2, ch, 2); r.Claimed != 1 || s2.Len() != 1 || ch.claims[0].GetEpoch() != 1 {
		t.Fatalf("claim of ended epoch: %+v len %d", r, s2.Len())
	}
	if r := Claim(context.Background(), s2, ch, All); r.Claimed != 1 || s2.Len() != 0 {
		t.Fatalf("claim all: %+v", r)
	}
}
