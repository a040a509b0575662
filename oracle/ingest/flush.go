package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Beacon states in the queue.
const (
	statePending   = "pending"
	stateSubmitted = "submitted"
	stateDone      = "done"
	stateFailed    = "failed"
	stateExpired   = "expired"
)

// flushBatch bounds the beacons submitted per Flush.
const flushBatch = 200

// Flush confirms submitted receipts, expires beacons whose entropy ran out,
// submits the receipts of beacons whose window closed (or whose entropy is
// about to expire) and deletes old finished work. Run calls it every Tick.
func (s *Service) Flush(ctx context.Context) error {
	head, _, err := s.chain.Head(ctx)
	if err != nil {
		return fmt.Errorf("chain head: %w", err)
	}
	validity, err := s.chain.EntropyValidityBlocks(ctx)
	if err != nil {
		return fmt.Errorf("entropy validity: %w", err)
	}
	now := s.now()
	if err := s.confirm(ctx, now); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE ingest_beacons SET state = $1, done_at = $2, last_error = 'entropy expired before the receipt landed'
		WHERE state = $3 AND entropy_height + $4 <= $5`, stateExpired, now, statePending, int64(validity), head); err != nil {
		return fmt.Errorf("expire beacons: %w", err)
	}
	margin := max(int64(validity)/4, 2)
	rs, err := s.pool.Query(ctx, `SELECT payload, hotspot, report, attempts FROM ingest_beacons
		WHERE state = $1 AND (received_at <= $2 OR entropy_height + $3 <= $4)
		ORDER BY received_at LIMIT $5`, statePending, now.Add(-s.cfg.Window), int64(validity)-margin, head, flushBatch)
	if err != nil {
		return fmt.Errorf("ready beacons: %w", err)
	}
	type ready struct {
		payload, hotspot, report []byte
		attempts                 int
	}
	var todo []ready
	for rs.Next() {
		var r ready
		if err := rs.Scan(&r.payload, &r.hotspot, &r.report, &r.attempts); err != nil {
			rs.Close()
			return fmt.Errorf("ready beacons: %w", err)
		}
		todo = append(todo, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("ready beacons: %w", err)
	}
	if len(todo) > 0 {
		payloads := make([][]byte, len(todo))
		for i, r := range todo {
			payloads[i] = r.payload
		}
		witnesses, err := s.witnesses(ctx, payloads)
		if err != nil {
			return err
		}
		// Outcomes are recorded together at the end: if the oracle dies in
		// between, the receipts are submitted again and the chain answers
		// "already recorded", which counts as done.
		batch := &pgx.Batch{}
		for _, r := range todo {
			rc, err := s.buildReceipt(r.hotspot, r.report, witnesses[string(r.payload)])
			if err != nil {
				return err
			}
			s.submit(ctx, batch, r.payload, rc, r.attempts, now)
		}
		if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, batch).Close() }); err != nil {
			return fmt.Errorf("record submissions: %w", err)
		}
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM ingest_beacons WHERE state IN ($1, $2, $3) AND done_at < $4`,
		stateDone, stateFailed, stateExpired, now.Add(-s.cfg.Retention)); err != nil {
		return fmt.Errorf("clean beacons: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM ingest_witnesses w WHERE received_at < $1
		AND NOT EXISTS (SELECT 1 FROM ingest_beacons b WHERE b.payload = w.payload AND b.state IN ($2, $3))`,
		now.Add(-s.cfg.Retention), statePending, stateSubmitted); err != nil {
		return fmt.Errorf("clean witnesses: %w", err)
	}
	return nil
}

// Receipt builds the receipt of the queued beacon with payload: the beacon
// and up to MaxWitnesses witness reports in arrival order.
func (s *Service) Receipt(ctx context.Context, payload []byte) (*hexproofv1.PocReceipt, error) {
	var beaconer, report []byte
	if err := s.pool.QueryRow(ctx, `SELECT hotspot, report FROM ingest_beacons WHERE payload = $1`, payload).Scan(&beaconer, &report); err != nil {
		return nil, fmt.Errorf("read beacon: %w", err)
	}
	ws, err := s.witnesses(ctx, [][]byte{payload})
	if err != nil {
		return nil, err
	}
	return s.buildReceipt(beaconer, report, ws[string(payload)])
}

type queuedWitness struct {
	hotspot, report []byte
}

// witnesses reads the queued witness reports of the given beacons, each
// list in arrival order.
func (s *Service) witnesses(ctx context.Context, payloads [][]byte) (map[string][]queuedWitness, error) {
	rs, err := s.pool.Query(ctx, `SELECT payload, hotspot, report FROM ingest_witnesses WHERE payload = ANY($1)
		ORDER BY payload, received_at, hotspot`, payloads)
	if err != nil {
		return nil, fmt.Errorf("read witnesses: %w", err)
	}
	defer rs.Close()
	out := map[string][]queuedWitness{}
	for rs.Next() {
		var p []byte
		var w queuedWitness
		if err := rs.Scan(&p, &w.hotspot, &w.report); err != nil {
			return nil, fmt.Errorf("read witnesses: %w", err)
		}
		out[string(p)] = append(out[string(p)], w)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read witnesses: %w", err)
	}
	return out, nil
}

// buildReceipt is the beacon with up to MaxWitnesses of its witnesses (never
// the beaconer itself).
func (s *Service) buildReceipt(beaconer, report []byte, ws []queuedWitness) (*hexproofv1.PocReceipt, error) {
	var bc hexproofv1.BeaconReport
	if err := proto.Unmarshal(report, &bc); err != nil {
		return nil, fmt.Errorf("decode queued beacon: %w", err)
	}
	rc := &hexproofv1.PocReceipt{Beacon: &bc}
	for _, q := range ws {
		if len(rc.Witnesses) == s.cfg.MaxWitnesses {
			break
		}
		if string(q.hotspot) == string(beaconer) {
			continue
		}
		var w hexproofv1.WitnessReport
		if err := proto.Unmarshal(q.report, &w); err != nil {
			return nil, fmt.Errorf("decode queued witness: %w", err)
		}
		rc.Witnesses = append(rc.Witnesses, &w)
	}
	return rc, nil
}

// submit sends one receipt and queues the update of its beacon's state.
func (s *Service) submit(ctx context.Context, batch *pgx.Batch, payload []byte, rc *hexproofv1.PocReceipt, attempts int, now time.Time) {
	sub, err := s.chain.Submit(ctx, rc)
	switch {
	case err != nil:
		attempts++
		state := statePending
		if attempts >= s.cfg.MaxAttempts || !errors.Is(err, ErrTransient) {
			state = stateFailed
		}
		s.log.Warn("submit receipt", "beacon", fmt.Sprintf("%x", payload[:8]), "attempts", attempts, "err", err)
		s.cfg.Observer.Receipt(ReceiptError)
		batch.Queue(`UPDATE ingest_beacons SET attempts = $2, last_error = $3, state = $4,
			done_at = CASE WHEN $4 = 'pending' THEN NULL ELSE $5::timestamptz END WHERE payload = $1`,
			payload, attempts, err.Error(), state, now)
	case sub.Outcome == Accepted:
		batch.Queue(`UPDATE ingest_beacons SET state = $2, tx_hash = $3, submitted_at = $4, attempts = attempts + 1 WHERE payload = $1`,
			payload, stateSubmitted, sub.TxHash, now)
		s.log.Debug("receipt submitted", "tx", sub.TxHash, "witnesses", len(rc.Witnesses))
		s.cfg.Observer.Receipt(ReceiptSubmitted)
	case sub.Outcome == Duplicate:
		batch.Queue(`UPDATE ingest_beacons SET state = $2, tx_hash = $3, last_error = $4, done_at = $5 WHERE payload = $1`,
			payload, stateDone, sub.TxHash, "already recorded: "+sub.Log, now)
		s.cfg.Observer.Receipt(ReceiptDuplicate)
	default:
		batch.Queue(`UPDATE ingest_beacons SET state = $2, tx_hash = $3, last_error = $4, done_at = $5 WHERE payload = $1`,
			payload, stateFailed, sub.TxHash, "rejected: "+sub.Log, now)
		s.log.Warn("receipt rejected by the chain", "tx", sub.TxHash, "log", sub.Log)
		s.cfg.Observer.Receipt(ReceiptRejected)
	}
}

// confirm follows submitted receipts until the chain committed them.
func (s *Service) confirm(ctx context.Context, now time.Time) error {
	rs, err := s.pool.Query(ctx, `SELECT payload, tx_hash, submitted_at FROM ingest_beacons WHERE state = $1 ORDER BY submitted_at LIMIT $2`, stateSubmitted, flushBatch)
	if err != nil {
		return fmt.Errorf("submitted beacons: %w", err)
	}
	type sub struct {
		payload []byte
		hash    string
		at      time.Time
	}
	var subs []sub
	for rs.Next() {
		var x sub
		if err := rs.Scan(&x.payload, &x.hash, &x.at); err != nil {
			rs.Close()
			return fmt.Errorf("submitted beacons: %w", err)
		}
		subs = append(subs, x)
	}
	rs.Close()
	batch := &pgx.Batch{}
	for _, x := range subs {
		found, outcome, log, err := s.chain.Included(ctx, x.hash)
		if err != nil {
			s.log.Warn("look up receipt tx", "tx", x.hash, "err", err)
			continue
		}
		switch {
		case !found && now.Sub(x.at) > s.cfg.ResubmitAfter:
			batch.Queue(`UPDATE ingest_beacons SET state = $2, last_error = 'not committed in time; resubmitting' WHERE payload = $1`, x.payload, statePending)
		case !found:
		case outcome == Accepted:
			batch.Queue(`UPDATE ingest_beacons SET state = $2, done_at = $3 WHERE payload = $1`, x.payload, stateDone, now)
			s.cfg.Observer.Receipt(ReceiptCommitted)
		case outcome == Duplicate:
			batch.Queue(`UPDATE ingest_beacons SET state = $2, done_at = $3, last_error = $4 WHERE payload = $1`, x.payload, stateDone, now, "already recorded: "+log)
			s.cfg.Observer.Receipt(ReceiptDuplicate)
		default:
			batch.Queue(`UPDATE ingest_beacons SET state = $2, done_at = $3, last_error = $4 WHERE payload = $1`, x.payload, stateFailed, now, "rejected: "+log)
			s.cfg.Observer.Receipt(ReceiptRejected)
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, batch).Close() }); err != nil {
		return fmt.Errorf("record confirmations: %w", err)
	}
	return nil
}

// QueueStats counts beacons per state (status page, tests).
func (s *Service) QueueStats(ctx context.Context) (map[string]int, error) {
	rs, err := s.pool.Query(ctx, `SELECT state, count(*) FROM ingest_beacons GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("queue stats: %w", err)
	}
	defer rs.Close()
	out := map[string]int{}
	for rs.Next() {
		var st string
		var n int
		if err := rs.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rs.Err()
}
