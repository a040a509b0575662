package router

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/chainview"
	"github.com/hexproof/hexproof/router/stream"
	"github.com/hexproof/hexproof/router/vgw"
)

const testChainID = "hexproof-test-1"

// memChain is an in-memory chain implementing chainview.Source.
type memChain struct {
	mu       sync.Mutex
	chainID  string
	epoch    uint64
	ouis     map[uint64]chainview.OUI
	hotspots map[[32]byte]bool
	paid     map[paidKey]uint64
	down     bool
}

func newMemChain() *memChain {
	return &memChain{chainID: testChainID, epoch: 7, ouis: map[uint64]chainview.OUI{}, hotspots: map[[32]byte]bool{}, paid: map[paidKey]uint64{}}
}

func (c *memChain) Status(context.Context) (chainview.Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return chainview.Status{}, errors.New("chain down")
	}
	return chainview.Status{ChainID: c.chainID, Height: 100, Epoch: c.epoch}, nil
}

func (c *memChain) OUI(_ context.Context, id uint64) (chainview.OUI, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return chainview.OUI{}, errors.New("chain down")
	}
	o, ok := c.ouis[id]
	if !ok {
		return o, chainview.ErrNotFound
	}
	return o, nil
}

func (c *memChain) Hotspot(_ context.Context, pub []byte) (chainview.Hotspot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return chainview.Hotspot{}, errors.New("chain down")
	}
	var k [32]byte
	copy(k[:], pub)
	if !c.hotspots[k] {
		return chainview.Hotspot{}, chainview.ErrNotFound
	}
	return chainview.Hotspot{Mode: hexproofv1.HotspotMode_HOTSPOT_MODE_FULL}, nil
}

func (c *memChain) VoucherPaid(_ context.Context, oui uint64, hotspot []byte, epoch uint64) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return 0, errors.New("chain down")
	}
	var k [32]byte
	copy(k[:], hotspot)
	return c.paid[paidKey{oui, k, epoch}], nil
}

// claim pays a voucher like the chain does: the escrow drops by the
// increase.
func (c *memChain) claim(v *hexproofv1.Voucher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var k [32]byte
	copy(k[:], v.GetHotspot())
	pk := paidKey{v.GetOui(), k, v.GetEpoch()}
	inc := v.GetDc() - c.paid[pk]
	o := c.ouis[v.GetOui()]
	o.EscrowDC -= inc
	c.ouis[v.GetOui()] = o
	c.paid[pk] = v.GetDc()
}

type paidKey struct {
	oui     uint64
	hotspot [32]byte
	epoch   uint64
}

func (c *memChain) setOUI(o chainview.OUI) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ouis[o.ID] = o
}

func (c *memChain) onboard(k *identity.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hotspots[k.Address()] = true
}

// testLNS is a Semtech UDP server: it acks and records what gateways send
// and can send PULL_RESPs to a gateway that sent PULL_DATA.
type testLNS struct {
	t    testing.TB
	conn *net.UDPConn

	mu      sync.Mutex
	pulls   map[uint64]*net.UDPAddr // gateway EUI -> address of its PULL_DATA
	ups     []lnsUplink
	acks    []gwmp.TxAck
	changed chan struct{}
}

type lnsUplink struct {
	eui  uint64
	rxpk gwmp.RXPK
	from string
}

func newTestLNS(t testing.TB) *testLNS {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadBuffer(8 << 20)
	l := &testLNS{t: t, conn: conn, pulls: map[uint64]*net.UDPAddr{}, changed: make(chan struct{}, 1)}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		l.serve()
	}()
	return l
}

func (l *testLNS) addr() string { return l.conn.LocalAddr().String() }

func (l *testLNS) serve() {
	buf := make([]byte, 65535)
	for {
		n, from, err := l.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		h, err := gwmp.ParseHeader(b)
		if err != nil {
			continue
		}
		ack := func(t gwmp.Type) {
			b, _ := gwmp.Ack{Version: h.Version, Token: h.Token, Type: t}.MarshalBinary()
			l.conn.WriteToUDP(b, from)
		}
		switch h.Type {
		case gwmp.TypePushData:
			ack(gwmp.TypePushAck)
			var p gwmp.PushData
			if err := p.UnmarshalBinary(b); err != nil {
				l.t.Errorf("lns: bad PUSH_DATA: %v", err)
				continue
			}
			if err := p.Payload.CheckSizes(); err != nil {
				l.t.Errorf("lns: bad PUSH_DATA: %v", err)
				continue
			}
			l.mu.Lock()
			for _, r := range p.Payload.RXPK {
				l.ups = append(l.ups, lnsUplink{eui: p.GatewayID.Uint64(), rxpk: r, from: from.String()})
			}
			l.mu.Unlock()
		case gwmp.TypePullData:
			var p gwmp.PullData
			if err := p.UnmarshalBinary(b); err != nil {
				continue
			}
			ack(gwmp.TypePullAck)
			l.mu.Lock()
			l.pulls[p.GatewayID.Uint64()] = from
			l.mu.Unlock()
		case gwmp.TypeTxAck:
			var p gwmp.TxAck
			if err := p.UnmarshalBinary(b); err != nil {
				l.t.Errorf("lns: bad TX_ACK: %v", err)
				continue
			}
			l.mu.Lock()
			l.acks = append(l.acks, p)
			l.mu.Unlock()
		}
		select {
		case l.changed <- struct{}{}:
		default:
		}
	}
}

// waitFor polls cond (under the LNS lock) until it holds or 5 s pass.
func (l *testLNS) waitFor(what string, cond func() bool) {
	l.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		ok := cond()
		l.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("lns: timed out waiting for %s", what)
		}
		select {
		case <-l.changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (l *testLNS) uplinks() []lnsUplink {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]lnsUplink(nil), l.ups...)
}

func (l *testLNS) txAcks() []gwmp.TxAck {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]gwmp.TxAck(nil), l.acks...)
}

func (l *testLNS) pullResp(eui uint64, token uint16, tx vgw.Downlink) {
	l.t.Helper()
	l.waitFor("PULL_DATA of the gateway", func() bool { return l.pulls[eui] != nil })
	l.mu.Lock()
	to := l.pulls[eui]
	l.mu.Unlock()
	b, err := gwmp.PullResp{Token: token, Payload: gwmp.PullRespPayload{TXPK: tx.TXPK()}}.MarshalBinary()
	if err != nil {
		l.t.Fatal(err)
	}
	if _, err := l.conn.WriteToUDP(b, to); err != nil {
		l.t.Fatal(err)
	}
}

type testRouter struct {
	*Router
	cancel context.CancelFunc
	done   chan error
}

func testConfig(t testing.TB, lns map[uint64]string) Config {
	var ouis []uint64
	for o := range lns {
		ouis = append(ouis, o)
	}
	return Config{
		Listen: "127.0.0.1:0", KeyFile: filepath.Join(t.TempDir(), "key.json"), StateDir: t.TempDir(),
		OUIs: ouis, LNS: lns, MaxStreams: 100, MaxMessageBytes: 4096, RateLimit: 0,
		DedupWindow: 200 * time.Millisecond, DedupTTL: 10 * time.Second, DedupMaxEntries: 10_000,
		VoucherInterval: time.Hour, ChainRefresh: time.Hour, Keepalive: 10 * time.Second, GatewayIdle: time.Minute,
		RX2: DefaultRX2,
	}
}

func startRouter(t testing.TB, cfg Config, key *identity.Key, chain chainview.Source) *testRouter {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, logging.Discard(), Deps{Key: key, Chain: chain, Listener: lis})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := &testRouter{Router: r, cancel: cancel, done: make(chan error, 1)}
	go func() { tr.done <- r.Run(ctx) }()
	t.Cleanup(func() { tr.stop(t) })
	return tr
}

func (tr *testRouter) stop(t testing.TB) {
	if tr.cancel == nil {
		return
	}
	tr.cancel()
	tr.cancel = nil
	select {
	case err := <-tr.done:
		if err != nil {
			t.Errorf("router Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("router did not stop")
	}
}

func newKey(t testing.TB) *identity.Key {
	t.Helper()
	k, err := identity.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testHotspot is a hotspot's side of the stream.
type testHotspot struct {
	t      testing.TB
	key    *identity.Key
	conn   *grpc.ClientConn
	st     hexproofv1.RouterService_StreamClient
	cancel context.CancelFunc

	downlinks chan *hexproofv1.Downlink
	vouchers  chan *hexproofv1.Voucher
	seq       uint64
	ended     chan error // the stream's final error, once
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// openStream runs the handshake; sign may tamper with the proof.
func openStream(t testing.TB, addr string, key *identity.Key, sign func(msg []byte) []byte) (*testHotspot, *hexproofv1.StreamResponse, error) {
	t.Helper()
	conn := dial(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := hexproofv1.NewRouterServiceClient(conn).Stream(ctx)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	h := &testHotspot{t: t, key: key, conn: conn, st: st, cancel: cancel, downlinks: make(chan *hexproofv1.Downlink, 100), vouchers: make(chan *hexproofv1.Voucher, 100), ended: make(chan error, 1)}
	// A refused stream may be closed before Send returns (io.EOF); the
	// refusal is then read by Recv.
	if err := st.Send(&hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_Init{Init: &hexproofv1.SessionInit{Hotspot: key.PublicKey(), ChainId: testChainID, AgentVersion: "test"}}}); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	resp, err := st.Recv()
	if err != nil {
		return nil, nil, err
	}
	ch := resp.GetChallenge()
	if ch == nil {
		return h, resp, nil
	}
	msg, err := stream.SignBytes(testChainID, ch.GetNonce(), ch.GetRouter(), key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	sig := key.Sign(identity.DomainSession, msg)
	if sign != nil {
		sig = sign(msg)
	}
	if err := st.Send(&hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_Proof{Proof: &hexproofv1.SessionProof{Signature: sig}}}); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	resp, err = st.Recv()
	if err != nil {
		return nil, nil, err
	}
	if resp.GetAccepted() != nil {
		go h.recvLoop()
	}
	return h, resp, nil
}

func connect(t testing.TB, addr string, key *identity.Key) *testHotspot {
	t.Helper()
	h, resp, err := openStream(t, addr, key, nil)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	if resp.GetAccepted() == nil {
		t.Fatalf("session not accepted: %v", resp)
	}
	return h
}

func (h *testHotspot) recvLoop() {
	for {
		resp, err := h.st.Recv()
		if err != nil {
			h.ended <- err
			return
		}
		switch m := resp.GetMsg().(type) {
		case *hexproofv1.StreamResponse_Downlink:
			h.downlinks <- m.Downlink
		case *hexproofv1.StreamResponse_Voucher:
			h.vouchers <- m.Voucher
		}
	}
}

func (h *testHotspot) uplink(phy []byte, rssi, snr int32, tmst uint32) *hexproofv1.Uplink {
	h.seq++
	up := &hexproofv1.Uplink{Hotspot: h.key.PublicKey(), PhyPayload: phy, Seq: h.seq, Radio: &hexproofv1.RadioMeta{
		FrequencyHz: 868_100_000, Datarate: "SF7BW125", RssiDbm: rssi, SnrCb: snr, Tmst: tmst,
		ReceivedAtMs: uint64(time.Now().UnixMilli()), Region: hexproofv1.Region_REGION_EU868,
	}}
	if err := h.key.SignMessage(identity.DomainUplink, up); err != nil {
		h.t.Fatal(err)
	}
	return up
}

func (h *testHotspot) send(up *hexproofv1.Uplink) {
	h.t.Helper()
	if err := h.st.Send(&hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_Uplink{Uplink: up}}); err != nil {
		h.t.Fatalf("send uplink: %v", err)
	}
}

func (h *testHotspot) ack(id uint64, status hexproofv1.TxAckStatus, window uint32) {
	h.t.Helper()
	if err := h.st.Send(&hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_TxAck{TxAck: &hexproofv1.TxAck{DownlinkId: id, Status: status, Window: window}}}); err != nil {
		h.t.Fatalf("send tx ack: %v", err)
	}
}

func (h *testHotspot) nextDownlink() *hexproofv1.Downlink {
	h.t.Helper()
	select {
	case d := <-h.downlinks:
		return d
	case <-time.After(5 * time.Second):
		h.t.Fatal("no downlink")
		return nil
	}
}

func (h *testHotspot) nextVoucher() *hexproofv1.Voucher {
	h.t.Helper()
	select {
	case v := <-h.vouchers:
		return v
	case <-time.After(5 * time.Second):
		h.t.Fatal("no voucher")
		return nil
	}
}

// dataFrame builds an unconfirmed data uplink PHYPayload with n payload bytes.
func dataFrame(devAddr uint32, fcnt uint16, n int) []byte {
	b := []byte{0x40}
	b = binary.LittleEndian.AppendUint32(b, devAddr)
	b = append(b, 0) // FCtrl
	b = binary.LittleEndian.AppendUint16(b, fcnt)
	b = append(b, 1) // FPort
	for i := 0; i < n; i++ {
		b = append(b, byte(i))
	}
	return append(b, 0xde, 0xad, 0xbe, 0xef) // MIC (the LNS checks it, not the router)
}

// joinFrame builds a join request PHYPayload.
func joinFrame(joinEUI, devEUI uint64, devNonce uint16) []byte {
	b := []byte{0x00}
	b = binary.LittleEndian.AppendUint64(b, joinEUI)
	b = binary.LittleEndian.AppendUint64(b, devEUI)
	b = binary.LittleEndian.AppendUint16(b, devNonce)
	return append(b, 1, 2, 3, 4)
}

func ouiConfig(maxCopies uint32, routerKey *identity.Key, ranges [][2]uint32, pairs [][2]uint64) *hexproofv1.OuiConfig {
	c := &hexproofv1.OuiConfig{NetId: 0x24, MaxCopies: maxCopies, Routers: []*hexproofv1.RouterEndpoint{{Endpoint: "router:9080", PublicKey: routerKey.PublicKey()}}}
	for _, r := range ranges {
		c.DevaddrRanges = append(c.DevaddrRanges, &hexproofv1.DevAddrRange{Start: r[0], End: r[1]})
	}
	for _, p := range pairs {
		c.EuiPairs = append(c.EuiPairs, &hexproofv1.EuiPair{JoinEui: p[0], DevEui: p[1]})
	}
	return c
}

// dropped reads the dropped-uplinks counter of a reason.
func (tr *testRouter) dropped(reason string) float64 {
	return counterValue(tr.m.UplinksDropped.WithLabelValues(reason))
}

func (tr *testRouter) bought(oui uint64) float64 {
	return counterValue(tr.m.UplinksBought.WithLabelValues(tr.ouiLabel(oui)))
}

// waitCount polls f until it returns want (5 s at most).
func waitCount(t testing.TB, what string, f func() float64, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := f()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
