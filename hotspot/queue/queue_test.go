package queue

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestFIFOAndReopen(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := q.Put([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	it, ok, err := q.Peek()
	if err != nil || !ok || !bytes.Equal(it.Data, []byte{0}) {
		t.Fatalf("peek %v %v %v", it, ok, err)
	}
	if err := q.Remove(it.ID); err != nil {
		t.Fatal(err)
	}
	// A crashed Put leaves a temp file; reopening must ignore and clean it.
	if err := os.WriteFile(filepath.Join(dir, ".junk"+tmpExt), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	q2, err := Open(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	if q2.Len() != 2 {
		t.Fatalf("len after reopen %d, want 2", q2.Len())
	}
	select {
	case <-q2.Ready():
	default:
		t.Fatal("reopened non-empty queue not ready")
	}
	for _, want := range []byte{1, 2} {
		it, ok, err := q2.Peek()
		if err != nil || !ok || it.Data[0] != want {
			t.Fatalf("peek %v %v %v want %d", it, ok, err, want)
		}
		q2.Remove(it.ID)
	}
	if err := q2.Put([]byte{3}); err != nil {
		t.Fatal(err)
	}
	it, _, _ = q2.Peek()
	if it.ID <= 3 {
		t.Fatalf("id %d reused after reopen", it.ID)
	}
	if _, err := os.Stat(filepath.Join(dir, ".junk"+tmpExt)); !os.IsNotExist(err) {
		t.Fatal("temp file not cleaned")
	}
}

func TestBoundDropsOldest(t *testing.T) {
	q, err := Open(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		q.Put([]byte{byte(i)})
	}
	if q.Len() != 3 || q.Dropped() != 2 {
		t.Fatalf("len %d dropped %d", q.Len(), q.Dropped())
	}
	it, _, _ := q.Peek()
	if it.Data[0] != 2 {
		t.Fatalf("oldest kept %d, want 2", it.Data[0])
	}
}

func TestCorruptRecordSkipped(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 10)
	q.Put([]byte("first"))
	q.Put([]byte("second"))
	it, _, _ := q.Peek()
	p := q.path(it.ID)
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 0xff
	os.WriteFile(p, b, 0o600)
	got, ok, err := q.Peek()
	if err != nil || !ok || string(got.Data) != "second" || q.Corrupt() != 1 {
		t.Fatalf("got %q %v %v corrupt=%d", got.Data, ok, err, q.Corrupt())
	}
}

func TestConcurrentPut(t *testing.T) {
	q, _ := Open(t.TempDir(), 1000)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if err := q.Put(fmt.Appendf(nil, "%d-%d", g, i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for {
		it, ok, err := q.Peek()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		seen[string(it.Data)] = true
		q.Remove(it.ID)
	}
	if len(seen) != 40 {
		t.Fatalf("got %d distinct records, want 40", len(seen))
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte("HXQ1\x00\x00\x00\x01\x00\x00\x00\x00x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, ok := decodeRecord(b)
		if ok && len(data) != len(b)-headerLen {
			t.Fatal("length mismatch accepted")
		}
	})
}

// BenchmarkPutRemove is the durable cost of one report: write, fsync,
// rename and directory fsync, then removal with a directory fsync.
func BenchmarkPutRemove(b *testing.B) {
	q, err := Open(b.TempDir(), 1000)
	if err != nil {
		b.Fatal(err)
	}
	rec := make([]byte, 200)
	for b.Loop() {
		if err := q.Put(rec); err != nil {
			b.Fatal(err)
		}
		it, _, _ := q.Peek()
		if err := q.Remove(it.ID); err != nil {
			b.Fatal(err)
		}
	}
}
