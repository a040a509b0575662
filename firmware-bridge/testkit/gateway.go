package testkit

import (
	"net"
	"testing"
	"time"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

// Gateway is a simulated packet forwarder with its own UDP socket.
type Gateway struct {
	t       testing.TB
	Conn    *net.UDPConn
	EUI     gwmp.EUI64
	Version uint8
	token   uint16
}

// NewGateway dials the bridge at addr from 127.0.0.1.
func NewGateway(t testing.TB, addr net.Addr, eui gwmp.EUI64, version uint8) *Gateway {
	t.Helper()
	c, err := net.DialUDP("udp", nil, addr.(*net.UDPAddr))
	if err != nil {
		t.Fatalf("dial bridge: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &Gateway{t: t, Conn: c, EUI: eui, Version: version}
}

// EUIFor returns a distinct gateway EUI for index i.
func EUIFor(i int) gwmp.EUI64 {
	return gwmp.EUI64{0x0b, 0x0b, 0, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}
}

func (g *Gateway) next() uint16 { g.token++; return g.token }

// Send writes raw bytes.
func (g *Gateway) Send(b []byte) {
	g.t.Helper()
	if _, err := g.Conn.Write(b); err != nil {
		g.t.Fatalf("gateway %s send: %v", g.EUI, err)
	}
}

// Push sends PUSH_DATA and returns its token.
func (g *Gateway) Push(p gwmp.PushDataPayload) uint16 {
	g.t.Helper()
	tok := g.next()
	b, err := gwmp.PushData{Version: g.Version, Token: tok, GatewayID: g.EUI, Payload: p}.MarshalBinary()
	if err != nil {
		g.t.Fatal(err)
	}
	g.Send(b)
	return tok
}

// Pull sends PULL_DATA and returns its token.
func (g *Gateway) Pull() uint16 {
	g.t.Helper()
	tok := g.next()
	b, _ := gwmp.PullData{Version: g.Version, Token: tok, GatewayID: g.EUI}.MarshalBinary()
	g.Send(b)
	return tok
}

// TxAck answers a PULL_RESP token; errName "" sends no JSON (success).
func (g *Gateway) TxAck(token uint16, errName, warn string) {
	g.t.Helper()
	a := gwmp.TxAck{Version: g.Version, Token: token, GatewayID: g.EUI}
	if errName != "" || warn != "" {
		a.Payload = &gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Error: errName, Warn: warn}}
	}
	b, _ := a.MarshalBinary()
	g.Send(b)
}

// Read returns the next datagram from the bridge, failing after timeout.
func (g *Gateway) Read(timeout time.Duration) []byte {
	g.t.Helper()
	b, ok := g.TryRead(timeout)
	if !ok {
		g.t.Fatalf("gateway %s: nothing from the bridge within %s", g.EUI, timeout)
	}
	return b
}

// TryRead is Read without failing.
func (g *Gateway) TryRead(timeout time.Duration) ([]byte, bool) {
	buf := make([]byte, 65536)
	_ = g.Conn.SetReadDeadline(time.Now().Add(timeout))
	n, err := g.Conn.Read(buf)
	if err != nil {
		return nil, false
	}
	return buf[:n], true
}

// ExpectAck reads an ack of type typ and checks its token.
func (g *Gateway) ExpectAck(typ gwmp.Type, token uint16) {
	g.t.Helper()
	b := g.Read(2 * time.Second)
	var a gwmp.Ack
	if err := a.UnmarshalBinary(b); err != nil {
		g.t.Fatalf("want %s: %v (%x)", typ, err, b)
	}
	if a.Type != typ || a.Token != token || a.Version != g.Version {
		g.t.Fatalf("got %+v, want %s token %d version %d", a, typ, token, g.Version)
	}
}

// ExpectPullResp reads a PULL_RESP.
func (g *Gateway) ExpectPullResp() gwmp.PullResp {
	g.t.Helper()
	b := g.Read(2 * time.Second)
	var p gwmp.PullResp
	if err := p.UnmarshalBinary(b); err != nil {
		g.t.Fatalf("want pull_resp: %v (%q)", err, b)
	}
	return p
}

// Uplink returns an rxpk with the given payload, LoRa SF7BW125 on 868.1 MHz.
func Uplink(data []byte, tmst uint32) gwmp.RXPK {
	snr := 7.0
	return gwmp.RXPK{Tmst: tmst, Freq: 868.1, Chan: 1, RFCh: 0, Stat: 1, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF7BW125"},
		CodR: "4/5", RSSI: -57, LSNR: &snr, Size: uint16(len(data)), Data: gwmp.B64(data)}
}
