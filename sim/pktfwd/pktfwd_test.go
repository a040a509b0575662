package pktfwd

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

var testEUI = gwmp.EUI64{1, 2, 3, 4, 5, 6, 7, 8}

// server is a minimal GWMP server for the tests.
type server struct {
	t    *testing.T
	conn net.PacketConn
}

func newServer(t *testing.T) *server {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &server{t: t, conn: c}
}

// packet is a datagram the forwarder sent: its header, its gateway EUI
// (zero for types without one) and its bytes.
type packet struct {
	gwmp.Header
	EUI gwmp.EUI64
	raw []byte
}

// expect reads until a packet of type typ arrives (keepalives and stats
// in between are skipped) and returns it with its sender.
func (s *server) expect(typ gwmp.Type) (packet, net.Addr) {
	s.t.Helper()
	buf := make([]byte, 65535)
	s.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			s.t.Fatalf("waiting for %s: %v", typ, err)
		}
		h, err := gwmp.ParseHeader(buf[:n])
		if err == nil && h.Type != typ {
			continue
		}
		p := packet{Header: h, raw: bytes.Clone(buf[:n])}
		switch typ {
		case gwmp.TypePullData:
			var v gwmp.PullData
			err = v.UnmarshalBinary(p.raw)
			p.EUI = v.GatewayID
		case gwmp.TypePushData:
			var v gwmp.PushData
			err = v.UnmarshalBinary(p.raw)
			p.EUI = v.GatewayID
		case gwmp.TypeTxAck:
			var v gwmp.TxAck
			err = v.UnmarshalBinary(p.raw)
			p.EUI = v.GatewayID
		}
		if err != nil {
			s.t.Fatalf("forwarder sent a bad datagram % x: %v", buf[:n], err)
		}
		return p, from
	}
}

func (s *server) send(b []byte, to net.Addr) {
	s.t.Helper()
	if _, err := s.conn.WriteTo(b, to); err != nil {
		s.t.Fatal(err)
	}
}

func ack(typ gwmp.Type, token uint16) []byte {
	b, _ := gwmp.Ack{Version: gwmp.Version2, Token: token, Type: typ}.MarshalBinary()
	return b
}

// pullResp encodes a PULL_RESP with the size taken from the data.
func pullResp(token uint16, tx gwmp.TXPK) ([]byte, error) {
	tx.Size = uint16(len(tx.Data))
	return gwmp.PullResp{Version: gwmp.Version2, Token: token, Payload: gwmp.PullRespPayload{TXPK: tx}}.MarshalBinary()
}

func decodePushData(p packet) (gwmp.PushDataPayload, error) {
	var v gwmp.PushData
	if err := v.UnmarshalBinary(p.raw); err != nil {
		return v.Payload, err
	}
	return v.Payload, v.Payload.CheckSizes()
}

func decodeTxAck(p packet) (gwmp.TxAck, error) {
	var v gwmp.TxAck
	err := v.UnmarshalBinary(p.raw)
	return v, err
}

type recorder struct {
	mu  sync.Mutex
	got []Downlink
}

func (r *recorder) onTx(d Downlink) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, d)
}

func (r *recorder) all() []Downlink {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Downlink(nil), r.got...)
}

func start(t *testing.T, cfg Config, onTx func(Downlink)) (*Forwarder, *server) {
	t.Helper()
	srv := newServer(t)
	cfg.Server = srv.conn.LocalAddr().String()
	cfg.GatewayEUI = testEUI
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(cfg, conn, nil, onTx)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return f, srv
}

func u32(v uint32) *uint32 { return &v }

func TestUplinkKeepaliveAndDownlinks(t *testing.T) {
	rec := &recorder{}
	f, srv := start(t, Config{KeepaliveInterval: 50 * time.Millisecond, StatInterval: -1}, rec.onTx)

	pull, gw := srv.expect(gwmp.TypePullData)
	if pull.EUI != testEUI || pull.Version != gwmp.Version2 {
		t.Fatalf("PULL_DATA %+v", pull)
	}
	if f.Connected() {
		t.Fatal("connected before any PULL_ACK")
	}
	srv.send(ack(gwmp.TypePullAck, pull.Token), gw)
	// The next keepalive comes by itself.
	if again, _ := srv.expect(gwmp.TypePullData); again.Token == pull.Token {
		t.Fatal("keepalive reused a token")
	}

	phy := []byte{0x40, 1, 2, 3, 4, 0, 1, 0, 2, 0xaa, 0xbb, 0xcc, 0xdd}
	if err := f.Send(Uplink{PHYPayload: phy, FrequencyHz: 868_100_000, DataRate: "SF7BW125", RSSI: -97.6, SNR: 7.25}); err != nil {
		t.Fatal(err)
	}
	push, _ := srv.expect(gwmp.TypePushData)
	pd, err := decodePushData(push)
	if err != nil {
		t.Fatal(err)
	}
	if len(pd.RXPK) != 1 {
		t.Fatalf("%d rxpk", len(pd.RXPK))
	}
	rx := pd.RXPK[0]
	if !bytes.Equal(rx.Data, phy) || rx.Freq != 868.1 || rx.DatR.LoRa != "SF7BW125" || rx.RSSI != -98 || rx.LSNR == nil || *rx.LSNR != 7.2 ||
		rx.CodR != "4/5" || rx.Stat != 1 || rx.Modu != "LORA" || push.EUI != testEUI {
		t.Fatalf("rxpk %+v", rx)
	}
	if now := f.Tmst(time.Now()); now-rx.Tmst > 1_000_000 {
		t.Fatalf("tmst %d far from the counter %d", rx.Tmst, now)
	}
	srv.send(ack(gwmp.TypePushAck, push.Token), gw)

	// RX1: tmst + 1 s is transmitted.
	down := []byte{0x60, 4, 3, 2, 1, 0x20, 0, 0, 9, 9, 9, 9}
	resp, err := pullResp(0x7001, gwmp.TXPK{Tmst: u32(rx.Tmst + 1_000_000), Freq: 868.1, Powe: 14, Modu: "LORA",
		DatR: gwmp.DatR{LoRa: "SF7BW125"}, CodR: "4/5", IPol: true, Data: down})
	if err != nil {
		t.Fatal(err)
	}
	srv.send(resp, gw)
	ack, _ := srv.expect(gwmp.TypeTxAck)
	a, err := decodeTxAck(ack)
	if err != nil || ack.Token != 0x7001 || a.Outcome() != gwmp.TxAckNone || ack.EUI != testEUI {
		t.Fatalf("TX_ACK token %x outcome %q err %v", ack.Token, a.Outcome(), err)
	}

	// A frame whose time has passed is refused TOO_LATE and not sent.
	late, _ := pullResp(0x7002, gwmp.TXPK{Tmst: u32(rx.Tmst - 1000), Freq: 868.1, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF7BW125"}, Data: down})
	srv.send(late, gw)
	ack, _ = srv.expect(gwmp.TypeTxAck)
	if a, _ := decodeTxAck(ack); ack.Token != 0x7002 || a.Outcome() != gwmp.TxAckTooLate {
		t.Fatalf("late frame: token %x outcome %q", ack.Token, a.Outcome())
	}
	// One a minute ahead is TOO_EARLY.
	early, _ := pullResp(0x7003, gwmp.TXPK{Tmst: u32(rx.Tmst + 60_000_000), Freq: 868.1, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF7BW125"}, Data: down})
	srv.send(early, gw)
	ack, _ = srv.expect(gwmp.TypeTxAck)
	if a, _ := decodeTxAck(ack); a.Outcome() != gwmp.TxAckTooEarly {
		t.Fatalf("early frame: outcome %q", a.Outcome())
	}
	// imme goes now.
	imme, _ := pullResp(0x7004, gwmp.TXPK{Imme: true, Freq: 869.525, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF12BW125"}, Data: down})
	srv.send(imme, gw)
	ack, _ = srv.expect(gwmp.TypeTxAck)
	if a, _ := decodeTxAck(ack); a.Outcome() != gwmp.TxAckNone {
		t.Fatalf("imme frame: outcome %q", a.Outcome())
	}

	got := rec.all()
	if len(got) != 2 {
		t.Fatalf("%d frames transmitted, want 2 (RX1 and imme): %+v", len(got), got)
	}
	if !bytes.Equal(got[0].TXPK.Data, down) || got[0].Token != 0x7001 || got[0].Outcome != gwmp.TxAckNone {
		t.Fatalf("transmitted %+v", got[0])
	}
	if d := got[0].At.Sub(f.TimeOf(rx.Tmst)); d != time.Second {
		t.Fatalf("RX1 frame goes %v after the uplink, want 1s", d)
	}
	if !f.Connected() {
		t.Fatal("not connected after PULL_ACK")
	}
	c := f.Counters()
	if c.PushData != 1 || c.PushAck != 1 || c.PullAck != 1 || c.PullResp != 4 || c.TxSent != 2 || c.TxRejected != 2 || c.PullData < 2 {
		t.Fatalf("counters %+v", c)
	}
}

func TestForcedOutcomeAndStats(t *testing.T) {
	rec := &recorder{}
	f, srv := start(t, Config{KeepaliveInterval: time.Hour, StatInterval: 30 * time.Millisecond, Lat: 52.1, Lng: 4.2,
		TxOutcome: func(Downlink) string { return gwmp.TxAckCollisionPacket }}, rec.onTx)
	_, gw := srv.expect(gwmp.TypePullData)
	if err := f.Send(Uplink{PHYPayload: []byte{1}, FrequencyHz: 868_300_000, DataRate: "SF9BW125"}); err != nil {
		t.Fatal(err)
	}
	// The stat report counts the frame.
	for {
		p, _ := srv.expect(gwmp.TypePushData)
		pd, err := decodePushData(p)
		if err != nil {
			t.Fatal(err)
		}
		if pd.Stat != nil && pd.Stat.RXNb == 1 {
			if pd.Stat.Lati == nil || *pd.Stat.Lati != 52.1 || *pd.Stat.Long != 4.2 {
				t.Fatalf("stat %+v", pd.Stat)
			}
			break
		}
	}
	resp, _ := pullResp(9, gwmp.TXPK{Imme: true, Freq: 868.3, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF9BW125"}, Data: []byte{1}})
	srv.send(resp, gw)
	ack, _ := srv.expect(gwmp.TypeTxAck)
	if a, _ := decodeTxAck(ack); a.Outcome() != gwmp.TxAckCollisionPacket {
		t.Fatalf("outcome %q", a.Outcome())
	}
	if len(rec.all()) != 0 {
		t.Fatal("a refused frame was reported transmitted")
	}
	// A malformed PULL_RESP gets no TX_ACK, like lora_pkt_fwd.
	srv.send(append([]byte{2, 0, 10, byte(gwmp.TypePullResp)}, `{"txpk":{}}`...), gw)
	srv.send(resp, gw)
	ack, _ = srv.expect(gwmp.TypeTxAck)
	if ack.Token != 9 {
		t.Fatalf("TX_ACK for token %d, want only the well-formed 9", ack.Token)
	}
}

func TestSendRejectsBadUplinks(t *testing.T) {
	srv := newServer(t)
	conn, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer conn.Close()
	f, err := New(Config{Server: srv.conn.LocalAddr().String()}, conn, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, up := range []Uplink{{}, {PHYPayload: make([]byte, 256), FrequencyHz: 1, DataRate: "SF7BW125"}, {PHYPayload: []byte{1}}} {
		if err := f.Send(up); err == nil {
			t.Errorf("%+v accepted", up)
		}
	}
	if _, err := New(Config{}, conn, nil, nil); err == nil {
		t.Error("no server accepted")
	}
}

func TestTimeOfWraps(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	now := base
	conn, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer conn.Close()
	f, err := New(Config{Server: "127.0.0.1:1", Clock: func() time.Time { return now }}, conn, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now = base.Add(4294*time.Second + 967295*time.Microsecond) // counter at 2^32-1
	tm := f.Tmst(now)
	if tm != 0xffffffff {
		t.Fatalf("tmst %d", tm)
	}
	// One second later the counter has wrapped to 999999.
	if got := f.TimeOf(tm + 1_000_000); got.Sub(now) != time.Second {
		t.Fatalf("TimeOf across the wrap is %v from now", got.Sub(now))
	}
}
