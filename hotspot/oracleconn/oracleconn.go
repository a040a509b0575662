package oracleconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/hotspot/backoff"
	"github.com/hexproof/hexproof/hotspot/dial"
	"github.com/hexproof/hexproof/hotspot/queue"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Record kinds (first byte of a queue record).
const (
	kindBeacon  = 'B'
	kindWitness = 'W'
)

// ErrRecord is returned for a queue record that is not a report.
var ErrRecord = errors.New("not a PoC report record")

// EncodeBeacon makes a queue record of a signed beacon report.
func EncodeBeacon(r *hexproofv1.BeaconReport) ([]byte, error) { return encode(kindBeacon, r) }

// EncodeWitness makes a queue record of a signed witness report.
func EncodeWitness(r *hexproofv1.WitnessReport) ([]byte, error) { return encode(kindWitness, r) }

func encode(kind byte, m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return append([]byte{kind}, b...), nil
}

// Decode parses a queue record into a *BeaconReport or *WitnessReport.
func Decode(rec []byte) (proto.Message, error) {
	if len(rec) < 1 {
		return nil, fmt.Errorf("%w: empty", ErrRecord)
	}
	var m proto.Message
	switch rec[0] {
	case kindBeacon:
		m = &hexproofv1.BeaconReport{}
	case kindWitness:
		m = &hexproofv1.WitnessReport{}
	default:
		return nil, fmt.Errorf("%w: kind %q", ErrRecord, rec[0])
	}
	if err := proto.Unmarshal(rec[1:], m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecord, err)
	}
	return m, nil
}

// Status is one oracle's delivery state.
type Status struct {
	Endpoint  string    `json:"endpoint"`
	Connected bool      `json:"connected"`
	Queued    int       `json:"queued"`
	Accepted  uint64    `json:"accepted"`
	Rejected  uint64    `json:"rejected"`
	Dropped   uint64    `json:"dropped_queue_full"`
	LastOK    time.Time `json:"last_ok,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Sender drains one oracle's queue.
type Sender struct {
	endpoint string
	q        *queue.Queue
	log      *slog.Logger
	timeout  time.Duration

	connected atomic.Bool
	accepted  atomic.Uint64
	rejected  atomic.Uint64
	mu        sync.Mutex
	lastOK    time.Time
	lastErr   string
}

// New builds a sender for endpoint (see package dial for the syntax).
func New(endpoint string, q *queue.Queue, log *slog.Logger) (*Sender, error) {
	if _, _, err := dial.Target(endpoint); err != nil {
		return nil, fmt.Errorf("oracle %w", err)
	}
	return &Sender{endpoint: endpoint, q: q, log: log.With("oracle", endpoint), timeout: 10 * time.Second}, nil
}

// Endpoint is the oracle's address.
func (s *Sender) Endpoint() string { return s.endpoint }

// Queue is the oracle's outbox.
func (s *Sender) Queue() *queue.Queue { return s.q }

// Status reports delivery state.
func (s *Sender) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{Endpoint: s.endpoint, Connected: s.connected.Load(), Queued: s.q.Len(), Accepted: s.accepted.Load(),
		Rejected: s.rejected.Load(), Dropped: s.q.Dropped(), LastOK: s.lastOK, LastError: s.lastErr}
}

// Run delivers until ctx ends.
func (s *Sender) Run(ctx context.Context) error {
	cc, err := dial.Client(s.endpoint)
	if err != nil {
		return err
	}
	defer cc.Close()
	client := hexproofv1.NewPocIngestServiceClient(cc)
	bo := backoff.Backoff{Min: 500 * time.Millisecond, Max: time.Minute}
	for {
		it, ok, err := s.q.Peek()
		if err != nil {
			s.log.Error("read oracle queue", "err", err)
			if !bo.Sleep(ctx) {
				return nil
			}
			continue
		}
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-s.q.Ready():
			}
			continue
		}
		err = s.submit(ctx, client, it.Data)
		switch {
		case err == nil:
			s.accepted.Add(1)
			s.connected.Store(true)
			s.mu.Lock()
			s.lastOK, s.lastErr = time.Now(), ""
			s.mu.Unlock()
			bo.Reset()
		case permanent(err):
			s.rejected.Add(1)
			s.connected.Store(true)
			s.setErr(err)
			s.log.Warn("oracle refused report; dropping it", "err", err)
		default:
			if ctx.Err() != nil {
				return nil
			}
			s.connected.Store(false)
			s.setErr(err)
			s.log.Warn("oracle unavailable; report stays queued", "err", err, "queued", s.q.Len())
			if !bo.Sleep(ctx) {
				return nil
			}
			continue
		}
		if err := s.q.Remove(it.ID); err != nil {
			s.log.Error("remove delivered report", "err", err)
		}
	}
}

func (s *Sender) setErr(err error) {
	s.mu.Lock()
	s.lastErr = err.Error()
	s.mu.Unlock()
}

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func permanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

func (s *Sender) submit(ctx context.Context, c hexproofv1.PocIngestServiceClient, rec []byte) error {
	m, err := Decode(rec)
	if err != nil {
		return permanentError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	switch r := m.(type) {
	case *hexproofv1.BeaconReport:
		_, err = c.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: r})
	case *hexproofv1.WitnessReport:
		_, err = c.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: r})
	}
	switch status.Code(err) {
	case codes.OK, codes.AlreadyExists:
		return nil
	case codes.InvalidArgument, codes.OutOfRange:
		return permanentError{err}
	default:
		return err
	}
}
