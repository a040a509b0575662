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
	// OnCommit, when set, is called after each committed batch (metrics,
	// benchmarks).
	OnCommit func(Stats)
	// OnLatest, when set, is called each time the indexer reads the chain's
	// latest height, with that height and the last indexed one (metrics:
	// lag behind the chain, also while caught up).
	OnLatest func(chain, indexed int64)
}

// Indexer copies committed blocks into PostgreSQL.
type Indexer struct {
	cfg   Config
	log   *slog.Logger
	pool  *pgxpool.Pool
	src   Source
	en    Enricher
	addrs addrCache
}

// New returns an indexer reading blocks from src and verdicts, rewards and
// OUIs from en (nil: blocks only); nothing runs until Run or Step.
func New(cfg Config, logger *slog.Logger, pool *pgxpool.Pool, src Source, en Enricher) *Indexer {
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
	return &Indexer{cfg: cfg, log: logger, pool: pool, src: src, en: en}
}

// ErrChainMismatch is returned when the database was indexed from another chain.
var ErrChainMismatch = errors.New("database holds another chain")

// Run indexes until ctx ends. Chain and database errors are logged and
// retried; only a chain id mismatch stops it. While one batch is written,
// the next one is fetched and decoded.
func (ix *Indexer) Run(ctx context.Context) error {
	type prefetched struct {
		from   int64
		blocks []*rows
		err    error
	}
	var pre chan prefetched
	discard := func() {
		if pre != nil {
			<-pre
			pre = nil
		}
	}
	defer discard()
	for {
		st, err := func() (Stats, error) {
			cursor, chainID, err := store.Cursor(ctx, ix.pool)
			if err != nil {
				return Stats{}, err
			}
			latest, err := ix.latest(ctx, cursor)
			if err != nil {
				return Stats{}, err
			}
			if latest <= cursor {
				discard()
				return Stats{Height: cursor}, nil
			}
			var blocks []*rows
			if pre != nil {
				p := <-pre
				pre = nil
				if p.err == nil && p.from == cursor+1 {
					blocks = p.blocks
				}
			}
			if blocks == nil {
				if blocks, err = ix.fetch(ctx, cursor, latest); err != nil {
					return Stats{}, err
				}
			}
			if to := cursor + int64(len(blocks)); latest > to {
				ch := make(chan prefetched, 1)
				pre = ch
				go func() {
					b, err := ix.fetch(ctx, to, latest)
					ch <- prefetched{from: to + 1, blocks: b, err: err}
				}()
			}
			return ix.commit(ctx, cursor, chainID, blocks)
		}()
		wait := time.Duration(0)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrChainMismatch):
			return err
		case err != nil:
			discard()
			ix.log.Warn("indexing failed; retrying", "err", err, "backoff", ix.cfg.RetryBackoff)
			wait = ix.cfg.RetryBackoff
		case st.Blocks == 0:
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
	// Rows is how many rows the batch wrote per table (tables with none
	// are absent).
	Rows map[string]int
}

// latest reads the chain's latest height and reports it with cursor to
// OnLatest.
func (ix *Indexer) latest(ctx context.Context, cursor int64) (int64, error) {
	latest, err := ix.src.LatestHeight(ctx)
	if err != nil {
		return 0, fmt.Errorf("chain latest height: %w", err)
	}
	if ix.cfg.OnLatest != nil {
		ix.cfg.OnLatest(latest, cursor)
	}
	return latest, nil
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
	latest, err := ix.latest(ctx, cursor)
	if err != nil {
		return Stats{}, err
	}
	if latest <= cursor {
		return Stats{Height: cursor}, nil
	}
	blocks, err := ix.fetch(ctx, cursor, latest)
	if err != nil {
		return Stats{}, err
	}
	return ix.commit(ctx, cursor, chainID, blocks)
}

// fetch reads, decodes and enriches the blocks after cursor (at most Batch).
func (ix *Indexer) fetch(ctx context.Context, cursor, latest int64) ([]*rows, error) {
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
			r, err := decode(b, &ix.addrs)
			if err != nil {
				return err
			}
			if err := r.enrich(gctx, ix.en); err != nil {
				return err
			}
			blocks[h-cursor-1] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return blocks, nil
}

// commit writes fetched blocks after cursor with the epoch rewards and OUIs
// they call for.
func (ix *Indexer) commit(ctx context.Context, cursor int64, chainID string, blocks []*rows) (Stats, error) {
	if chainID != "" && blocks[0].chainID != chainID {
		return Stats{}, fmt.Errorf("%w: it was indexed from chain %q but the node serves %q; use another database or schema", ErrChainMismatch, chainID, blocks[0].chainID)
	}
	ouis, err := ix.enrichBatch(ctx, blocks)
	if err != nil {
		return Stats{}, err
	}
	to := blocks[len(blocks)-1].height
	st := Stats{Blocks: len(blocks), Height: to}
	for _, b := range blocks {
		st.Receipts += len(b.receipts)
	}
	if st.Rows, err = ix.write(ctx, cursor, blocks, ouis); err != nil {
		return Stats{}, err
	}
	ix.log.Debug("indexed", "from", cursor+1, "to", to, "receipts", st.Receipts)
	if ix.cfg.OnCommit != nil {
		ix.cfg.OnCommit(st)
	}
	return st, nil
}

// enrichBatch adds epoch rewards to the blocks that end an epoch and reads
// the OUIs when a block changed one. The chain lists every hotspot reward of
// an ended epoch in pages, so rewards cost a few queries per epoch whatever
// the number of hotspots that took part.
func (ix *Indexer) enrichBatch(ctx context.Context, blocks []*rows) ([]OUI, error) {
	if ix.en == nil {
		return nil, nil
	}
	touched := false
	for _, b := range blocks {
		touched = touched || b.ouiTouched
		epoch, ended, err := ix.en.EpochEndedAt(ctx, b.height)
		if err != nil {
			return nil, fmt.Errorf("epoch at %d: %w", b.height, err)
		}
		if !ended {
			continue
		}
		sum, err := ix.en.Epoch(ctx, epoch)
		if err != nil {
			return nil, fmt.Errorf("rewards of epoch %d: %w", epoch, err)
		}
		b.epoch = sum
	}
	if !touched {
		return nil, nil
	}
	ouis, err := ix.en.OUIs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read OUIs: %w", err)
	}
	return ouis, nil
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
	{"beacons", []string{"height", "tx_idx", "hotspot", "submitter", "entropy_height", "payload", "frequency_hz", "datarate", "tx_power_dbm", "transmitted_at", "valid", "reason", "witnesses"},
		func(r *rows) [][]any { b, _ := r.receiptRows(); return b }},
	{"witnesses", []string{"height", "tx_idx", "idx", "beaconer", "hotspot", "rssi_dbm", "snr_cb", "frequency_hz", "received_at", "valid", "reason", "selected"},
		func(r *rows) [][]any { _, w := r.receiptRows(); return w }},
	{"epochs", []string{"epoch", "start_height", "end_height", "emission", "summary"},
		func(r *rows) [][]any { e, _, _ := r.epochRows(); return e }},
	{"hotspot_rewards", []string{"epoch", "hotspot", "owner", "total", "detail"},
		func(r *rows) [][]any { _, h, _ := r.epochRows(); return h }},
	{"account_rewards", []string{"epoch", "account", "kind", "amount"}, func(r *rows) [][]any { _, _, a := r.epochRows(); return a }},
	{"dc_burns", []string{"height", "tx_idx", "signer", "amount", "dc", "account", "oui"}, func(r *rows) [][]any { return r.burns }},
	{"voucher_claims", []string{"height", "tx_idx", "claimer", "oui", "router", "hotspot", "epoch", "dc", "packets"}, func(r *rows) [][]any { return r.claims }},
}

// write stores blocks (cursor+1 ...) and moves the cursor in one transaction.
func (ix *Indexer) write(ctx context.Context, cursor int64, blocks []*rows, ouis []OUI) (map[string]int, error) {
	tx, err := ix.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }() // no-op after Commit
	// The cursor commits with the rows, so a commit lost in a PostgreSQL
	// crash loses both and the blocks are indexed again: no gap, no
	// duplicate, without waiting for each commit's WAL flush.
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return nil, fmt.Errorf("set synchronous_commit: %w", err)
	}

	// Claim the cursor first: a second indexer on the same database waits
	// here and then sees the cursor moved, instead of writing duplicates.
	to := blocks[len(blocks)-1].height
	tag, err := tx.Exec(ctx, `INSERT INTO indexer_cursor (id, height, chain_id) VALUES (1, $1, $3)
		ON CONFLICT (id) DO UPDATE SET height = $1 WHERE indexer_cursor.height = $2`, to, cursor, blocks[0].chainID)
	if err != nil {
		return nil, fmt.Errorf("move cursor: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return nil, fmt.Errorf("cursor moved under us (another indexer on this database?)")
	}
	written := map[string]int{}
	for _, t := range copyTables {
		var all [][]any
		for _, b := range blocks {
			all = append(all, t.get(b)...)
		}
		if len(all) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(all)); err != nil {
			return nil, fmt.Errorf("copy %s: %w", t.name, err)
		}
		written[t.name] = len(all)
	}
	if err := applyHotspots(ctx, tx, blocks); err != nil {
		return nil, err
	}
	batch := &pgx.Batch{}
	for _, o := range ouis {
		batch.Queue(`INSERT INTO ouis (oui, owner, payer, net_id, config, dc_escrow, created_height, updated_height)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (oui) DO UPDATE SET owner = $2, payer = $3, net_id = $4, config = $5, dc_escrow = $6, updated_height = $8`,
			int64(o.OUI), o.Owner, o.Payer, int64(o.NetID), o.ConfigJSON, int64(o.EscrowDC), o.Created, o.Updated)
	}
	if batch.Len() > 0 {
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return nil, fmt.Errorf("apply state: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if len(ouis) > 0 {
		written["ouis"] = len(ouis)
	}
	return written, nil
}

// applyHotspots applies the batch's hotspot changes with one statement per
// kind: adds first (an assert or transfer always follows its add on chain),
// then the last assertion and the last transfer of each hotspot.
func applyHotspots(ctx context.Context, tx pgx.Tx, blocks []*rows) error {
	var (
		addAddr, addOwner, addMode []string
		addHeight                  []int64
	)
	asserts := map[string]hotspotAssert{}
	transfers := map[string]hotspotTransfer{}
	for _, b := range blocks {
		for _, a := range b.hsAdds {
			addAddr, addOwner, addMode, addHeight = append(addAddr, a.address), append(addOwner, a.owner), append(addMode, a.mode), append(addHeight, a.height)
		}
		for _, a := range b.hsAsserts {
			asserts[a.address] = a
		}
		for _, t := range b.hsTransfers {
			transfers[t.address] = t
		}
	}
	if len(addAddr) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO hotspots (address, owner, mode, added_height, updated_height)
			SELECT a, o, m, h, h FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS t(a, o, m, h)
			ON CONFLICT (address) DO NOTHING`, addAddr, addOwner, addMode, addHeight); err != nil {
			return fmt.Errorf("add hotspots: %w", err)
		}
	}
	if len(asserts) > 0 {
		var (
			addr, region []string
			loc, height  []int64
			gain, elev   []int32
		)
		for _, a := range asserts {
			addr, region, loc, height, gain, elev = append(addr, a.address), append(region, a.region), append(loc, a.location), append(height, a.height), append(gain, a.gain), append(elev, a.elevation)
		}
		if _, err := tx.Exec(ctx, `UPDATE hotspots h SET location = t.l, gain_ddbi = t.g, elevation_m = t.e, region = t.r,
				updated_height = greatest(h.updated_height, t.h)
			FROM unnest($1::text[], $2::bigint[], $3::int[], $4::int[], $5::text[], $6::bigint[]) AS t(a, l, g, e, r, h)
			WHERE h.address = t.a`, addr, loc, gain, elev, region, height); err != nil {
			return fmt.Errorf("assert hotspot locations: %w", err)
		}
	}
	if len(transfers) > 0 {
		var addr, owner []string
		var height []int64
		for _, t := range transfers {
			addr, owner, height = append(addr, t.address), append(owner, t.owner), append(height, t.height)
		}
		if _, err := tx.Exec(ctx, `UPDATE hotspots h SET owner = t.o, updated_height = greatest(h.updated_height, t.h)
			FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(a, o, h) WHERE h.address = t.a`, addr, owner, height); err != nil {
			return fmt.Errorf("transfer hotspots: %w", err)
		}
	}
	return nil
}
