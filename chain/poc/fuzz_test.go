package poc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// FuzzVerify decodes arbitrary bytes as a receipt and verifies it against the
// fixture world: it must never panic, must be deterministic, and must keep
// its invariants.
func FuzzVerify(f *testing.F) {
	w := baseWorld(f)
	for _, ws := range [][]string{{"w1", "w2"}, {}, {"w1", "w1", "a"}} {
		raw, err := proto.Marshal(w.receipt(f, "a", ws...))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{})
	p := testParams()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var r hexproofv1.PocReceipt
		if proto.Unmarshal(raw, &r) != nil {
			return
		}
		a := verify(w, p, &r)
		b := verify(w, p, &r)
		if !cmp.Equal(a, b) {
			t.Fatal("not deterministic")
		}
		if len(a.Witnesses) != len(r.Witnesses) {
			t.Fatal("witness count changed")
		}
		rewarded := 0
		for _, wr := range a.Witnesses {
			if wr.Valid != (wr.Reason == "") || (wr.Valid && !a.Beacon.Valid) || (wr.Rewarded && !wr.Valid) {
				t.Fatalf("inconsistent witness result %+v (beacon %+v)", wr, a.Beacon)
			}
			if wr.Rewarded {
				rewarded++
			}
		}
		if rewarded > p.MaxWitnessesRewarded {
			t.Fatalf("%d rewarded", rewarded)
		}
		if a.Beacon.Valid && a.Beacon.Reason != "" {
			t.Fatal("valid beacon with a reason")
		}
	})
}
