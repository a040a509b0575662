package vgw

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/internal/logging"
)

type nopHandler struct {
	mu  sync.Mutex
	got []Downlink
}

func (h *nopHandler) PullResp(_ *Gateway, _ uint16, tx Downlink, _ time.Time) {
	h.mu.Lock()
	h.got = append(h.got, tx)
	h.mu.Unlock()
}

func TestEUI(t *testing.T) {
	a, b := [32]byte{1}, [32]byte{2}
	sum := sha256.Sum256(append([]byte("hexproof/gateway-eui/v1"), a[:]...))
	if got, want := EUI(a), binary.BigEndian.Uint64(sum[:8]); got != want {
		t.Fatalf("EUI = %016x, want %016x (documented derivation)", got, want)
	}
	if EUI(a) == EUI(b) {
		t.Fatal("two keys, one EUI")
	}
}

func TestGatewayAgainstUDPServer(t *testing.T) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := &nopHandler{}
	m := New(Config{Keepalive: 20 * time.Millisecond, Stat: time.Hour, Idle: 150 * time.Millisecond}, logging.Discard(), h, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	hot := [32]byte{7}
	g, err := m.Get(hot, srv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if g2, _ := m.Get(hot, srv.LocalAddr().String()); g2 != g {
		t.Fatal("second Get opened another gateway")
	}
	buf := make([]byte, 4096)
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	read := func() (gwmp.Header, []byte, *net.UDPAddr) {
		t.Helper()
		n, from, err := srv.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		hd, err := gwmp.ParseHeader(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		return hd, buf[:n], from
	}
	// The first datagram is the PULL_DATA that opens the downlink path.
	hd, b, from := read()
	if hd.Type != gwmp.TypePullData {
		t.Fatalf("first datagram %v, want PULL_DATA", hd.Type)
	}
	var pull gwmp.PullData
	if err := pull.UnmarshalBinary(b); err != nil || pull.GatewayID.Uint64() != EUI(hot) {
		t.Fatalf("PULL_DATA %+v %v", pull, err)
	}
	if err := g.Push(gwmp.RXPK{Tmst: 5_000_000, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF7BW125"}, CodR: "4/5", Size: 1, Data: []byte{1}}, "frame"); err != nil {
		t.Fatal(err)
	}
	for {
		hd, b, _ = read()
		if hd.Type == gwmp.TypePushData {
			break
		}
	}
	var p gwmp.PushData
	if err := p.UnmarshalBinary(b); err != nil || p.GatewayID.Uint64() != EUI(hot) || p.Payload.RXPK[0].Tmst != 5_000_000 {
		t.Fatalf("PUSH_DATA %+v %v", p, err)
	}
	// A PULL_RESP reaches the handler.
	pr, _ := gwmp.PullResp{Token: 9, Payload: gwmp.PullRespPayload{TXPK: Downlink{Tmst: 6_000_000, FrequencyHz: 868_100_000, DataRate: "SF7BW125", Modulation: "LORA", Data: []byte{2}}.TXPK()}}.MarshalBinary()
	srv.WriteToUDP(pr, from)
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.got)
		h.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("PULL_RESP not delivered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Keepalives keep coming while the gateway lives.
	if hd, _, _ = read(); hd.Type != gwmp.TypePullData {
		t.Fatalf("got %v, want a PULL_DATA keepalive", hd.Type)
	}
	// Idle (150 ms without uplinks): closed, and Get opens a fresh one.
	deadline = time.Now().Add(5 * time.Second)
	for {
		g3, err := m.Get(hot, srv.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		if g3 != g {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("idle gateway not closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFindUplink(t *testing.T) {
	g := &Gateway{}
	g.recent[0] = recentUp{tmst: 4_294_000_000, key: "wrapping", set: true}
	g.recent[1] = recentUp{tmst: 10_000_000, key: "a", set: true}
	g.recent[2] = recentUp{tmst: 10_500_000, key: "b", set: true}
	g.next = 3
	tests := []struct {
		tx    uint32
		key   string
		delay uint32
		ok    bool
	}{
		{11_000_000, "a", 1_000_000, true},
		{11_500_000, "b", 1_000_000, true},
		{15_500_000, "b", 5_000_000, true}, // join accept
		{12_000_000, "a", 2_000_000, true}, // RX2 of a
		{10_700_000, "", 0, false},         // no whole second after any uplink
		{32_704, "wrapping", 1_000_000, true},
	}
	for _, tt := range tests {
		key, d, ok := g.FindUplink(tt.tx)
		if key != tt.key || d != tt.delay || ok != tt.ok {
			t.Errorf("FindUplink(%d) = %q %d %v, want %q %d %v", tt.tx, key, d, ok, tt.key, tt.delay, tt.ok)
		}
	}
}
