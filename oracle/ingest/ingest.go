package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Chain is what ingest needs from the chain (package chainsource adapts
// chain/client to it).
type Chain interface {
	// Head returns the latest committed height and its block time.
	Head(ctx context.Context) (int64, time.Time, error)
	// BlockAt returns the hash and time of the block at height.
	BlockAt(ctx context.Context, height int64) ([]byte, time.Time, error)
	// EntropyValidityBlocks is the chain parameter of that name.
	EntropyValidityBlocks(ctx context.Context) (uint64, error)
	// Submit signs and broadcasts one receipt (CheckTx only).
	Submit(ctx context.Context, rc *hexproofv1.PocReceipt) (Submission, error)
	// Included reports whether the tx with hash was committed and its code.
	Included(ctx context.Context, txHash string) (found bool, outcome Outcome, log string, err error)
}

// Outcome classifies what the chain did with a receipt.
type Outcome int

// Outcomes.
const (
	// Accepted: in the mempool (Submit) or committed with code 0 (Included).
	Accepted Outcome = iota
	// Duplicate: another oracle's receipt of the beacon was recorded first.
	Duplicate
	// Rejected: the chain refused it for good (the log says why).
	Rejected
)

// Submission is the answer of Chain.Submit.
type Submission struct {
	TxHash  string
	Outcome Outcome
	Log     string
}

// ErrTransient marks Submit errors worth retrying (network, nonce race).
var ErrTransient = errors.New("transient chain error")

// Config tunes ingest.
type Config struct {
	// Window is how long witnesses are collected after a beacon arrives.
	// It must leave time to land the receipt before the beacon's entropy
	// expires on chain.
	Window time.Duration
	// MaxWitnesses per receipt (the chain's max_witnesses_per_receipt).
	MaxWitnesses int
	// ClockSkew tolerated on report timestamps.
	ClockSkew time.Duration
	// Tick is how often ready beacons are submitted (default Window/4).
	Tick time.Duration
	// ResubmitAfter: a submitted receipt not committed within this time is
	// submitted again (it may have been dropped from the mempool).
	ResubmitAfter time.Duration
	// Retention: finished beacons and orphan witnesses are deleted after this.
	Retention time.Duration
	// MaxAttempts before a beacon is given up.
	MaxAttempts int
	// Observer counts reports and receipts (metrics); nil counts nothing.
	Observer Observer
}

// Service is the ingest server and its submitter.
type Service struct {
	cfg   Config
	log   *slog.Logger
	pool  *pgxpool.Pool
	chain Chain
	now   func() time.Time

	hashMu sync.Mutex
	hashes map[int64][]byte

	// inserts feeds the group committer while Run runs.
	inserts chan *insertReq

	hexproofv1.UnimplementedPocIngestServiceServer
}

// New returns a service; it listens and submits nothing until Run.
func New(cfg Config, logger *slog.Logger, pool *pgxpool.Pool, chain Chain, now func() time.Time) *Service {
	if cfg.Window <= 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.MaxWitnesses <= 0 {
		cfg.MaxWitnesses = 64
	}
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = 2 * time.Minute
	}
	if cfg.Tick <= 0 {
		cfg.Tick = max(cfg.Window/4, 50*time.Millisecond)
	}
	if cfg.ResubmitAfter <= 0 {
		cfg.ResubmitAfter = 30 * time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = time.Hour
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if now == nil {
		now = time.Now
	}
	return &Service{cfg: cfg, log: logger, pool: pool, chain: chain, now: now, hashes: map[int64][]byte{}}
}

// ErrWindowTooLarge is returned by CheckWindow (and Run) when the window
// does not fit the chain's entropy validity.
var ErrWindowTooLarge = errors.New("ingest window too large")

// CheckWindow refuses a window that does not fit the chain's entropy
// validity: the receipt must land while the entropy is valid, so the window
// may take at most half of the validity time (estimated from recent blocks).
func (s *Service) CheckWindow(ctx context.Context) error {
	validity, err := s.chain.EntropyValidityBlocks(ctx)
	if err != nil {
		return fmt.Errorf("read entropy validity: %w", err)
	}
	head, headTime, err := s.chain.Head(ctx)
	if err != nil {
		return fmt.Errorf("read chain head: %w", err)
	}
	k := min(int64(20), head-1)
	if k < 1 {
		return nil // too young a chain to estimate block time
	}
	_, past, err := s.chain.BlockAt(ctx, head-k)
	if err != nil {
		return fmt.Errorf("read block %d: %w", head-k, err)
	}
	blockTime := headTime.Sub(past) / time.Duration(k)
	if blockTime <= 0 {
		return nil
	}
	validFor := time.Duration(validity) * blockTime
	if s.cfg.Window > validFor/2 {
		return fmt.Errorf("%w: %s does not fit the chain's entropy validity (%d blocks of about %s = %s): set --ingest-window to at most %s",
			ErrWindowTooLarge, s.cfg.Window, validity, blockTime.Round(time.Millisecond), validFor.Round(time.Millisecond), (validFor / 2).Round(time.Millisecond))
	}
	return nil
}

// Run serves gRPC on lis and submits receipts until ctx ends. It first
// checks the window against the chain (waiting for the chain if it is
// unreachable) and returns ErrWindowTooLarge if it does not fit.
func (s *Service) Run(ctx context.Context, lis net.Listener) error {
	for {
		err := s.CheckWindow(ctx)
		if err == nil {
			break
		}
		if errors.Is(err, ErrWindowTooLarge) {
			lis.Close()
			return err
		}
		s.log.Warn("chain unreachable; ingest waits for it", "err", err)
		select {
		case <-ctx.Done():
			lis.Close()
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 10))
	hexproofv1.RegisterPocIngestServiceServer(srv, s)
	g, gctx := errgroup.WithContext(ctx)
	s.inserts = make(chan *insertReq, maxGroup)
	commitCtx, stopCommitter := context.WithCancel(context.Background())
	committerDone := make(chan struct{})
	go func() { s.runCommitter(commitCtx); close(committerDone) }()
	defer func() { stopCommitter(); <-committerDone }()
	g.Go(func() error {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("serve ingest gRPC: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		stopped := make(chan struct{})
		go func() { srv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			srv.Stop()
		}
		return nil
	})
	g.Go(func() error {
		t := time.NewTicker(s.cfg.Tick)
		defer t.Stop()
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
			}
			if err := s.Flush(gctx); err != nil && gctx.Err() == nil {
				s.log.Warn("submit receipts", "err", err)
			}
		}
	})
	return g.Wait()
}

func rpcError(r *Rejection) error {
	st := status.New(codes.InvalidArgument, r.Error())
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: string(r.Reason), Domain: ErrorDomain}); err == nil {
		st = d
	}
	return st.Err()
}

// ReasonOf extracts the rejection reason of an ingest gRPC error ("" if none).
func ReasonOf(err error) Reason {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetDomain() == ErrorDomain {
			return Reason(ei.GetReason())
		}
	}
	return ""
}

func (s *Service) nowMs() uint64 { return uint64(s.now().UnixMilli()) }

// blockHash caches block hashes (entropy checks hit the same few heights).
func (s *Service) blockHash(ctx context.Context, h int64) ([]byte, error) {
	s.hashMu.Lock()
	b, ok := s.hashes[h]
	s.hashMu.Unlock()
	if ok {
		return b, nil
	}
	b, _, err := s.chain.BlockAt(ctx, h)
	if err != nil {
		return nil, err
	}
	s.hashMu.Lock()
	if len(s.hashes) > 4096 {
		clear(s.hashes)
	}
	s.hashes[h] = b
	s.hashMu.Unlock()
	return b, nil
}

// SubmitBeacon implements PocIngestServiceServer.
func (s *Service) SubmitBeacon(ctx context.Context, req *hexproofv1.SubmitBeaconRequest) (*hexproofv1.SubmitBeaconResponse, error) {
	resp, err := s.submitBeacon(ctx, req)
	s.observeReport(ReportBeacon, err)
	return resp, err
}

func (s *Service) submitBeacon(ctx context.Context, req *hexproofv1.SubmitBeaconRequest) (*hexproofv1.SubmitBeaconResponse, error) {
	b := req.GetReport()
	id, rej := checkBeacon(b, s.nowMs(), uint64(s.cfg.ClockSkew.Milliseconds()))
	if rej != nil {
		return nil, rpcError(rej)
	}
	head, _, err := s.chain.Head(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "chain unreachable: %v", err)
	}
	validity, err := s.chain.EntropyValidityBlocks(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "chain unreachable: %v", err)
	}
	eh := int64(b.GetEntropyHeight())
	if eh > head {
		return nil, rpcError(reject(ReasonEntropyUnknown, "entropy height %d is above the chain head %d", eh, head))
	}
	if uint64(head-eh) >= validity {
		return nil, rpcError(reject(ReasonEntropyExpired, "entropy of height %d expired: head is %d and entropy is valid for %d blocks", eh, head, validity))
	}
	hash, err := s.blockHash(ctx, eh)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "read block %d: %v", eh, err)
	}
	if !equal(hash, b.GetEntropy()) {
		return nil, rpcError(reject(ReasonEntropyMismatch, "entropy is not the hash of block %d", eh))
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(b)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode report: %v", err)
	}
	storedID, err := s.insertID(ctx, `INSERT INTO ingest_beacons (payload, id, hotspot, entropy_height, report, received_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (payload) DO UPDATE SET payload = EXCLUDED.payload
		RETURNING id`, b.GetPayload(), id, b.GetHotspot(), eh, raw, s.now())
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "queue beacon: %v", err)
	}
	if storedID != id {
		return nil, rpcError(reject(ReasonConflict, "another beacon report with this payload is already queued (id %s)", storedID))
	}
	return &hexproofv1.SubmitBeaconResponse{Id: id}, nil
}

func equal(a, b []byte) bool { return string(a) == string(b) }

// SubmitWitness implements PocIngestServiceServer.
func (s *Service) SubmitWitness(ctx context.Context, req *hexproofv1.SubmitWitnessRequest) (*hexproofv1.SubmitWitnessResponse, error) {
	resp, err := s.submitWitness(ctx, req)
	s.observeReport(ReportWitness, err)
	return resp, err
}

func (s *Service) submitWitness(ctx context.Context, req *hexproofv1.SubmitWitnessRequest) (*hexproofv1.SubmitWitnessResponse, error) {
	w := req.GetReport()
	id, rej := checkWitness(w, s.nowMs(), uint64(s.cfg.ClockSkew.Milliseconds()))
	if rej != nil {
		return nil, rpcError(rej)
	}
	var beaconer []byte
	var state string
	err := s.pool.QueryRow(ctx, `SELECT hotspot, state FROM ingest_beacons WHERE payload = $1`, w.GetPayload()).Scan(&beaconer, &state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// The beacon report may still come; keep the witness.
	case err != nil:
		return nil, status.Errorf(codes.Unavailable, "read queue: %v", err)
	default:
		if equal(beaconer, w.GetHotspot()) {
			return nil, rpcError(reject(ReasonSelfWitness, "a hotspot can't witness its own beacon"))
		}
		if state != statePending {
			var existing string
			e := s.pool.QueryRow(ctx, `SELECT id FROM ingest_witnesses WHERE payload = $1 AND hotspot = $2`, w.GetPayload(), w.GetHotspot()).Scan(&existing)
			if e == nil && existing == id {
				return &hexproofv1.SubmitWitnessResponse{Id: id}, nil // a retry of a report already in the receipt
			}
			return nil, rpcError(reject(ReasonBeaconSubmitted, "the receipt of this beacon was already submitted (%s); the witness came too late", state))
		}
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(w)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode report: %v", err)
	}
	// Insert unless the beacon already has MaxWitnesses; one statement so
	// concurrent reports can't overshoot by much.
	storedID, err := s.insertID(ctx, `INSERT INTO ingest_witnesses (payload, hotspot, id, report, received_at)
		SELECT $1, $2, $3, $4, $5
		WHERE (SELECT count(*) FROM ingest_witnesses WHERE payload = $1) < $6
		ON CONFLICT (payload, hotspot) DO UPDATE SET payload = EXCLUDED.payload
		RETURNING id`, w.GetPayload(), w.GetHotspot(), id, raw, s.now(), s.cfg.MaxWitnesses)
	if errors.Is(err, pgx.ErrNoRows) {
		var existing string
		if e := s.pool.QueryRow(ctx, `SELECT id FROM ingest_witnesses WHERE payload = $1 AND hotspot = $2`, w.GetPayload(), w.GetHotspot()).Scan(&existing); e == nil && existing == id {
			return &hexproofv1.SubmitWitnessResponse{Id: id}, nil
		}
		return nil, rpcError(reject(ReasonTooManyWitnesses, "the beacon already has %d witness reports", s.cfg.MaxWitnesses))
	}
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "queue witness: %v", err)
	}
	if storedID != id {
		return nil, rpcError(reject(ReasonConflict, "this hotspot already reported another witness of this beacon (id %s)", storedID))
	}
	return &hexproofv1.SubmitWitnessResponse{Id: id}, nil
}
