package air_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/sim/air"
	"github.com/hexproof/hexproof/sim/pktfwd"
	"github.com/hexproof/hexproof/sim/radio"
	"github.com/hexproof/hexproof/sim/world"
)

// BenchmarkAirBeacons1000 transmits beacons in the default 1,000-hotspot
// world through the whole simulator: radio decision, relays, and one
// PUSH_DATA over real UDP from each witness's packet forwarder to a sink.
func BenchmarkAirBeacons1000(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1")
	}
	w, err := world.Generate(world.DefaultConfig(1000, 0))
	if err != nil {
		b.Fatal(err)
	}
	m, err := radio.New(radio.DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() { // drain the sink, as a bridge would read its socket
		buf := make([]byte, 65535)
		for {
			if _, _, err := sink.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := air.New(air.Config{Immediate: true}, w, m, nil)
	for i, h := range w.Hotspots {
		eui, _ := gwmp.ParseEUI64(h.GatewayEUI)
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		f, err := pktfwd.New(pktfwd.Config{GatewayEUI: eui, Server: sink.LocalAddr().String(), KeepaliveInterval: time.Hour, StatInterval: -1},
			conn, nil, a.Transmitter(i))
		if err != nil {
			b.Fatal(err)
		}
		a.Attach(i, f)
		go f.Run(ctx)
	}
	payload := bytes.Repeat([]byte{0xe0}, 52)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := w.Hotspots[i%len(w.Hotspots)]
		a.Transmitter(h.Index)(pktfwd.Downlink{At: time.Now(), Outcome: gwmp.TxAckNone, TXPK: gwmp.TXPK{Imme: true, Freq: 868.1,
			Powe: 16 - int16(h.GainDBi), Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF9BW125"}, CodR: "4/5", Size: 52, Data: payload}})
	}
	b.StopTimer()
	st := a.Stats()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(st.Beacons)/sec, "beacons/s")
	b.ReportMetric(float64(st.BeaconReceptions)/sec, "pushes/s")
	b.ReportMetric(float64(st.BeaconReceptions)/float64(st.Beacons), "witnesses/beacon")
}
