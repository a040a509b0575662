package bridge

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/firmware-bridge/testkit"
	"github.com/hexproof/hexproof/internal/logging"
)

type marshalPub struct{ n int }

func (p *marshalPub) PublishEvent(_, _ string, m proto.Message) bool {
	b, _ := proto.Marshal(m)
	p.n += len(b)
	return true
}
func (p *marshalPub) SetGatewayState(string, bool) {}

// BenchmarkHandlePushData is the CPU cost of one PUSH_DATA with one rxpk
// (decode, PUSH_ACK, conversion, protobuf encoding), without the MQTT side.
func BenchmarkHandlePushData(b *testing.B) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	sink, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer sink.Close()
	br := New(Config{}, logging.Discard(), conn, &marshalPub{}, nil)
	phy := []byte{0x40, 1, 0x10, 0x00, 0x26, 0x80, 1, 0, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xa1, 0xa2, 0xa3, 0xa4}
	rx := testkit.Uplink(phy, 1000)
	ts := gwmp.CompactTime(time.Now().UTC())
	rx.Time = &ts
	d, _ := gwmp.PushData{Version: 2, Token: 1, GatewayID: testkit.EUIFor(1), Payload: gwmp.PushDataPayload{RXPK: []gwmp.RXPK{rx}}}.MarshalBinary()
	addr := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	b.ReportAllocs()
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		br.handle(datagram{b: d, addr: addr})
	}
}
