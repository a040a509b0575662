package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Reports are acknowledged only after their row is committed (so they
// survive a crash). Committing each on its own costs one WAL flush per
// report; the committer instead writes whatever reports arrived while the
// previous commit was flushing in one transaction (group commit).

// maxGroup bounds the reports committed together.
const maxGroup = 512

type insertReq struct {
	sql  string
	args []any
	done chan insertRes
}

type insertRes struct {
	id  string
	err error
}

// insertID runs an INSERT ... RETURNING id through the committer (or
// directly when the service is not running) and returns the id, or
// pgx.ErrNoRows when the statement inserted and returned nothing.
func (s *Service) insertID(ctx context.Context, sql string, args ...any) (string, error) {
	if s.inserts == nil {
		var id string
		err := s.pool.QueryRow(ctx, sql, args...).Scan(&id)
		return id, err
	}
	req := &insertReq{sql: sql, args: args, done: make(chan insertRes, 1)}
	select {
	case s.inserts <- req:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case r := <-req.done:
		return r.id, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// runCommitter commits queued inserts in groups until ctx ends.
func (s *Service) runCommitter(ctx context.Context) {
	for {
		var first *insertReq
		select {
		case <-ctx.Done():
			return
		case first = <-s.inserts:
		}
		group := []*insertReq{first}
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-s.inserts:
				group = append(group, r)
			default:
				break drain
			}
		}
		s.commitGroup(ctx, group)
	}
}

func (s *Service) commitGroup(ctx context.Context, group []*insertReq) {
	res := make([]insertRes, len(group))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for i, r := range group {
			b.Queue(r.sql, r.args...).QueryRow(func(row pgx.Row) error {
				err := row.Scan(&res[i].id)
				if errors.Is(err, pgx.ErrNoRows) {
					res[i].err = err
					return nil
				}
				return err
			})
		}
		return tx.SendBatch(ctx, b).Close()
	})
	for i, r := range group {
		if err != nil {
			res[i] = insertRes{err: fmt.Errorf("commit %d reports: %w", len(group), err)}
		}
		r.done <- res[i]
	}
}
