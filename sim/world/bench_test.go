package world

import (
	"os"
	"testing"
	"time"

	"github.com/hexproof/hexproof/sim/radio"
)

func heavy(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1")
	}
}

// BenchmarkWorldBeacons1000 decides, in the default world of 1,000
// hotspots, who hears each hotspot's beacon (EU868: 16 dBm EIRP, SF9,
// 52 bytes), relays included. The devnet needs 1,000 hotspots / beacon
// interval of these per second (3.3/s at one beacon per 5 minutes).
func BenchmarkWorldBeacons1000(b *testing.B) {
	heavy(b)
	w, err := Generate(DefaultConfig(1000, 0))
	if err != nil {
		b.Fatal(err)
	}
	m, err := radio.New(radio.DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	nodes := w.HotspotNodes()
	witnesses := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := w.Hotspots[i%len(w.Hotspots)]
		tx := radio.Transmission{From: h.Node(), TxPowerDBm: 16 - h.GainDBi, FrequencyHz: 868.1e6, SF: 9, BandwidthHz: 125000,
			PayloadLen: 52, Start: time.Unix(int64(i), 0)}
		witnesses += len(w.Hear(m, tx, nodes))
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "beacons/s")
	b.ReportMetric(float64(witnesses)/float64(b.N), "witnesses/beacon")
}

// BenchmarkGenerate1000 generates the default world of 1,000 hotspots
// and 500 devices.
func BenchmarkGenerate1000(b *testing.B) {
	heavy(b)
	for i := 0; i < b.N; i++ {
		if _, err := Generate(DefaultConfig(1000, 500)); err != nil {
			b.Fatal(err)
		}
	}
}
