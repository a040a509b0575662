package routerconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/hotspot/backoff"
	"github.com/hexproof/hexproof/hotspot/dial"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Config of the pool.
type Config struct {
	Key          *identity.Key
	ChainID      string
	AgentVersion string
	// OutboxSize bounds the per-router send buffer (default 256).
	OutboxSize int
}

// Peer identifies a router.
type Peer struct {
	Endpoint  string
	PublicKey []byte
}

// Handler receives router messages. Calls come from the router's receive
// goroutine and must not block for long.
type Handler interface {
	Downlink(from Peer, d *hexproofv1.Downlink)
	Voucher(from Peer, v *hexproofv1.Voucher)
}

// PeerStatus is one router's connectivity for the status API.
type PeerStatus struct {
	Endpoint   string    `json:"endpoint"`
	Connected  bool      `json:"connected"`
	Since      time.Time `json:"since,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	OUIs       []uint64  `json:"ouis,omitempty"`
	Sent       uint64    `json:"uplinks_sent"`
	Dropped    uint64    `json:"uplinks_dropped"`
	Downlinks  uint64    `json:"downlinks"`
	Vouchers   uint64    `json:"vouchers"`
	Reconnects uint64    `json:"reconnects"`
}

// Pool manages the router sessions.
type Pool struct {
	cfg     Config
	log     *slog.Logger
	handler Handler

	mu       sync.Mutex
	ctx      context.Context
	want     []Peer
	sessions map[string]*session
	wg       sync.WaitGroup
}

// New builds a pool; sessions start once Run is running and Sync names them.
func New(cfg Config, log *slog.Logger, h Handler) *Pool {
	if cfg.OutboxSize <= 0 {
		cfg.OutboxSize = 256
	}
	return &Pool{cfg: cfg, log: log, handler: h, sessions: map[string]*session{}}
}

// Run holds the pool's lifetime: it returns after ctx ends and every
// session stopped.
func (p *Pool) Run(ctx context.Context) error {
	p.mu.Lock()
	p.ctx = ctx
	p.syncLocked()
	p.mu.Unlock()
	<-ctx.Done()
	p.mu.Lock()
	for _, s := range p.sessions {
		s.cancel()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

// Sync starts sessions for new routers and stops those no longer listed. A
// router whose public key changed is reconnected.
// Before Run, the list is remembered and started by Run.
func (p *Pool) Sync(routers []Peer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.want = append([]Peer(nil), routers...)
	p.syncLocked()
}

func (p *Pool) syncLocked() {
	if p.ctx == nil || p.ctx.Err() != nil {
		return
	}
	want := map[string]Peer{}
	for _, r := range p.want {
		want[r.Endpoint] = r
	}
	for ep, s := range p.sessions {
		if r, ok := want[ep]; !ok || !bytes.Equal(r.PublicKey, s.peer.PublicKey) {
			s.cancel()
			delete(p.sessions, ep)
		}
	}
	for ep, r := range want {
		if _, ok := p.sessions[ep]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(p.ctx)
		s := &session{pool: p, peer: r, cancel: cancel, out: make(chan *hexproofv1.StreamRequest, p.cfg.OutboxSize)}
		p.sessions[ep] = s
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			s.run(ctx)
		}()
	}
}

func (p *Pool) session(endpoint string) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessions[endpoint]
}

// ErrNotConnected means the router's stream is down; the frame was dropped.
var ErrNotConnected = errors.New("router not connected")

// ErrOutboxFull means the router is not keeping up; the frame was dropped.
var ErrOutboxFull = errors.New("router outbox full")

// SendUplink queues a signed uplink for a router without blocking.
func (p *Pool) SendUplink(endpoint string, up *hexproofv1.Uplink) error {
	return p.send(endpoint, &hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_Uplink{Uplink: up}}, true)
}

// SendTxAck queues a tx ack for a router without blocking.
func (p *Pool) SendTxAck(endpoint string, ack *hexproofv1.TxAck) error {
	return p.send(endpoint, &hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_TxAck{TxAck: ack}}, false)
}

func (p *Pool) send(endpoint string, m *hexproofv1.StreamRequest, uplink bool) error {
	s := p.session(endpoint)
	if s == nil || !s.ready.Load() {
		if s != nil && uplink {
			s.dropped.Add(1)
		}
		return fmt.Errorf("%w: %s", ErrNotConnected, endpoint)
	}
	select {
	case s.out <- m:
		return nil
	default:
		if uplink {
			s.dropped.Add(1)
		}
		return fmt.Errorf("%w: %s", ErrOutboxFull, endpoint)
	}
}

// Connected reports whether the router's session is up.
func (p *Pool) Connected(endpoint string) bool {
	s := p.session(endpoint)
	return s != nil && s.ready.Load()
}

// Status lists every router, sorted by endpoint.
func (p *Pool) Status() []PeerStatus {
	p.mu.Lock()
	ss := make([]*session, 0, len(p.sessions))
	for _, s := range p.sessions {
		ss = append(ss, s)
	}
	p.mu.Unlock()
	out := make([]PeerStatus, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out
}

type session struct {
	pool   *Pool
	peer   Peer
	cancel context.CancelFunc
	out    chan *hexproofv1.StreamRequest

	ready      atomic.Bool
	sent       atomic.Uint64
	dropped    atomic.Uint64
	downlinks  atomic.Uint64
	vouchers   atomic.Uint64
	reconnects atomic.Uint64

	mu      sync.Mutex
	since   time.Time
	lastErr string
	ouis    []uint64
}

func (s *session) status() PeerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return PeerStatus{
		Endpoint: s.peer.Endpoint, Connected: s.ready.Load(), Since: s.since, LastError: s.lastErr, OUIs: s.ouis,
		Sent: s.sent.Load(), Dropped: s.dropped.Load(), Downlinks: s.downlinks.Load(), Vouchers: s.vouchers.Load(),
		Reconnects: s.reconnects.Load(),
	}
}

func (s *session) run(ctx context.Context) {
	log := s.pool.log.With("router", s.peer.Endpoint)
	bo := backoff.Backoff{Min: 500 * time.Millisecond, Max: time.Minute}
	for ctx.Err() == nil {
		connected, err := s.connectOnce(ctx, log)
		s.ready.Store(false)
		if ctx.Err() != nil {
			return
		}
		if connected {
			bo.Reset()
		}
		s.reconnects.Add(1)
		s.mu.Lock()
		s.lastErr = err.Error()
		s.mu.Unlock()
		log.Warn("router stream ended", "err", err)
		if !bo.Sleep(ctx) {
			return
		}
	}
}

// connectOnce runs one stream; connected tells whether the handshake passed.
func (s *session) connectOnce(ctx context.Context, log *slog.Logger) (bool, error) {
	cc, err := dial.Client(s.peer.Endpoint)
	if err != nil {
		return false, err
	}
	defer cc.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := hexproofv1.NewRouterServiceClient(cc).Stream(sctx)
	if err != nil {
		return false, fmt.Errorf("open stream: %w", err)
	}
	cfg := s.pool.cfg
	if err := stream.Send(&hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_Init{Init: &hexproofv1.SessionInit{
		Hotspot: cfg.Key.PublicKey(), ChainId: cfg.ChainID, AgentVersion: cfg.AgentVersion,
	}}}); err != nil {
		return false, fmt.Errorf("send init: %w", err)
	}
	// The handshake must finish promptly; a router that stalls here is
	// treated as down.
	hsTimer := time.AfterFunc(15*time.Second, cancel)
	resp, err := stream.Recv()
	if err != nil {
		return false, fmt.Errorf("receive challenge: %w", err)
	}
	ch := resp.GetChallenge()
	if ch == nil {
		if r := resp.GetRefused(); r != nil {
			return false, fmt.Errorf("router refused session: %s", r.GetReason())
		}
		return false, errors.New("router did not send a challenge")
	}
	if len(ch.GetNonce()) < 16 {
		return false, fmt.Errorf("router nonce is %d bytes, want at least 16", len(ch.GetNonce()))
	}
	if len(s.peer.PublicKey) > 0 && !bytes.Equal(ch.GetRouter(), s.peer.PublicKey) {
		return false, errors.New("router key differs from the key registered in its OUI (impostor or stale routing table)")
	}
	sig, err := SignSession(cfg.Key, cfg.ChainID, ch.GetNonce(), ch.GetRouter())
	if err != nil {
		return false, err
	}
	if err := stream.Send(&hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_Proof{Proof: &hexproofv1.SessionProof{Signature: sig}}}); err != nil {
		return false, fmt.Errorf("send proof: %w", err)
	}
	resp, err = stream.Recv()
	if err != nil {
		return false, fmt.Errorf("receive session verdict: %w", err)
	}
	acc := resp.GetAccepted()
	if acc == nil {
		if r := resp.GetRefused(); r != nil {
			return false, fmt.Errorf("router refused session: %s", r.GetReason())
		}
		return false, errors.New("router answered the proof with neither accepted nor refused")
	}
	hsTimer.Stop()
	routerKey := append([]byte(nil), ch.GetRouter()...)
	peer := Peer{Endpoint: s.peer.Endpoint, PublicKey: routerKey}

	s.mu.Lock()
	s.since, s.lastErr, s.ouis = time.Now(), "", acc.GetOuis()
	s.mu.Unlock()
	// Frames queued before this session are stale.
	for len(s.out) > 0 {
		<-s.out
	}
	s.ready.Store(true)
	log.Info("router session accepted", "ouis", acc.GetOuis())

	sendErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-sctx.Done():
				sendErr <- sctx.Err()
				return
			case m := <-s.out:
				if err := stream.Send(m); err != nil {
					sendErr <- fmt.Errorf("send: %w", err)
					cancel()
					return
				}
				if m.GetUplink() != nil {
					s.sent.Add(1)
				}
			}
		}
	}()
	for {
		resp, err := stream.Recv()
		if err != nil {
			cancel()
			<-sendErr //nolint:errcheck // the receive error is the one to report
			return true, fmt.Errorf("receive: %w", err)
		}
		switch m := resp.Msg.(type) {
		case *hexproofv1.StreamResponse_Downlink:
			s.downlinks.Add(1)
			s.pool.handler.Downlink(peer, m.Downlink)
		case *hexproofv1.StreamResponse_Voucher:
			s.vouchers.Add(1)
			s.pool.handler.Voucher(peer, m.Voucher)
		case *hexproofv1.StreamResponse_Refused:
			cancel()
			<-sendErr //nolint:errcheck // the refusal is the one to report
			return true, fmt.Errorf("router ended session: %s", m.Refused.GetReason())
		default:
			log.Debug("ignoring unexpected router message", "type", fmt.Sprintf("%T", resp.Msg))
		}
	}
}

// SignSession signs the router's challenge: DomainSession over the
// deterministic encoding of SessionProofSignBytes.
func SignSession(key *identity.Key, chainID string, nonce, router []byte) ([]byte, error) {
	b, err := SessionSignBytes(chainID, nonce, router, key.PublicKey())
	if err != nil {
		return nil, err
	}
	return key.Sign(identity.DomainSession, b), nil
}

// SessionSignBytes is what the session proof signs.
func SessionSignBytes(chainID string, nonce, router, hotspot []byte) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&hexproofv1.SessionProofSignBytes{
		ChainId: chainID, Nonce: nonce, Router: router, Hotspot: hotspot,
	})
	if err != nil {
		return nil, fmt.Errorf("encode session proof: %w", err)
	}
	return b, nil
}
