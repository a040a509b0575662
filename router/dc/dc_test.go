package dc

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCost(t *testing.T) {
	tests := []struct {
		size            int
		join, freeJoins bool
		want            uint64
	}{
		{0, false, false, 1},
		{12, false, false, 1},
		{24, false, false, 1},
		{25, false, false, 2},
		{48, false, false, 2},
		{49, false, false, 3},
		{255, false, false, 11},
		{23, true, false, 1},
		{23, true, true, 0},
		{30, false, true, 2},
	}
	for _, tt := range tests {
		if got := Cost(tt.size, tt.join, tt.freeJoins); got != tt.want {
			t.Errorf("Cost(%d, join=%v, free=%v) = %d, want %d", tt.size, tt.join, tt.freeJoins, got, tt.want)
		}
	}
}

func key(oui uint64, h byte, epoch uint64) Key {
	return Key{OUI: oui, Hotspot: [32]byte{h}, Epoch: epoch}
}

func TestBuyStopsAtEscrow(t *testing.T) {
	m, err := Open(filepath.Join(t.TempDir(), "v.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Buy(key(1, 1, 1), 1); !errors.Is(err, ErrUnknownOUI) {
		t.Fatalf("buy before the escrow is known: %v", err)
	}
	m.SetEscrow(1, 5)
	for i, want := range []error{nil, nil, ErrNoCredit, nil} {
		cost := []uint64{2, 2, 2, 1}[i]
		if err := m.Buy(key(1, byte(i), 1), cost); !errors.Is(err, want) {
			t.Fatalf("buy %d of %d DC: %v, want %v", i, cost, err, want)
		}
	}
	if m.Available(1) != 0 || m.Promised(1) != 5 {
		t.Fatalf("available %d promised %d", m.Available(1), m.Promised(1))
	}
	// Free joins always pass.
	if err := m.Buy(key(1, 9, 1), 0); err != nil {
		t.Fatal(err)
	}
	// A claim of 2 DC leaves the escrow at 3 with 3 outstanding: still 0.
	m.SetEscrow(1, 3)
	m.SetPaid(key(1, 0, 1), 2)
	if m.Available(1) != 0 {
		t.Fatalf("available %d after a claim, want 0", m.Available(1))
	}
	// Claims never lower: a stale answer is ignored.
	m.SetPaid(key(1, 0, 1), 1)
	m.SetEscrow(1, 10)
	if m.Available(1) != 7 {
		t.Fatalf("available %d, want 7", m.Available(1))
	}
	if got := len(m.Unsettled(10)); got != 2 {
		t.Fatalf("%d unsettled vouchers, want 2 (of 4: one paid, one free)", got)
	}
}

func TestFlushPersistsAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "v.json")
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m.SetEscrow(1, 100)
	m.SetEscrow(2, 100)
	m.Buy(key(1, 1, 5), 3)
	m.Buy(key(1, 1, 5), 2)
	m.Buy(key(2, 1, 5), 1)
	changed, err := m.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 2 || changed[0].DC != 5 || changed[0].Packets != 2 || changed[1].DC != 1 {
		t.Fatalf("changed = %+v", changed)
	}
	if again, _ := m.Flush(); len(again) != 0 {
		t.Fatalf("second flush reports %d changes, want none", len(again))
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Fatalf("state file %v, mode %v", err, st.Mode())
	}

	m2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := m2.Get(key(1, 1, 5))
	if !ok || c.DC != 5 || c.Packets != 2 {
		t.Fatalf("reopened counter %+v %v", c, ok)
	}
	if m2.Promised(1) != 5 || m2.Promised(2) != 1 {
		t.Fatalf("reopened promised %d, %d", m2.Promised(1), m2.Promised(2))
	}
	if p := m2.Persisted([32]byte{1}); len(p) != 2 {
		t.Fatalf("persisted vouchers of the hotspot: %+v", p)
	}
	// Reloaded vouchers count as unpaid until the chain says otherwise.
	m2.SetEscrow(1, 10)
	if m2.Available(1) != 5 {
		t.Fatalf("available after reopen = %d, want 5", m2.Available(1))
	}
}

func TestFlushFailureSignsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// A non-empty directory where the file goes: the rename fails.
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	m.SetEscrow(1, 10)
	m.Buy(key(1, 1, 1), 1)
	if changed, err := m.Flush(); err == nil || changed != nil {
		t.Fatalf("flush = %v, %v; want an error and nothing to sign", changed, err)
	}
	if len(m.Persisted([32]byte{1})) != 0 {
		t.Fatal("unpersisted counter reported as persisted")
	}
}

func TestOpenRefusesDamagedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	for _, content := range []string{"{", `{"version":2}`, `{"version":1,"counters":[{"hotspot":"zz"}]}`} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path); err == nil {
			t.Fatalf("opened %q", content)
		}
	}
}

func TestOldEpochsPruned(t *testing.T) {
	m, _ := Open(filepath.Join(t.TempDir(), "v.json"))
	m.SetEscrow(1, 1000)
	m.Buy(key(1, 1, 1), 10)
	m.Buy(key(1, 1, 10), 1)
	if _, err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get(key(1, 1, 1)); ok {
		t.Fatal("epoch 1 kept at epoch 10")
	}
	if m.Available(1) != 999 || m.Promised(1) != 11 {
		t.Fatalf("available %d promised %d", m.Available(1), m.Promised(1))
	}
}
