package stream

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/metrics"
	"github.com/hexproof/hexproof/router/ratelimit"
)

// Handler gets what arrives on accepted sessions. Its methods are called
// from the session's receive goroutine and must not block for long.
type Handler interface {
	Opened(s *Session)
	Uplink(s *Session, up *hexproofv1.Uplink, received time.Time)
	TxAck(s *Session, ack *hexproofv1.TxAck)
	Closed(s *Session)
}

// Refusal is an error Admit returns to refuse a session; Reason is sent to
// the hotspot, Label is the metric label.
type Refusal struct {
	Label  string
	Reason string
	Code   codes.Code
}

func (r *Refusal) Error() string { return r.Reason }

// Admitter decides who may open a session.
type Admitter interface {
	// Admit checks a SessionInit (chain id, hotspot onboarded) and returns
	// the OUIs served, or a *Refusal.
	Admit(ctx context.Context, init *hexproofv1.SessionInit) ([]uint64, error)
}

// Config are the limits of the server.
type Config struct {
	// MaxStreams caps concurrent streams (accepted or in handshake).
	MaxStreams int
	// MaxMessageBytes caps one received message (gRPC refuses larger ones).
	MaxMessageBytes int
	// RatePerSecond and RateBurst limit uplinks per hotspot; <= 0 disables.
	RatePerSecond float64
	RateBurst     int
	// HandshakeTimeout bounds the handshake.
	HandshakeTimeout time.Duration
	// SendQueue is the per-session queue of messages to the hotspot.
	SendQueue int
}

// Server implements hexproofv1.RouterServiceServer.
type Server struct {
	hexproofv1.UnimplementedRouterServiceServer
	cfg     Config
	key     *identity.Key
	admit   Admitter
	handler Handler
	log     *slog.Logger
	m       *metrics.Metrics

	streams atomic.Int64

	mu       sync.Mutex
	sessions map[[32]byte]*Session
}

// New returns a server; register it on a grpc.Server built with
// ServerOptions.
func New(cfg Config, key *identity.Key, admit Admitter, h Handler, logger *slog.Logger, m *metrics.Metrics) *Server {
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 10_000
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = 256
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = max(1, int(cfg.RatePerSecond))
	}
	return &Server{cfg: cfg, key: key, admit: admit, handler: h, log: logger, m: m, sessions: map[[32]byte]*Session{}}
}

// ServerOptions are the gRPC options the limits need, and keepalives:
// the router pings idle hotspot connections to find dead ones (a hotspot
// behind NAT that lost power leaves a half-open TCP connection), and lets
// hotspots ping as often as every minute (the agent pings every 5 minutes;
// gRPC's default policy would count a slightly early ping against it).
func ServerOptions(cfg Config) []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Minute, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Minute, PermitWithoutStream: true}),
	}
	if cfg.MaxMessageBytes > 0 {
		opts = append(opts, grpc.MaxRecvMsgSize(cfg.MaxMessageBytes))
	}
	if cfg.MaxStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(uint32(min(cfg.MaxStreams, 1<<20))))
	}
	return opts
}

// Session is one accepted hotspot stream.
type Session struct {
	Hotspot [32]byte
	Addr    string
	OUIs    []uint64
	Opened  time.Time

	// Region is the hexproofv1.Region of the hotspot's last verified
	// uplink (the router picks RX2 parameters by it).
	Region atomic.Int32

	out    chan *hexproofv1.StreamResponse
	ctx    context.Context
	cancel context.CancelFunc
	// Dropped counts messages the queue had no room for.
	Dropped atomic.Uint64
}

// Send queues a message to the hotspot without blocking; false when the
// session is gone or its queue is full.
func (s *Session) Send(m *hexproofv1.StreamResponse) bool {
	if s.ctx.Err() != nil {
		return false
	}
	select {
	case s.out <- m:
		return true
	default:
		s.Dropped.Add(1)
		return false
	}
}

// Done is closed when the session ends.
func (s *Session) Done() <-chan struct{} { return s.ctx.Done() }

// Session returns the live session of a hotspot.
func (srv *Server) Session(hotspot [32]byte) *Session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.sessions[hotspot]
}

// Sessions returns the number of accepted sessions.
func (srv *Server) Sessions() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.sessions)
}

func (srv *Server) refuse(st hexproofv1.RouterService_StreamServer, r *Refusal) error {
	srv.m.SessionsRefused.WithLabelValues(r.Label).Inc()
	_ = st.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Refused{Refused: &hexproofv1.SessionRefused{Reason: r.Reason}}})
	code := r.Code
	if code == codes.OK {
		code = codes.PermissionDenied
	}
	return status.Error(code, r.Reason)
}

// SignBytes returns what a SessionProof signs (before the domain).
func SignBytes(chainID string, nonce, router, hotspot []byte) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(&hexproofv1.SessionProofSignBytes{ChainId: chainID, Nonce: nonce, Router: router, Hotspot: hotspot})
}

// Stream implements RouterService.Stream.
func (srv *Server) Stream(st hexproofv1.RouterService_StreamServer) error {
	if n := srv.streams.Add(1); n > int64(srv.cfg.MaxStreams) {
		srv.streams.Add(-1)
		return srv.refuse(st, &Refusal{Label: "stream_limit", Code: codes.ResourceExhausted,
			Reason: fmt.Sprintf("router is at its limit of %d streams; retry later or use another router of the OUI", srv.cfg.MaxStreams)})
	}
	defer srv.streams.Add(-1)

	ctx := st.Context()
	addr := ""
	if p, ok := peer.FromContext(ctx); ok {
		addr = p.Addr.String()
	}
	sess, err := srv.handshake(ctx, st, addr)
	if err != nil {
		return err
	}
	defer sess.cancel()

	srv.mu.Lock()
	old := srv.sessions[sess.Hotspot]
	srv.sessions[sess.Hotspot] = sess
	srv.mu.Unlock()
	if old != nil {
		// The hotspot reconnected; its old stream is dead or a duplicate.
		old.cancel()
	}
	srv.m.Sessions.Inc()
	srv.log.Info("hotspot session accepted", "hotspot", identity.Address(sess.Hotspot).String(), "peer", addr)

	var wg sync.WaitGroup
	wg.Add(1)
	sendErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-sess.ctx.Done():
				return
			case m := <-sess.out:
				if err := st.Send(m); err != nil {
					sendErr <- err
					sess.cancel()
					return
				}
			}
		}
	}()
	srv.handler.Opened(sess)

	recvErr := make(chan error, 1)
	go func() { recvErr <- srv.receive(sess, st) }()
	select {
	case err = <-recvErr:
	case <-sess.ctx.Done():
		// Replaced by a newer stream of the same hotspot, or shutting
		// down: returning ends the stream, which ends receive's Recv.
		err = nil
		if ctx.Err() == nil {
			err = status.Error(codes.Aborted, "replaced by a newer stream from the same hotspot")
		}
	}

	sess.cancel()
	wg.Wait()
	srv.mu.Lock()
	if srv.sessions[sess.Hotspot] == sess {
		delete(srv.sessions, sess.Hotspot)
	}
	srv.mu.Unlock()
	srv.m.Sessions.Dec()
	srv.handler.Closed(sess)
	srv.log.Info("hotspot session closed", "hotspot", identity.Address(sess.Hotspot).String(), "err", err)
	select {
	case e := <-sendErr:
		if err == nil {
			err = e
		}
	default:
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (srv *Server) receive(sess *Session, st hexproofv1.RouterService_StreamServer) error {
	bucket := ratelimit.New(srv.cfg.RatePerSecond, srv.cfg.RateBurst)
	for {
		req, err := st.Recv()
		if err != nil {
			if sess.ctx.Err() != nil {
				return nil // replaced by a newer session or shutting down
			}
			return err
		}
		if sess.ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		switch m := req.GetMsg().(type) {
		case *hexproofv1.StreamRequest_Uplink:
			srv.m.UplinksIn.Inc()
			if !bucket.Allow(now) {
				srv.m.UplinksDropped.WithLabelValues("rate_limited").Inc()
				continue
			}
			srv.handler.Uplink(sess, m.Uplink, now)
		case *hexproofv1.StreamRequest_TxAck:
			srv.handler.TxAck(sess, m.TxAck)
		default:
			// A second handshake message or an unknown one: ignore it,
			// an old or newer agent should not lose its stream for it.
			srv.log.Debug("unexpected stream message after handshake", "hotspot", identity.Address(sess.Hotspot).String())
		}
	}
}

func (srv *Server) handshake(ctx context.Context, st hexproofv1.RouterService_StreamServer, addr string) (*Session, error) {
	hctx, cancel := context.WithTimeout(ctx, srv.cfg.HandshakeTimeout)
	defer cancel()
	recv := func() (*hexproofv1.StreamRequest, error) {
		type res struct {
			r   *hexproofv1.StreamRequest
			err error
		}
		ch := make(chan res, 1)
		go func() { r, err := st.Recv(); ch <- res{r, err} }()
		select {
		case x := <-ch:
			return x.r, x.err
		case <-hctx.Done():
			return nil, status.Error(codes.DeadlineExceeded, "handshake timed out")
		}
	}
	req, err := recv()
	if err != nil {
		return nil, err
	}
	init := req.GetInit()
	if init == nil {
		return nil, srv.refuse(st, &Refusal{Label: "protocol", Code: codes.InvalidArgument, Reason: "the stream must start with SessionInit"})
	}
	if len(init.GetHotspot()) != 32 {
		return nil, srv.refuse(st, &Refusal{Label: "protocol", Code: codes.InvalidArgument, Reason: fmt.Sprintf("SessionInit.hotspot is %d bytes, want a 32-byte ed25519 public key", len(init.GetHotspot()))})
	}
	ouis, err := srv.admit.Admit(hctx, init)
	if err != nil {
		var r *Refusal
		if !errors.As(err, &r) {
			r = &Refusal{Label: "internal", Code: codes.Unavailable, Reason: "router cannot check the hotspot right now: " + err.Error()}
		}
		return nil, srv.refuse(st, r)
	}
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return nil, status.Error(codes.Internal, "draw nonce")
	}
	routerKey := srv.key.PublicKey()
	if err := st.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Challenge{Challenge: &hexproofv1.SessionChallenge{Nonce: nonce, Router: routerKey}}}); err != nil {
		return nil, err
	}
	req, err = recv()
	if err != nil {
		return nil, err
	}
	proof := req.GetProof()
	if proof == nil {
		return nil, srv.refuse(st, &Refusal{Label: "protocol", Code: codes.InvalidArgument, Reason: "expected SessionProof after SessionChallenge"})
	}
	msg, err := SignBytes(init.GetChainId(), nonce, routerKey, init.GetHotspot())
	if err != nil {
		return nil, status.Error(codes.Internal, "encode sign bytes")
	}
	if err := identity.Verify(init.GetHotspot(), identity.DomainSession, msg, proof.GetSignature()); err != nil {
		return nil, srv.refuse(st, &Refusal{Label: "bad_signature", Code: codes.Unauthenticated,
			Reason: "session proof signature does not verify: sign SessionProofSignBytes{chain_id, nonce, router, hotspot} under domain " + string(identity.DomainSession) + " with the hotspot key"})
	}
	if err := st.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Accepted{Accepted: &hexproofv1.SessionAccepted{Ouis: ouis}}}); err != nil {
		return nil, err
	}
	sctx, scancel := context.WithCancel(ctx)
	s := &Session{Addr: addr, OUIs: ouis, Opened: time.Now(), out: make(chan *hexproofv1.StreamResponse, srv.cfg.SendQueue), ctx: sctx, cancel: scancel}
	copy(s.Hotspot[:], init.GetHotspot())
	return s, nil
}
