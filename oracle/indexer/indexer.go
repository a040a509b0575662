package indexer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hexproof/hexproof/oracle/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
)

// Config tunes the indexer.
type Config struct {
	// Batch is the most blocks written in one database transaction.
	Batch int
	// Fetchers is how many blocks are fetched from the chain at once.
	Fetchers int
	// Poll is how long to wait when caught up.
	Poll time.Duration
	// RetryBackoff is how long to wait after an error (chain or database).
	RetryBackoff time.Duration
}

// Indexer copies committed blocks into PostgreSQL.
type Indexer struct {
	cfg  Config
	log  *slog.Logger
	pool *pgxpool.Pool
	src  Source
	// onBatch, when set, is called after each committed batch (tests).
	onBatch func(height int64)
}

// New returns an indexer; nothing runs until Run or Step.
func New(cfg Config, logger *slog.Logger, pool *pgxpool.Pool, src Source) *Indexer {
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Fetchers <= 0 {
		cfg.Fetchers = 4
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = time.Second
	}
	return &Indexer{cfg: cfg, log: logger, pool: pool, src: src}
}

// ErrChainMismatch is returned when the database was indexed from another chain.
var ErrChainMismatch = errors.New("database holds another chain")

// Run indexes until ctx ends. Chain and database errors are logged and
// retried; only a chain id mismatch stops it.
func (ix *Indexer) Run(ctx context.Context) error {
	for {
		n, err := ix.Step(ctx)
		wait := time.Duration(0)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrChainMismatch):
			return err
		case err != nil:
			ix.log.Warn("indexing failed; retrying", "err", err, "backoff", ix.cfg.RetryBackoff)
			wait = ix.cfg.RetryBackoff
		case n == 0:
			wait = ix.cfg.Poll
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
	}
}

// Stats says what one Step indexed.
type Stats struct {
	Blocks   int
	Receipts int
	Height   int64
}

// Step indexes the next batch of blocks (at most Config.Batch) and reports
// how many blocks it wrote; 0 means caught up.
func (ix *Indexer) Step(ctx context.Context) (int, error) {
	st, err := ix.StepStats(ctx)
	return st.Blocks, err
}

// StepStats is Step with details.
func (ix *Indexer) StepStats(ctx context.Context) (Stats, error) {
	cursor, chainID, err := store.Cursor(ctx, ix.pool)
	if err != nil {
		return Stats{}, err
	}
	latest, err := ix.src.LatestHeight(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("chain latest height: %w", err)
	}
	if latest <= cursor {
		return Stats{Height: cursor}, nil
	}
	to := min(latest, cursor+int64(ix.cfg.Batch))
	blocks := make([]*rows, to-cursor)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ix.cfg.Fetchers)
	for h := cursor + 1; h <= to; h++ {
		g.Go(func() error {
			b, err := ix.src.Block(gctx, h)
			if err != nil {
				return fmt.Errorf("fetch block %d: %w", h, err)
			}
			if b.Height != h {
				return fmt.Errorf("fetch block %d: got block %d", h, b.Height)
			}
			r, err := decode(b)
			if err != nil {
				return err
			}
			blocks[h-cursor-1] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Stats{}, err
	}
	if chainID != "" && blocks[0].chainID != chainID {
		return Stats{}, fmt.Errorf("%w: it was indexed from chain %q but the node serves %q; use another database or schema", ErrChainMismatch, chainID, blocks[0].chainID)
	}
	st := Stats{Blocks: len(blocks), Height: to}
	for _, b := range blocks {
		st.Receipts += b.receipts
	}
	if err := ix.write(ctx, cursor, blocks); err != nil {
		return Stats{}, err
	}
	ix.log.Debug("indexed", "from", cursor+1, "to", to, "receipts", st.Receipts)
	if ix.onBatch != nil {
		ix.onBatch(to)
	}
	return st, nil
}

var copyTables = []struct {
	name string
	cols []string
	get  func(*rows) [][]any
}{
	{"blocks", []string{"height", "hash", "time", "num_txs"}, func(r *rows) [][]any { return r.blocks }},
	{"txs", []string{"height", "idx", "hash", "signer", "nonce", "fee", "kind", "code", "log"}, func(r *rows) [][]any { return r.txs }},
	{"events", []string{"height", "tx_idx", "idx", "type", "attrs"}, func(r *rows) [][]any { return r.events }},
	{"hotspot_locations", []string{"hotspot", "height", "tx_idx", "location", "gain_ddbi", "elevation_m", "region"}, func(r *rows) [][]any { return r.locations }},
	{"beacons", []string{"height", "tx_idx", "hotspot", "submitter", "entropy_height", "payload", "frequency_hz", "datarate", "tx_power_dbm", "transmitted_at", "valid", "reason", "witnesses"}, func(r *rows) [][]any { return r.beacons }},
	{"witnesses", []string{"height", "tx_idx", "idx", "beaconer", "hotspot", "rssi_dbm", "snr_cb", "frequency_hz", "received_at", "valid", "reason"}, func(r *rows) [][]any { return r.witnesses }},
	{"rewards", []string{"epoch", "height", "account", "hotspot", "kind", "amount"}, func(r *rows) [][]any { return r.rewards }},
	{"dc_burns", []string{"height", "tx_idx", "signer", "amount", "dc", "account", "oui"}, func(r *rows) [][]any { return r.burns }},
	{"voucher_claims", []string{"height", "tx_idx", "claimer", "oui", "router", "hotspot", "epoch", "dc", "packets", "paid_dc"}, func(r *rows) [][]any { return r.claims }},
}

// write stores blocks (cursor+1 ...) and moves the cursor in one transaction.
func (ix *Indexer) write(ctx context.Context, cursor int64, blocks []*rows) error {
	tx, err := ix.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background())

	// Claim the cursor first: a second indexer on the same database waits
	// here and then sees the cursor moved, instead of writing duplicates.
	to := blocks[len(blocks)-1].height
	tag, err := tx.Exec(ctx, `INSERT INTO indexer_cursor (id, height, chain_id) VALUES (1, $1, $3)
		ON CONFLICT (id) DO UPDATE SET height = $1 WHERE indexer_cursor.height = $2`, to, cursor, blocks[0].chainID)
	if err != nil {
		return fmt.Errorf("move cursor: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("cursor moved under us (another indexer on this database?)")
	}
	for _, t := range copyTables {
		var all [][]any
		for _, b := range blocks {
			all = append(all, t.get(b)...)
		}
		if len(all) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(all)); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	batch := &pgx.Batch{}
	for _, b := range blocks {
		for _, s := range b.state {
			batch.Queue(s.sql, s.args...)
		}
	}
	if batch.Len() > 0 {
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("apply state: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
