package lns

import (
	"net"
	"sync"
	"testing"

	"github.com/brocaar/lorawan"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

type memPublisher struct {
	mu   sync.Mutex
	msgs map[string][]byte
}

func (p *memPublisher) Publish(topic string, payload []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs[topic] = payload
	return nil
}

// FuzzProcess feeds arbitrary frames, as if heard by a gateway, through
// the join and uplink paths of a server with a joined device: nothing may
// panic, and nothing unauthenticated may be published.
func FuzzProcess(f *testing.F) {
	f.Add([]byte{0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22})
	f.Add([]byte{0x40, 0, 0, 0, 0x78, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0x80, 0, 0, 0, 0x78, 0x0f, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer conn.Close()
	f.Fuzz(func(t *testing.T, phy []byte) {
		pub := &memPublisher{msgs: map[string][]byte{}}
		s, err := New(Config{Company: "acme", DevAddrStart: lorawan.DevAddr{0x78, 0, 0, 0}, DevAddrCount: 4,
			Devices: []DeviceKeys{{DevEUI: lorawan.EUI64{1}, JoinEUI: lorawan.EUI64{2}, AppKey: lorawan.AES128Key{3}}}}, conn, pub, nil)
		if err != nil {
			t.Fatal(err)
		}
		// A session exists for 78000000 so data frames reach the MIC check.
		d := s.devices[lorawan.EUI64{1}]
		d.joined, d.devAddr = true, lorawan.DevAddr{0x78, 0, 0, 0}
		s.byAddr[d.devAddr] = d
		s.process([]rxCopy{{gw: gwmp.EUI64{9}, rx: gwmp.RXPK{Tmst: 1, Freq: 868.1, Stat: 1, Modu: "LORA",
			DatR: gwmp.DatR{LoRa: "SF7BW125"}, Size: uint16(len(phy)), Data: phy}}})
		if st := s.Stats(); st.Joins != 0 || st.Uplinks != 0 || len(pub.msgs) != 0 {
			t.Fatalf("random frame % x was accepted: %+v", phy, st)
		}
	})
}
