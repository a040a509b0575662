package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hexproof/hexproof/internal/testsvc"
)

func TestOpenMigratesIdempotently(t *testing.T) {
	url, _ := testsvc.Postgres(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		pool, err := Open(ctx, url)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		h, chain, err := Cursor(ctx, pool)
		if err != nil || h != 0 || chain != "" {
			t.Fatalf("fresh cursor = %d %q %v", h, chain, err)
		}
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM hotspots`).Scan(&n); err != nil {
			t.Fatalf("hotspots table missing after migration: %v", err)
		}
		pool.Close()
	}
}

func TestOpenUnreachable(t *testing.T) {
	_, err := Open(context.Background(), "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err %v, want ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error leaks the password: %v", err)
	}
	if _, err := Open(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "--database-url") {
		t.Fatalf("empty URL: %v, want a hint at --database-url", err)
	}
}
