package verify

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

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

func TestBatcher(t *testing.T) {
	keys := NewKeys(100)
	b := NewBatcher(keys, 2)
	var ks []*identity.Key
	for i := 0; i < 8; i++ {
		k, _ := identity.NewKey(nil)
		ks = append(ks, k)
	}
	// Inline before Run.
	if !b.Uplink(ks[0].Address(), signed(t, ks[0])) {
		t.Fatal("valid uplink refused before Run")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	// Many concurrent checks, one bad in every 7: batches with a bad
	// signature must still give every uplink its own answer.
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for i := 0; i < 400; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := ks[i%len(ks)]
			up := signed(t, k)
			bad := i%7 == 0
			if bad {
				up.Radio.Tmst++
			}
			if got := b.Uplink(k.Address(), up); got == bad {
				errs <- fmt.Sprintf("uplink %d (bad=%v): verified %v", i, bad, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	cancel()
	<-done
	// Inline again after Run.
	if b.Uplink(ks[1].Address(), signed(t, ks[0])) {
		t.Fatal("another key's uplink accepted after Run")
	}
}

// BenchmarkConcurrent compares one-by-one and batched checks with 50
// streams verifying at once (the router under load).
func BenchmarkConcurrent(b *testing.B) {
	k, _ := identity.NewKey(nil)
	ups := make([]*hexproofv1.Uplink, 50)
	for i := range ups {
		ups[i] = signed(b, k)
	}
	run := func(b *testing.B, check func(*hexproofv1.Uplink) bool) {
		var wg sync.WaitGroup
		per := b.N/len(ups) + 1
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		defer func() {
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(per*len(ups)), "cpu-ns/op")
		}()
		b.ResetTimer()
		for i := range ups {
			wg.Add(1)
			go func() {
				defer wg.Done()
				up := proto.Clone(ups[i]).(*hexproofv1.Uplink)
				for j := 0; j < per; j++ {
					if !check(up) {
						b.Error("refused")
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	b.Run("one-by-one", func(b *testing.B) {
		keys := NewKeys(10)
		run(b, func(up *hexproofv1.Uplink) bool { return keys.Uplink(k.Address(), up) })
	})
	b.Run("batched", func(b *testing.B) {
		bt := NewBatcher(NewKeys(10), 0)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- bt.Run(ctx) }()
		run(b, func(up *hexproofv1.Uplink) bool { return bt.Uplink(k.Address(), up) })
		cancel()
		<-done
	})
}
