package radio

import (
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/hexproof/hexproof/sim/internal/detrand"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f (±%g)", what, got, want, tol)
	}
}

func TestFSPL(t *testing.T) {
	tests := []struct {
		name string
		d, f float64
		want float64 // hand-computed: 20·log10(d_km) + 20·log10(f_MHz) + 32.45
		tol  float64
	}{
		{"868MHz 1km", 1000, 868e6, 91.22, 0.01},
		{"868MHz 100m", 100, 868e6, 71.22, 0.01},
		{"868MHz 10km", 10000, 868e6, 111.22, 0.01},
		{"915MHz 10km", 10000, 915e6, 111.68, 0.01},
		{"868MHz 1m", 1, 868e6, 31.22, 0.01},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { near(t, "FSPL", FSPL(tc.d, tc.f), tc.want, tc.tol) })
	}
}

func TestDistance(t *testing.T) {
	// One degree of latitude is 111.195 km on the mean sphere.
	near(t, "1 deg lat", Distance(52, 4.9, 53, 4.9, 0), 111195, 1)
	// Amsterdam Centraal to Rotterdam Centraal: 0.4541° of latitude
	// (50.49 km) and 0.4313° of longitude at 52.15° (29.42 km), 58.44 km.
	near(t, "ams-rtm", Distance(52.3791, 4.9003, 51.9250, 4.4690, 0)/1000, 58.44, 0.05)
	near(t, "height only", Distance(52, 4, 52, 4, 30), 30, 1e-9)
}

func TestNoiseAndSensitivity(t *testing.T) {
	m, err := New(DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	near(t, "noise 125k NF6", m.NoiseFloor(125000), -117.03, 0.01)
	near(t, "noise 500k NF6", m.NoiseFloor(500000), -111.01, 0.01)
	want := map[int]float64{7: -124.53, 8: -127.03, 9: -129.53, 10: -132.03, 11: -134.53, 12: -137.03}
	for sf := 7; sf <= 12; sf++ {
		s, err := m.Sensitivity(sf, 125000)
		if err != nil {
			t.Fatal(err)
		}
		near(t, DataRate(sf, 125000), s, want[sf], 0.01)
	}
	if _, err := RequiredSNR(13); !errors.Is(err, ErrSpreadingFactor) {
		t.Fatalf("SF13: %v", err)
	}
}

func TestTimeOnAir(t *testing.T) {
	// Hand-computed with Semtech's formula; the same figures as Semtech's
	// LoRa calculator and the TTN airtime calculator.
	tests := []struct {
		name   string
		pl, sf int
		want   time.Duration
	}{
		{"SF7 13B", 13, 7, 46336 * time.Microsecond},
		{"SF8 23B", 23, 8, 113152 * time.Microsecond},
		{"SF9 52B beacon", 52, 9, 328704 * time.Microsecond},
		{"SF10 20B", 20, 10, 370688 * time.Microsecond},
		{"SF11 13B LDRO", 13, 11, 577536 * time.Microsecond},
		{"SF12 13B LDRO", 13, 12, 1155072 * time.Microsecond},
		{"SF12 64B LDRO", 64, 12, 2793472 * time.Microsecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoRaWANAirtime(tc.pl, tc.sf, 125000)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("time on air %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("implicit header no crc", func(t *testing.T) {
		// SF7, 10 B, 4/5, IH, no CRC: ceil((80-28+28)/28)=3 -> 8+15=23 sym, + 12.25 -> 35.25 * 1.024 ms.
		got, err := TimeOnAir(AirtimeParams{PayloadLen: 10, SF: 7, BandwidthHz: 125000, PreambleSymbols: 8})
		if err != nil {
			t.Fatal(err)
		}
		if want := 36096 * time.Microsecond; got != want {
			t.Fatalf("got %v want %v", got, want)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, p := range []AirtimeParams{{SF: 13, BandwidthHz: 125000}, {SF: 7}, {SF: 7, BandwidthHz: 125000, PayloadLen: 256}, {SF: 7, BandwidthHz: 125000, CodingRate: 5}} {
			if _, err := TimeOnAir(p); err == nil {
				t.Errorf("%+v accepted", p)
			}
		}
	})
}

func TestDataRate(t *testing.T) {
	sf, bw, err := ParseDataRate("SF9BW125")
	if err != nil || sf != 9 || bw != 125000 {
		t.Fatalf("got %d %d %v", sf, bw, err)
	}
	if DataRate(sf, bw) != "SF9BW125" {
		t.Fatal("format")
	}
	for _, bad := range []string{"", "SF9", "BW125", "SF13BW125", "SF9BW100", "SFxBW125"} {
		if _, _, err := ParseDataRate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if cr, err := ParseCodingRate("4/7"); err != nil || cr != 3 {
		t.Fatal(cr, err)
	}
}

// at returns a node d metres north of (52, 5).
func at(id uint64, d float64) Node {
	return Node{ID: id, Lat: 52 + d/111195.0, Lng: 5}
}

func beacon(from Node) Transmission {
	return Transmission{From: from, TxPowerDBm: 16, FrequencyHz: 868.1e6, SF: 9, BandwidthHz: 125000, PayloadLen: 52,
		Start: time.Unix(1000, 0)}
}

func TestLinkWithoutShadowing(t *testing.T) {
	p := DefaultParams()
	p.ShadowingSigmaDB = 0
	p.PathLossExponent = 3
	m, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	// 1 km, n = 3, d0 = 1 m: PL = 31.22 + 30·3 = 121.22; RSSI = 16 - 121.22.
	r, ok := m.Link(beacon(at(1, 0)), at(2, 1000))
	if !ok {
		t.Fatal("1 km not heard")
	}
	near(t, "path loss", r.PathLossDB, 121.22, 0.02)
	near(t, "rssi", r.RSSI, -105.22, 0.02)
	near(t, "snr", r.SNR, 11.81, 0.02) // -105.22 - (-117.03)
	near(t, "distance", r.DistanceM, 1000, 0.5)

	if r, _ := m.Link(beacon(at(1, 0)), at(2, 100)); r.SNR != 13.5 {
		t.Errorf("100 m: snr %.2f, want the 13.5 cap", r.SNR)
	}
	// Range at SF9: RSSI = sensitivity -129.53 when PL = 145.53,
	// d = 10^((145.53-31.22)/30) = 6.4 km.
	if _, ok := m.Link(beacon(at(1, 0)), at(2, 6300)); !ok {
		t.Error("6.3 km not heard at SF9")
	}
	if _, ok := m.Link(beacon(at(1, 0)), at(2, 6600)); ok {
		t.Error("6.6 km heard at SF9")
	}
	// Antenna gains add: +3 dBi at each end gives 6 dB more, 1.58x range.
	tx := beacon(Node{ID: 1, Lat: 52, Lng: 5, GainDBi: 3})
	rx := at(2, 9900)
	rx.GainDBi = 3
	if _, ok := m.Link(tx, rx); !ok {
		t.Error("9.9 km with 2x3 dBi not heard")
	}
	// Below the demodulation floor the SNR is negative but reported.
	r, ok = m.Link(beacon(at(1, 0)), at(2, 5000))
	if !ok || r.SNR >= 0 || r.SNR < -12.5 {
		t.Errorf("5 km: heard %v snr %.2f, want heard with -12.5 <= snr < 0", ok, r.SNR)
	}
}

func TestShadowingDeterministicSymmetricNormal(t *testing.T) {
	p := DefaultParams()
	p.Seed = 99
	m, _ := New(p)
	m2, _ := New(p)
	p.Seed = 100
	other, _ := New(p)
	if m.Shadowing(3, 7) != m2.Shadowing(3, 7) {
		t.Fatal("same seed, different shadowing")
	}
	if m.Shadowing(3, 7) != m.Shadowing(7, 3) {
		t.Fatal("shadowing not symmetric")
	}
	if m.Shadowing(3, 7) == other.Shadowing(3, 7) {
		t.Fatal("different seed, same shadowing")
	}
	var sum, sq float64
	const n = 50000
	for i := uint64(0); i < n; i++ {
		s := m.Shadowing(i, i+1000003)
		sum += s
		sq += s * s
	}
	mean := sum / n
	near(t, "mean", mean, 0, 0.1)
	// A normal truncated at ±3 sigma has a standard deviation of 0.9866 sigma.
	near(t, "sigma", math.Sqrt(sq/n-mean*mean), 5.92, 0.1)
	for i := uint64(0); i < 1000; i++ {
		if s := m.Shadowing(i, 5000+i); math.Abs(s) > 18+1e-9 {
			t.Fatalf("shadowing %.2f beyond 3 sigma", s)
		}
	}
}

func TestHearMatchesLinkByLink(t *testing.T) {
	p := DefaultParams()
	p.ShadowingSigmaDB = 10
	p.Seed = 5
	m, _ := New(p)
	nodes := cityNodes(400)
	nodes[7].GainDBi = 9 // the best antenna sets Hear's distance bound
	for i := 0; i < 40; i++ {
		tx := beacon(nodes[i])
		var want []uint64
		for _, rx := range nodes {
			if _, ok := m.Link(tx, rx); ok && rx.ID != tx.From.ID {
				want = append(want, rx.ID)
			}
		}
		got := m.Hear(tx, nodes)
		if len(got) != len(want) {
			t.Fatalf("beacon %d: Hear found %d receivers, Link %d", i, len(got), len(want))
		}
		for k := range got {
			if got[k].Node != want[k] {
				t.Fatalf("beacon %d: receiver %d is %d, want %d", i, k, got[k].Node, want[k])
			}
		}
	}
}

func TestPathLossNeverBelowFreeSpace(t *testing.T) {
	p := DefaultParams()
	p.ShadowingSigmaDB = 20
	p.PathLossExponent = 2
	m, _ := New(p)
	for i := uint64(0); i < 2000; i++ {
		d := 10 + float64(i)*17
		if pl, free := m.PathLoss(i, i+1, d, 868.1e6), FSPL(d, 868.1e6); pl < free {
			t.Fatalf("link %d at %.0f m: %.2f dB below free space %.2f", i, d, pl, free)
		}
	}
}

func TestHearExcludesSender(t *testing.T) {
	m, _ := New(DefaultParams())
	nodes := []Node{at(1, 0), at(2, 200), at(3, 400), at(4, 80000)}
	got := m.Hear(beacon(nodes[0]), nodes)
	if len(got) != 2 || got[0].Node != 2 || got[1].Node != 3 {
		t.Fatalf("heard by %+v, want nodes 2 and 3", got)
	}
}

func TestResolveCollisions(t *testing.T) {
	p := DefaultParams()
	p.ShadowingSigmaDB = 0
	p.Collisions = true
	m, _ := New(p)
	start := time.Unix(2000, 0)
	up := func(from Node, freq float64, sf int, offset time.Duration) Transmission {
		return Transmission{From: from, TxPowerDBm: 14, FrequencyHz: freq, SF: sf, BandwidthHz: 125000, PayloadLen: 20, Start: start.Add(offset)}
	}
	rx := at(100, 0)
	a := at(1, 500)  // 500 m north
	b := at(2, -500) // 500 m south: same power at rx
	c := at(3, -3000)
	tests := []struct {
		name string
		txs  []Transmission
		want []int // receptions per tx at rx
	}{
		{"equal power same sf collide", []Transmission{up(a, 868.1e6, 7, 0), up(b, 868.1e6, 7, 10*time.Millisecond)}, []int{0, 0}},
		{"strong captures weak", []Transmission{up(a, 868.1e6, 7, 0), up(c, 868.1e6, 7, 10*time.Millisecond)}, []int{1, 0}},
		{"different sf", []Transmission{up(a, 868.1e6, 7, 0), up(b, 868.1e6, 8, 0)}, []int{1, 1}},
		{"different channel", []Transmission{up(a, 868.1e6, 7, 0), up(b, 868.3e6, 7, 0)}, []int{1, 1}},
		{"no time overlap", []Transmission{up(a, 868.1e6, 7, 0), up(b, 868.1e6, 7, time.Second)}, []int{1, 1}},
		{"half duplex", []Transmission{up(a, 868.1e6, 7, 0), up(rx, 869.525e6, 12, 5*time.Millisecond)}, []int{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.Resolve(tc.txs, []Node{rx})
			for i, w := range tc.want {
				if len(got[i]) != w {
					t.Errorf("tx %d: %d receptions, want %d", i, len(got[i]), w)
				}
			}
		})
	}
	t.Run("off", func(t *testing.T) {
		p.Collisions = false
		m, _ := New(p)
		got := m.Resolve([]Transmission{up(a, 868.1e6, 7, 0), up(b, 868.1e6, 7, 0)}, []Node{rx})
		if len(got[0]) != 1 || len(got[1]) != 1 {
			t.Fatalf("collisions off lost frames: %v", got)
		}
	})
}

func TestParamsValidate(t *testing.T) {
	for _, mod := range []func(*Params){
		func(p *Params) { p.PathLossExponent = 1 },
		func(p *Params) { p.RefDistanceM = 0 },
		func(p *Params) { p.ShadowingSigmaDB = -1 },
		func(p *Params) { p.NoiseFigureDB = 30 },
		func(p *Params) { p.CaptureThresholdDB = -1 },
	} {
		p := DefaultParams()
		mod(&p)
		if _, err := New(p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

// cityNodes places n hotspots uniformly in a 12 km disc around Amsterdam.
func cityNodes(n int) []Node {
	r := detrand.New(1)
	nodes := make([]Node, n)
	for i := range nodes {
		d := 12000 * math.Sqrt(r.Float64())
		a := 2 * math.Pi * r.Float64()
		nodes[i] = Node{ID: uint64(i), Lat: 52.37 + d*math.Cos(a)/111195, Lng: 4.89 + d*math.Sin(a)/(111195*math.Cos(52.37*math.Pi/180)),
			HeightM: 10, GainDBi: 3}
	}
	return nodes
}

// BenchmarkBeaconHearing1000 decides who, of 1,000 hotspots, hears one
// beacon: 999 link decisions per op.
func BenchmarkBeaconHearing1000(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1")
	}
	m, _ := New(DefaultParams())
	nodes := cityNodes(1000)
	heard := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx := beacon(nodes[i%len(nodes)])
		tx.From.GainDBi = 3
		tx.TxPowerDBm = 13
		heard += len(m.Hear(tx, nodes))
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "beacons/s")
	b.ReportMetric(float64(b.N)*float64(len(nodes)-1)/sec, "links/s")
	b.ReportMetric(float64(heard)/float64(b.N), "witnesses/beacon")
}

// BenchmarkResolveCollisions resolves 100 overlapping uplinks against
// 1,000 hotspots with the collision model on.
func BenchmarkResolveCollisions(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1")
	}
	p := DefaultParams()
	p.Collisions = true
	m, _ := New(p)
	nodes := cityNodes(1000)
	devs := cityNodes(1100)[1000:]
	txs := make([]Transmission, len(devs))
	for i, d := range devs {
		d.ID += 1 << 32
		txs[i] = Transmission{From: d, TxPowerDBm: 14, FrequencyHz: 868.1e6 + float64(i%8)*200e3, SF: 7 + i%6, BandwidthHz: 125000,
			PayloadLen: 20, Start: time.Unix(0, int64(i)*int64(10*time.Millisecond))}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Resolve(txs, nodes)
	}
	b.ReportMetric(float64(b.N)*float64(len(txs))/b.Elapsed().Seconds(), "uplinks/s")
}

func TestLost(t *testing.T) {
	p := DefaultParams()
	p.ShadowingSigmaDB = 0
	p.Collisions = true
	m, _ := New(p)
	start := time.Unix(3000, 0)
	up := func(from Node, freq float64, sf int, offset time.Duration) Transmission {
		return Transmission{From: from, TxPowerDBm: 14, FrequencyHz: freq, SF: sf, BandwidthHz: 125000, PayloadLen: 20, Start: start.Add(offset)}
	}
	rx := at(100, 0)
	a, b, c := at(1, 500), at(2, -500), at(3, -3000)
	tx := up(a, 868.1e6, 7, 0)
	r, ok := m.Link(tx, rx)
	if !ok {
		t.Fatal("a not heard")
	}
	down := up(b, 868.1e6, 7, 0)
	down.InvertedIQ = true
	tests := []struct {
		name   string
		others []Transmission
		want   bool
	}{
		{"alone", nil, false},
		{"equal power same sf", []Transmission{up(b, 868.1e6, 7, 10*time.Millisecond)}, true},
		{"weaker interferer captured", []Transmission{up(c, 868.1e6, 7, 0)}, false},
		{"different sf", []Transmission{up(b, 868.1e6, 9, 0)}, false},
		{"different channel", []Transmission{up(b, 868.5e6, 7, 0)}, false},
		{"earlier, ended", []Transmission{up(b, 868.1e6, 7, -time.Second)}, false},
		{"later, not started", []Transmission{up(b, 868.1e6, 7, time.Second)}, false},
		{"downlink does not interfere", []Transmission{down}, false},
		{"receiver transmitting", []Transmission{up(rx, 869.525e6, 12, 0)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.Lost(tx, rx, r, tc.others); got != tc.want {
				t.Fatalf("Lost = %v, want %v", got, tc.want)
			}
		})
	}
	p.Collisions = false
	off, _ := New(p)
	if off.Lost(tx, rx, r, []Transmission{up(b, 868.1e6, 7, 0)}) {
		t.Fatal("collisions off, frame lost")
	}
}
