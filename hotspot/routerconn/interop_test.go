package routerconn_test

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/hexproof/hexproof/hotspot/routerconn"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/metrics"
	"github.com/hexproof/hexproof/router/stream"
)

type admitAll struct{}

func (admitAll) Admit(context.Context, *hexproofv1.SessionInit) ([]uint64, error) {
	return []uint64{7}, nil
}

type routerSide struct {
	mu      sync.Mutex
	session *stream.Session
	uplinks chan *hexproofv1.Uplink
	acks    chan *hexproofv1.TxAck
}

func (r *routerSide) Opened(s *stream.Session) { r.mu.Lock(); r.session = s; r.mu.Unlock() }
func (r *routerSide) Uplink(_ *stream.Session, up *hexproofv1.Uplink, _ time.Time) {
	r.uplinks <- up
}
func (r *routerSide) TxAck(_ *stream.Session, a *hexproofv1.TxAck) { r.acks <- a }
func (r *routerSide) Closed(*stream.Session)                       {}

type hotspotSide struct {
	down     chan *hexproofv1.Downlink
	vouchers chan *hexproofv1.Voucher
}

func (h hotspotSide) Downlink(_ routerconn.Peer, d *hexproofv1.Downlink) { h.down <- d }
func (h hotspotSide) Voucher(_ routerconn.Peer, v *hexproofv1.Voucher)   { h.vouchers <- v }

// TestInteropWithRouterStream runs the pool against the real router's
// stream server (router/stream): handshake, a signed uplink, a downlink and
// its ack.
func TestInteropWithRouterStream(t *testing.T) {
	routerKey, _ := identity.NewKey(nil)
	rs := &routerSide{uplinks: make(chan *hexproofv1.Uplink, 4), acks: make(chan *hexproofv1.TxAck, 4)}
	srv := stream.New(stream.Config{}, routerKey, admitAll{}, rs, logging.Discard(), metrics.New(prometheus.NewRegistry()))
	gs := grpc.NewServer(stream.ServerOptions(stream.Config{})...)
	hexproofv1.RegisterRouterServiceServer(gs, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	defer gs.Stop()

	key, _ := identity.NewKey(nil)
	hs := hotspotSide{down: make(chan *hexproofv1.Downlink, 4), vouchers: make(chan *hexproofv1.Voucher, 4)}
	p := routerconn.New(routerconn.Config{Key: key, ChainID: "interop-1", AgentVersion: "test"}, logging.Discard(), hs)
	p.Sync([]routerconn.Peer{{Endpoint: ln.Addr().String(), PublicKey: routerKey.PublicKey()}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "session accepted by the router", func() bool { return p.Connected(ln.Addr().String()) })
	if st := p.Status(); len(st[0].OUIs) != 1 || st[0].OUIs[0] != 7 {
		t.Fatalf("ouis %v", st[0].OUIs)
	}

	up := &hexproofv1.Uplink{Hotspot: key.PublicKey(), PhyPayload: []byte{0x40, 1, 2, 3, 4, 0, 1, 0, 1, 2, 3, 4, 5},
		Radio: &hexproofv1.RadioMeta{FrequencyHz: 868100000, Datarate: "SF7BW125", Region: hexproofv1.Region_REGION_EU868}, Seq: 1}
	key.SignMessage(identity.DomainUplink, up)
	if err := p.SendUplink(ln.Addr().String(), up); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-rs.uplinks:
		if !bytes.Equal(got.GetPhyPayload(), up.GetPhyPayload()) || identity.VerifyMessage(key.PublicKey(), identity.DomainUplink, got) != nil {
			t.Fatalf("router got %v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("uplink did not reach the router")
	}

	rs.mu.Lock()
	sess := rs.session
	rs.mu.Unlock()
	if !sess.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Downlink{Downlink: &hexproofv1.Downlink{Id: 5, PhyPayload: []byte{0x60}}}}) {
		t.Fatal("router could not queue the downlink")
	}
	select {
	case d := <-hs.down:
		if d.GetId() != 5 {
			t.Fatalf("downlink %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("downlink did not reach the hotspot")
	}
	if err := p.SendTxAck(ln.Addr().String(), &hexproofv1.TxAck{DownlinkId: 5, Status: hexproofv1.TxAckStatus_TX_ACK_STATUS_OK, Window: 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-rs.acks:
		if a.GetDownlinkId() != 5 || a.GetWindow() != 1 {
			t.Fatalf("ack %v", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ack did not reach the router")
	}
}
