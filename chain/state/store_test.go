package state

import (
	"bytes"
	"fmt"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
)

func openLevel(t *testing.T, dir string) (dbm.DB, *Store) {
	t.Helper()
	db, err := dbm.NewGoLevelDB("state", dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	return db, s
}

func TestCommitReopenAndHash(t *testing.T) {
	dir := t.TempDir()
	db, s := openLevel(t, dir)
	if s.Height() != 0 {
		t.Fatalf("fresh height %d", s.Height())
	}
	c := NewCache(s)
	for i := range 50 {
		c.Set(fmt.Appendf(nil, "k/%03d", i), fmt.Appendf(nil, "v%d", i))
	}
	h1 := s.Stage(c, 1)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h1, s.Recompute()) {
		t.Fatal("incremental hash differs from recomputed hash")
	}
	c = NewCache(s)
	c.Delete([]byte("k/007"))
	c.Set([]byte("k/008"), []byte("changed"))
	c.Set([]byte("k/100"), []byte("new"))
	h2 := s.Stage(c, 2)
	if bytes.Equal(h1, h2) {
		t.Fatal("hash did not change")
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h2, s.Recompute()) {
		t.Fatal("incremental hash differs after delete/update")
	}
	db.Close()

	db, s = openLevel(t, dir)
	defer db.Close()
	if s.Height() != 2 || !bytes.Equal(s.AppHash(), h2) {
		t.Fatalf("reopened at %d %x, want 2 %x", s.Height(), s.AppHash(), h2)
	}
	if got := s.Get([]byte("k/008")); string(got) != "changed" {
		t.Fatalf("k/008 = %q", got)
	}
	if s.Get([]byte("k/007")) != nil {
		t.Fatal("deleted key still there")
	}

	// The same final state built in another order has the same hash.
	db2, s2 := openLevel(t, t.TempDir())
	defer db2.Close()
	c2 := NewCache(s2)
	for i := 100; i >= 0; i-- {
		switch {
		case i == 7 || (i > 49 && i != 100):
		case i == 8:
			c2.Set([]byte("k/008"), []byte("changed"))
		case i == 100:
			c2.Set([]byte("k/100"), []byte("new"))
		default:
			c2.Set(fmt.Appendf(nil, "k/%03d", i), fmt.Appendf(nil, "v%d", i))
		}
	}
	if h := s2.Stage(c2, 1); !bytes.Equal(h, h2) {
		t.Fatalf("same state, different hash: %x vs %x", h, h2)
	}
}

func TestCacheIterateMerge(t *testing.T) {
	db, s := openLevel(t, t.TempDir())
	defer db.Close()
	base := NewCache(s)
	for _, k := range []string{"a/1", "a/3", "a/5", "b/1"} {
		base.Set([]byte(k), []byte("base"))
	}
	s.Stage(base, 1)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	block := NewCache(s)
	block.Set([]byte("a/2"), []byte("block"))
	block.Delete([]byte("a/3"))
	tx := NewCache(block)
	tx.Set([]byte("a/4"), []byte("tx"))
	tx.Set([]byte("a/5"), []byte("tx"))
	tx.Set([]byte("a/6"), []byte("tx"))

	collect := func(r Reader, limit int) string {
		var out []string
		r.Iterate([]byte("a/"), func(k, v []byte) bool {
			out = append(out, string(k)+"="+string(v))
			return len(out) < limit
		})
		return fmt.Sprint(out)
	}
	tests := []struct {
		name  string
		r     Reader
		limit int
		want  string
	}{
		{"store", s, 100, "[a/1=base a/3=base a/5=base]"},
		{"block", block, 100, "[a/1=base a/2=block a/5=base]"},
		{"tx", tx, 100, "[a/1=base a/2=block a/4=tx a/5=tx a/6=tx]"},
		{"tx stops early", tx, 3, "[a/1=base a/2=block a/4=tx]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := collect(tt.r, tt.limit); got != tt.want {
				t.Fatalf("got %s want %s", got, tt.want)
			}
		})
	}
	tx.Discard()
	if got := collect(block, 100); got != "[a/1=base a/2=block a/5=base]" {
		t.Fatalf("after discard: %s", got)
	}
	tx.Set([]byte("a/9"), []byte("tx"))
	tx.Write()
	if got := collect(block, 100); got != "[a/1=base a/2=block a/5=base a/9=tx]" {
		t.Fatalf("after write: %s", got)
	}
}

// TestCommittedReadableFromOtherGoroutines: logs, metrics and RPC handlers
// read the committed height and app hash outside the ABCI lock while
// blocks commit. Under -race this fails if either is written unsafely, and
// in any mode a reader must never see a height paired with another
// height's app hash.
func TestCommittedReadableFromOtherGoroutines(t *testing.T) {
	db, err := dbm.NewGoLevelDB("state", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	const blocks = 40
	// The app hash of each height, known before any reader can see it.
	want := make([][]byte, blocks+1)
	want[0] = nil
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		var last int64
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = s.AppHash()
			h, hash := s.Committed()
			if h < last || h > blocks {
				errs <- fmt.Errorf("height went from %d to %d", last, h)
				return
			}
			last = h
			if h > 0 && !bytes.Equal(hash, want[h]) {
				errs <- fmt.Errorf("height %d read with app hash %X, want %X", h, hash, want[h])
				return
			}
			if s.Height() < h {
				errs <- fmt.Errorf("Height() below an earlier Committed() height %d", h)
				return
			}
		}
	}()
	for h := int64(1); h <= blocks; h++ {
		c := NewCache(s)
		c.Set(fmt.Appendf(nil, "k/%d", h), []byte("v"))
		want[h] = s.Stage(c, h)
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if h, hash := s.Committed(); h != blocks || !bytes.Equal(hash, want[blocks]) || !bytes.Equal(s.AppHash(), hash) {
		t.Fatalf("committed %d %X, want %d %X", h, hash, blocks, want[blocks])
	}
}
