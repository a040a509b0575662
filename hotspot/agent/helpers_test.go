package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/hexproof/hexproof/hotspot/poc"
	"github.com/hexproof/hexproof/hotspot/routerconn"
	"github.com/hexproof/hexproof/hotspot/routing"
	"github.com/hexproof/hexproof/hotspot/status"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

const testChainID = "hexproof-test"

// fakeChain is an in-memory chain.
type fakeChain struct {
	mu     sync.Mutex
	height uint64
	hash   []byte
	ouis   []routing.OUI
	claims []*hexproofv1.Voucher
}

func (f *fakeChain) ChainID(context.Context) (string, error) { return testChainID, nil }
func (f *fakeChain) Params(context.Context) (poc.Params, error) {
	return poc.Params{BeaconIntervalBlocks: 1000, EntropyValidityBlocks: 100}, nil
}
func (f *fakeChain) LatestBlock(context.Context) (poc.Block, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return poc.Block{Height: f.height, Hash: f.hash}, nil
}
func (f *fakeChain) OUIs(context.Context) ([]routing.OUI, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ouis, nil
}
func (f *fakeChain) CurrentEpoch(context.Context) (uint64, error) { return 0, nil }
func (f *fakeChain) ClaimVoucher(_ context.Context, v *hexproofv1.Voucher) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims = append(f.claims, v)
	return nil
}
func (f *fakeChain) Hotspot(context.Context, identity.Address) (status.Hotspot, error) {
	return status.Hotspot{Onboarded: true, Owner: "hxp1owner", Mode: "full", Location: "8c2a1072b59ffff", Region: "EU868", GainDdbi: 30}, nil
}
func (f *fakeChain) Rewards(context.Context, identity.Address) ([]status.Reward, error) {
	return []status.Reward{{Epoch: 1, Total: 42, Beacon: 42}}, nil
}
func (f *fakeChain) PocHistory(context.Context, identity.Address, int) ([]status.PocEntry, error) {
	return nil, nil
}

// beaconHeight returns a height at which key is due to beacon with interval
// 1000, so the test does not wait for a slot.
func beaconHeight(key []byte) uint64 {
	return 5000 + poc.Slot(key, 5, 1000)
}

// testRouter is a RouterService that authenticates hotspots like a real
// router and records what they send.
type testRouter struct {
	hexproofv1.UnimplementedRouterServiceServer
	key      *identity.Key
	uplinks  chan *hexproofv1.Uplink
	acks     chan *hexproofv1.TxAck
	mu       sync.Mutex
	sessions []chan *hexproofv1.StreamResponse
	authErrs chan error
}

func newTestRouter(t *testing.T) (*testRouter, string) {
	t.Helper()
	key, _ := identity.NewKey(nil)
	r := &testRouter{key: key, uplinks: make(chan *hexproofv1.Uplink, 100), acks: make(chan *hexproofv1.TxAck, 100), authErrs: make(chan error, 10)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hexproofv1.RegisterRouterServiceServer(srv, r)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return r, ln.Addr().String()
}

func (r *testRouter) Stream(s grpc.BidiStreamingServer[hexproofv1.StreamRequest, hexproofv1.StreamResponse]) error {
	m, err := s.Recv()
	if err != nil {
		return err
	}
	init := m.GetInit()
	if init == nil || init.GetChainId() != testChainID {
		return grpcstatus.Error(codes.InvalidArgument, "want SessionInit for the test chain")
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	if err := s.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Challenge{Challenge: &hexproofv1.SessionChallenge{Nonce: nonce, Router: r.key.PublicKey()}}}); err != nil {
		return err
	}
	m, err = s.Recv()
	if err != nil {
		return err
	}
	sb, _ := routerconn.SessionSignBytes(testChainID, nonce, r.key.PublicKey(), init.GetHotspot())
	if err := identity.Verify(init.GetHotspot(), identity.DomainSession, sb, m.GetProof().GetSignature()); err != nil {
		r.authErrs <- err
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
				s.Send(m)
			}
		}
	}()
	for {
		m, err := s.Recv()
		if err != nil {
			return err
		}
		switch x := m.Msg.(type) {
		case *hexproofv1.StreamRequest_Uplink:
			if err := identity.VerifyMessage(init.GetHotspot(), identity.DomainUplink, x.Uplink); err != nil || !bytes.Equal(x.Uplink.GetHotspot(), init.GetHotspot()) {
				r.authErrs <- fmt.Errorf("uplink signature: %v", err)
				continue
			}
			r.uplinks <- x.Uplink
		case *hexproofv1.StreamRequest_TxAck:
			r.acks <- x.TxAck
		}
	}
}

func (r *testRouter) send(m *hexproofv1.StreamResponse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sessions) == 0 {
		return errors.New("no session")
	}
	r.sessions[len(r.sessions)-1] <- m
	return nil
}

// testOracle is a PocIngestService that verifies and records reports; while
// refusing is set it answers Unavailable like an oracle under maintenance.
type testOracle struct {
	hexproofv1.UnimplementedPocIngestServiceServer
	mu        sync.Mutex
	refusing  bool
	beacons   []*hexproofv1.BeaconReport
	witnesses []*hexproofv1.WitnessReport
	got       chan struct{}
}

func newTestOracle(t *testing.T, addr string) (*testOracle, string) {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	o := &testOracle{got: make(chan struct{}, 1000)}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hexproofv1.RegisterPocIngestServiceServer(srv, o)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return o, ln.Addr().String()
}

func (o *testOracle) SubmitBeacon(_ context.Context, req *hexproofv1.SubmitBeaconRequest) (*hexproofv1.SubmitBeaconResponse, error) {
	if err := identity.VerifyMessage(req.GetReport().GetHotspot(), identity.DomainBeacon, req.GetReport()); err != nil {
		return nil, grpcstatus.Error(codes.InvalidArgument, err.Error())
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.refusing {
		return nil, grpcstatus.Error(codes.Unavailable, "maintenance")
	}
	o.beacons = append(o.beacons, req.GetReport())
	o.got <- struct{}{}
	return &hexproofv1.SubmitBeaconResponse{Id: "b"}, nil
}

func (o *testOracle) SubmitWitness(_ context.Context, req *hexproofv1.SubmitWitnessRequest) (*hexproofv1.SubmitWitnessResponse, error) {
	if err := identity.VerifyMessage(req.GetReport().GetHotspot(), identity.DomainWitness, req.GetReport()); err != nil {
		return nil, grpcstatus.Error(codes.InvalidArgument, err.Error())
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.refusing {
		return nil, grpcstatus.Error(codes.Unavailable, "maintenance")
	}
	o.witnesses = append(o.witnesses, req.GetReport())
	o.got <- struct{}{}
	return &hexproofv1.SubmitWitnessResponse{Id: "w"}, nil
}

func (o *testOracle) setRefusing(b bool) {
	o.mu.Lock()
	o.refusing = b
	o.mu.Unlock()
}

func (o *testOracle) counts() (int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.beacons), len(o.witnesses)
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
