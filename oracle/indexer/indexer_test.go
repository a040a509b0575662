package indexer_test

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/oracle/chainsim"
	"github.com/hexproof/hexproof/oracle/indexer"
	"github.com/hexproof/hexproof/oracle/store"
	"github.com/jackc/pgx/v5/pgxpool"
)

func smallNet(t testing.TB) *chainsim.Network {
	t.Helper()
	n, err := chainsim.New(chainsim.Config{Seed: 1, Hotspots: 24, TxsPerBlock: 7, PocBlocks: 60, ReceiptsPerBlock: 3, Witnesses: 5, EpochBlocks: 10})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func openStore(t testing.TB, appName string) (*pgxpool.Pool, string) {
	t.Helper()
	raw, _ := testsvc.Postgres(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", appName)
	u.RawQuery = q.Encode()
	pool, err := store.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, raw
}

func count(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// checkMatchesChain compares the indexed rows with the generated chain: every
// height once, every tx once, and the derived tables.
func checkMatchesChain(t *testing.T, pool *pgxpool.Pool, n *chainsim.Network) {
	t.Helper()
	c := n.Counts
	h, chain, err := store.Cursor(context.Background(), pool)
	if err != nil || h != int64(c.Blocks) || chain != "hexproof-sim" {
		t.Fatalf("cursor %d %q %v, want %d hexproof-sim", h, chain, err, c.Blocks)
	}
	// No gap, no duplicate: heights are exactly 1..N.
	if got := count(t, pool, `SELECT count(DISTINCT height) FROM blocks WHERE height BETWEEN 1 AND $1`, c.Blocks); got != int64(c.Blocks) {
		t.Fatalf("distinct heights %d, want %d", got, c.Blocks)
	}
	if got := count(t, pool, `SELECT count(*) FROM blocks`); got != int64(c.Blocks) {
		t.Fatalf("blocks %d, want %d", got, c.Blocks)
	}
	// Every block's tx count equals the chain's.
	for _, b := range n.Blocks() {
		if got := count(t, pool, `SELECT count(*) FROM txs WHERE height = $1`, b.Height); got != int64(len(b.Txs)) {
			t.Fatalf("height %d: %d txs indexed, chain has %d", b.Height, got, len(b.Txs))
		}
	}
	tests := []struct {
		name string
		sql  string
		want int
	}{
		{"txs", `SELECT count(*) FROM txs`, c.Txs},
		{"beacons", `SELECT count(*) FROM beacons`, c.Receipts},
		{"witnesses", `SELECT count(*) FROM witnesses`, c.Witnesses},
		{"invalid witnesses with reason", `SELECT count(*) FROM witnesses WHERE NOT valid AND reason = 'witness_too_close'`, c.InvalidWitnesses},
		{"hotspots", `SELECT count(*) FROM hotspots WHERE location IS NOT NULL AND region = 'EU868' AND mode = 'full'`, c.Hotspots},
		{"location history", `SELECT count(*) FROM hotspot_locations`, c.Locations},
		{"rewards", `SELECT count(*) FROM hotspot_rewards`, c.Rewards},
		{"rejected tx kept with its code", `SELECT count(*) FROM txs WHERE code = 5 AND kind = 'transfer' AND log = 'insufficient funds'`, 1},
		{"oui escrow", `SELECT dc_escrow FROM ouis WHERE oui = 1`, 100000 - 250},
		{"voucher claims", `SELECT count(*) FROM voucher_claims WHERE dc = 250`, 1},
		{"dc burns", `SELECT count(*) FROM dc_burns WHERE dc = 100000 AND oui = 1`, 1},
		{"epochs", `SELECT count(*) FROM epochs`, len(n.RewardsByEpoch)},
		{"account rewards", `SELECT count(*) FROM account_rewards WHERE kind = 'validator'`, len(n.RewardsByEpoch)},
		{"verdicts from queries and events", `SELECT count(*) FROM beacons WHERE valid AND reason = ''`, c.Receipts},
	}
	for _, tc := range tests {
		if got := count(t, pool, tc.sql); got != int64(tc.want) {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	for _, hs := range n.Hotspots {
		var owner string
		var loc int64
		if err := pool.QueryRow(context.Background(), `SELECT owner, location FROM hotspots WHERE address = $1`, hs.Key.Address().String()).Scan(&owner, &loc); err != nil {
			t.Fatal(err)
		}
		if owner != hs.Owner.Address().String() || uint64(loc) != uint64(hs.Location) {
			t.Fatalf("hotspot %s: owner %s location %x, chain says %s %s", hs.Key.Address(), owner, loc, hs.Owner.Address(), hs.Location)
		}
	}
	for epoch, byHotspot := range n.RewardsByEpoch {
		for hs, amt := range byHotspot {
			if got := count(t, pool, `SELECT total FROM hotspot_rewards WHERE epoch = $1 AND hotspot = $2`, epoch, hs); got != amt {
				t.Fatalf("epoch %d hotspot %s: reward %d, want %d", epoch, hs, got, amt)
			}
		}
	}
}

func TestIndexMatchesChain(t *testing.T) {
	n := smallNet(t)
	pool, _ := openStore(t, "ix-plain")
	ix := indexer.New(indexer.Config{Batch: 16}, logging.Discard(), pool, n, n)
	ctx := context.Background()
	// The chain grows in two steps.
	n.SetLatest(20)
	for {
		k, err := ix.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
	}
	if h, _, _ := store.Cursor(ctx, pool); h != 20 {
		t.Fatalf("cursor %d after indexing to 20", h)
	}
	n.SetLatest(1 << 30)
	for {
		k, err := ix.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
	}
	checkMatchesChain(t, pool, n)
}

// A killed database connection in the middle of indexing (what a PostgreSQL
// restart does to the indexer) must end with rows equal to the chain's.
func TestKilledConnectionResumesWithoutGapOrDuplicate(t *testing.T) {
	n := smallNet(t)
	app := "ix-kill-" + time.Now().Format("150405.000000")
	pool, raw := openStore(t, app)
	admin, err := pgxpool.New(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	total := int64(n.Counts.Blocks)
	// The second half of the chain is held back until a connection was
	// killed, so a fast machine can't finish indexing before the first kill.
	gate := make(chan struct{})
	var openGate sync.Once
	src := gatedSource{Source: n, after: total / 2, gate: gate}
	ix := indexer.New(indexer.Config{Batch: 2, Fetchers: 2, RetryBackoff: 20 * time.Millisecond, Poll: 10 * time.Millisecond}, logging.Discard(), pool, src, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()

	var killed atomic.Int64
	last := int64(-1)
	for i := 0; ; i++ {
		h, _, _ := store.Cursor(ctx, admin)
		if h >= total {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("indexing did not finish: cursor %d of %d", h, total)
		}
		if h == last && killed.Load() > 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		// The indexer made progress: let it start its next batch, then kill
		// its connections (mid-transaction more often than not).
		last = h
		time.Sleep(time.Duration(i%4) * time.Millisecond)
		var k int64
		err = admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1`, app).Scan(&k)
		if err != nil {
			t.Fatal(err)
		}
		if killed.Add(k) > 0 {
			openGate.Do(func() { close(gate) })
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if killed.Load() == 0 {
		t.Fatal("no indexer connection was killed; the test proved nothing")
	}
	t.Logf("killed %d indexer connections while indexing %d blocks", killed.Load(), total)
	// Check through a fresh pool: the indexer's may still hold a killed idle connection.
	checkMatchesChain(t, admin, n)
}

func TestRefusesAnotherChain(t *testing.T) {
	n := smallNet(t)
	pool, _ := openStore(t, "ix-other")
	ctx := context.Background()
	n.SetLatest(3)
	if _, err := indexer.New(indexer.Config{}, logging.Discard(), pool, n, n).Step(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := chainsim.New(chainsim.Config{ChainID: "other-chain", Seed: 2, Hotspots: 3, PocBlocks: 5, ReceiptsPerBlock: 1, Witnesses: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = indexer.New(indexer.Config{}, logging.Discard(), pool, other, other).Step(ctx)
	if err == nil {
		t.Fatal("indexing another chain into the same database must be refused")
	}
}

// gatedSource holds back blocks above after until gate is closed.
type gatedSource struct {
	indexer.Source
	after int64
	gate  chan struct{}
}

func (g gatedSource) Block(ctx context.Context, height int64) (*indexer.Block, error) {
	if height > g.after {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Source.Block(ctx, height)
}
