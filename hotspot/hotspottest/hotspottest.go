package hotspottest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/hexproof/hexproof/hotspot/routerconn"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Router is a RouterService that authenticates hotspots like a real
// router and records what they send.
type Router struct {
	hexproofv1.UnimplementedRouterServiceServer
	Key      *identity.Key
	chainID  string
	Uplinks  chan *hexproofv1.Uplink
	Acks     chan *hexproofv1.TxAck
	mu       sync.Mutex
	sessions []chan *hexproofv1.StreamResponse
	AuthErrs chan error
	// Stall makes sessions opened afterwards stop reading after the
	// handshake, like a router that hangs.
	Stall atomic.Bool
}

// NewRouter serves a test router on 127.0.0.1:0 for chainID; it returns the router and its address.
func NewRouter(t testing.TB, chainID string) (*Router, string) {
	t.Helper()
	key, _ := identity.NewKey(nil)
	r := &Router{Key: key, chainID: chainID, Uplinks: make(chan *hexproofv1.Uplink, 100), Acks: make(chan *hexproofv1.TxAck, 100), AuthErrs: make(chan error, 10)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hexproofv1.RegisterRouterServiceServer(srv, r)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return r, ln.Addr().String()
}

func (r *Router) Stream(s grpc.BidiStreamingServer[hexproofv1.StreamRequest, hexproofv1.StreamResponse]) error {
	m, err := s.Recv()
	if err != nil {
		return err
	}
	init := m.GetInit()
	if init == nil || init.GetChainId() != r.chainID {
		return grpcstatus.Error(codes.InvalidArgument, "want SessionInit for the test chain")
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	if err := s.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Challenge{Challenge: &hexproofv1.SessionChallenge{Nonce: nonce, Router: r.Key.PublicKey()}}}); err != nil {
		return err
	}
	m, err = s.Recv()
	if err != nil {
		return err
	}
	sb, _ := routerconn.SessionSignBytes(r.chainID, nonce, r.Key.PublicKey(), init.GetHotspot())
	if err := identity.Verify(init.GetHotspot(), identity.DomainSession, sb, m.GetProof().GetSignature()); err != nil {
		r.AuthErrs <- err
		return s.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Refused{Refused: &hexproofv1.SessionRefused{Reason: "bad proof"}}})
	}
	if err := s.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Accepted{Accepted: &hexproofv1.SessionAccepted{Ouis: []uint64{1}}}}); err != nil {
		return err
	}
	out := make(chan *hexproofv1.StreamResponse, 16)
	r.mu.Lock()
	r.sessions = append(r.sessions, out)
	r.mu.Unlock()
	go func() {
		for {
			select {
			case <-s.Context().Done():
				return
			case m := <-out:
				if err := s.Send(m); err != nil {
					return
				}
			}
		}
	}()
	if r.Stall.Load() {
		<-s.Context().Done()
		return nil
	}
	for {
		m, err := s.Recv()
		if err != nil {
			return err
		}
		switch x := m.Msg.(type) {
		case *hexproofv1.StreamRequest_Uplink:
			if err := identity.VerifyMessage(init.GetHotspot(), identity.DomainUplink, x.Uplink); err != nil || !bytes.Equal(x.Uplink.GetHotspot(), init.GetHotspot()) {
				r.AuthErrs <- fmt.Errorf("uplink signature: %v", err)
				continue
			}
			r.Uplinks <- x.Uplink
		case *hexproofv1.StreamRequest_TxAck:
			r.Acks <- x.TxAck
		}
	}
}

// Send pushes a message down the newest session.
func (r *Router) Send(m *hexproofv1.StreamResponse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sessions) == 0 {
		return errors.New("no session")
	}
	r.sessions[len(r.sessions)-1] <- m
	return nil
}

// Oracle is a PocIngestService that verifies and records reports; while
// refusing is set it answers Unavailable like an oracle under maintenance.
type Oracle struct {
	hexproofv1.UnimplementedPocIngestServiceServer
	mu        sync.Mutex
	refusing  bool
	beacons   []*hexproofv1.BeaconReport
	witnesses []*hexproofv1.WitnessReport
}

// NewOracle serves a test oracle on addr (127.0.0.1:0 when empty).
func NewOracle(t testing.TB, addr string) (*Oracle, string) {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	o := &Oracle{}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hexproofv1.RegisterPocIngestServiceServer(srv, o)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return o, ln.Addr().String()
}

func (o *Oracle) SubmitBeacon(_ context.Context, req *hexproofv1.SubmitBeaconRequest) (*hexproofv1.SubmitBeaconResponse, error) {
	if err := identity.VerifyMessage(req.GetReport().GetHotspot(), identity.DomainBeacon, req.GetReport()); err != nil {
		return nil, grpcstatus.Error(codes.InvalidArgument, err.Error())
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.refusing {
		return nil, grpcstatus.Error(codes.Unavailable, "maintenance")
	}
	o.beacons = append(o.beacons, req.GetReport())
	return &hexproofv1.SubmitBeaconResponse{Id: "b"}, nil
}

func (o *Oracle) SubmitWitness(_ context.Context, req *hexproofv1.SubmitWitnessRequest) (*hexproofv1.SubmitWitnessResponse, error) {
	if err := identity.VerifyMessage(req.GetReport().GetHotspot(), identity.DomainWitness, req.GetReport()); err != nil {
		return nil, grpcstatus.Error(codes.InvalidArgument, err.Error())
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.refusing {
		return nil, grpcstatus.Error(codes.Unavailable, "maintenance")
	}
	o.witnesses = append(o.witnesses, req.GetReport())
	return &hexproofv1.SubmitWitnessResponse{Id: "w"}, nil
}

// SetRefusing makes the oracle answer Unavailable.
func (o *Oracle) SetRefusing(b bool) {
	o.mu.Lock()
	o.refusing = b
	o.mu.Unlock()
}

// Counts returns the numbers of beacon and witness reports accepted.
func (o *Oracle) Counts() (int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.beacons), len(o.witnesses)
}

// Beacons returns the accepted beacon reports.
func (o *Oracle) Beacons() []*hexproofv1.BeaconReport {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*hexproofv1.BeaconReport(nil), o.beacons...)
}

// Witnesses returns the accepted witness reports.
func (o *Oracle) Witnesses() []*hexproofv1.WitnessReport {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*hexproofv1.WitnessReport(nil), o.witnesses...)
}
