package air_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/sim/air"
	"github.com/hexproof/hexproof/sim/device"
	"github.com/hexproof/hexproof/sim/lns"
	"github.com/hexproof/hexproof/sim/pktfwd"
	"github.com/hexproof/hexproof/sim/radio"
	"github.com/hexproof/hexproof/sim/world"
)

func smallWorld(t *testing.T) *world.World {
	t.Helper()
	w, err := world.Generate(world.Config{City: "lisbon", Seed: 11, RadiusKM: 1.5, Hotspots: 12, Devices: 5, Companies: 1,
		UplinkIntervalS: 60, ConfirmedEvery: 2})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func model(t *testing.T) *radio.Model {
	t.Helper()
	p := radio.DefaultParams()
	p.Seed = 1
	m, err := radio.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// forwarders starts one packet forwarder per hotspot, all talking to
// server, wired to the air.
func forwarders(t *testing.T, ctx context.Context, w *world.World, a *air.Air, server string) []*pktfwd.Forwarder {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	fwds := make([]*pktfwd.Forwarder, len(w.Hotspots))
	for i, h := range w.Hotspots {
		eui, err := gwmp.ParseEUI64(h.GatewayEUI)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := pktfwd.New(pktfwd.Config{GatewayEUI: eui, Server: server, KeepaliveInterval: 50 * time.Millisecond, StatInterval: -1},
			conn, nil, a.Transmitter(i))
		if err != nil {
			t.Fatal(err)
		}
		a.Attach(i, f)
		fwds[i] = f
		wg.Add(1)
		go func() { defer wg.Done(); f.Run(ctx) }()
	}
	return fwds
}

func TestDevicesThroughTheAir(t *testing.T) {
	w := smallWorld(t)
	m := model(t)
	prefix := testsvc.TopicPrefix(t)
	sub := testsvc.MQTTClient(t)
	var mu sync.Mutex
	ups := map[string][]lns.UplinkEvent{}
	tok := sub.Subscribe(prefix+"application/+/device/+/event/up", 1, func(_ mqtt.Client, msg mqtt.Message) {
		var ev lns.UplinkEvent
		if err := json.Unmarshal(msg.Payload(), &ev); err != nil {
			t.Errorf("event %s: %v", msg.Payload(), err)
			return
		}
		mu.Lock()
		ups[ev.DevEUI] = append(ups[ev.DevEUI], ev)
		mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	cfg, err := lns.ConfigFromWorld(w, "acme")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TopicPrefix, cfg.DedupWindow = prefix, 150*time.Millisecond
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := lns.New(cfg, conn, lns.PahoPublisher(testsvc.MQTTClient(t), 1, 5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srvDone := make(chan struct{})
	go func() { defer close(srvDone); srv.Run(ctx) }()
	defer func() { cancel(); <-srvDone }()

	a := air.New(air.Config{Immediate: true}, w, m, nil)
	fwds := forwarders(t, ctx, w, a, conn.LocalAddr().String())
	devs := make([]*device.Device, len(w.Devices))
	covered := map[int]bool{}
	for i, wd := range w.Devices {
		c, err := device.FromWorld(wd)
		if err != nil {
			t.Fatal(err)
		}
		c.UplinkInterval, c.JoinRetry = 400*time.Millisecond, 500*time.Millisecond
		devs[i] = device.New(c)
		if err := a.AddDevice(i, devs[i]); err != nil {
			t.Fatal(err)
		}
		sf, bw, _ := radio.ParseDataRate(wd.DataRate)
		tx := radio.Transmission{From: wd.Node(), TxPowerDBm: wd.TxPowerDBm, FrequencyHz: 868.1e6, SF: sf, BandwidthHz: bw}
		if len(w.Hear(m, tx, w.HotspotNodes())) > 0 {
			covered[i] = true
		}
	}
	if len(covered) < 3 {
		t.Fatalf("only %d of %d devices in coverage: pick another seed", len(covered), len(w.Devices))
	}
	for _, f := range fwds {
		for deadline := time.Now().Add(5 * time.Second); !f.Connected(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("forwarder never connected")
			}
		}
	}

	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i := range covered {
			if len(ups[w.Devices[i].DevEUI]) < 3 {
				return false
			}
			if devs[i].Stats().Confirmed > 0 && devs[i].Stats().Acked == 0 {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(15 * time.Second); !done(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("devices did not all get 3 uplinks through: air %+v lns %+v", a.Stats(), srv.Stats())
		}
		a.Step()
	}

	mu.Lock()
	defer mu.Unlock()
	multi := false
	confirmedAcked := 0
	for i := range covered {
		d := devs[i]
		if !d.Joined() {
			t.Errorf("device %d never joined", i)
		}
		evs := ups[w.Devices[i].DevEUI]
		for k, ev := range evs {
			if ev.Decoded == nil || ev.FPort != 2 || len(ev.Gateways) == 0 || (k > 0 && ev.FCnt <= evs[k-1].FCnt) {
				t.Fatalf("device %d event %d: %+v", i, k, ev)
			}
			if len(ev.Gateways) > 1 {
				multi = true
			}
		}
		if d.Stats().Acked > 0 {
			confirmedAcked++
		}
	}
	if !multi {
		t.Error("no uplink was heard by more than one hotspot")
	}
	if confirmedAcked == 0 {
		t.Error("no confirmed uplink was acknowledged")
	}
	st := a.Stats()
	t.Logf("%d of %d devices in coverage; air %+v", len(covered), len(w.Devices), st)
	if st.DownlinksDelivered < uint64(len(covered)) || st.Beacons != 0 {
		t.Fatalf("air stats %+v", st)
	}
}

// TestBeaconsReachWitnesses transmits a beacon from one hotspot (a
// PULL_RESP without inverted polarity, as the hotspot agent sends it) and
// checks that exactly the hotspots the radio model names push it up, at
// the RSSI it says, after the frame's time on air.
func TestBeaconsReachWitnesses(t *testing.T) {
	w, err := world.Generate(world.DefaultConfig(30, 0))
	if err != nil {
		t.Fatal(err)
	}
	m := model(t)
	srvConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srvConn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := air.New(air.Config{}, w, m, nil)
	forwarders(t, ctx, w, a, srvConn.LocalAddr().String())

	// Learn each gateway's address from its PULL_DATA.
	addrs := map[gwmp.EUI64]net.Addr{}
	buf := make([]byte, 65535)
	srvConn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(addrs) < len(w.Hotspots) {
		n, from, err := srvConn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("waiting for PULL_DATA: %v", err)
		}
		var p gwmp.PullData
		if p.UnmarshalBinary(buf[:n]) == nil {
			addrs[p.GatewayID] = from
		}
	}

	const beaconer = 5
	h := w.Hotspots[beaconer]
	payload := bytes.Repeat([]byte{0xb0}, 52)
	payload[0] = 0xe0 // proprietary MHDR
	powe := 16 - int(h.GainDBi)
	eui, _ := gwmp.ParseEUI64(h.GatewayEUI)
	resp, err := gwmp.PullResp{Version: gwmp.Version2, Token: 77, Payload: gwmp.PullRespPayload{TXPK: gwmp.TXPK{Imme: true, Freq: 867.7,
		Powe: int16(powe), Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF9BW125"}, CodR: "4/5", IPol: false, Size: uint16(len(payload)), Data: payload}}}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	if _, err := srvConn.WriteTo(resp, addrs[eui]); err != nil {
		t.Fatal(err)
	}

	tx := radio.Transmission{From: h.Node(), TxPowerDBm: float64(powe), FrequencyHz: 867.7e6, SF: 9, BandwidthHz: 125000, PayloadLen: 52}
	want := map[string]int{}
	for _, r := range w.Hear(m, tx, w.HotspotNodes()) {
		want[w.Hotspots[r.Hotspot].GatewayEUI] = int(r.Reception.RSSI - 0.5) // rounded half away from zero (RSSI < 0)
	}
	if len(want) < 2 {
		t.Fatalf("beacon heard by %d hotspots: pick another beaconer", len(want))
	}
	got := map[string]int{}
	var first time.Time
	srvConn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for len(got) < len(want) {
		n, _, err := srvConn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("witnesses %v, want %v: %v", got, want, err)
		}
		if h, err := gwmp.ParseHeader(buf[:n]); err != nil || h.Type != gwmp.TypePushData {
			continue
		}
		var p gwmp.PushData
		if err := p.UnmarshalBinary(buf[:n]); err != nil {
			t.Fatal(err)
		}
		for _, rx := range p.Payload.RXPK {
			if bytes.Equal(rx.Data, payload) {
				if first.IsZero() {
					first = time.Now()
				}
				if rx.DatR.LoRa != "SF9BW125" || rx.Freq != 867.7 {
					t.Fatalf("rxpk %+v", rx)
				}
				got[p.GatewayID.String()] = int(rx.RSSI)
			}
		}
	}
	for e, rssi := range want {
		if got[e] != rssi {
			t.Errorf("witness %s: rssi %d, want %d", e, got[e], rssi)
		}
	}
	if _, self := got[h.GatewayEUI]; self {
		t.Error("the beaconer heard its own beacon")
	}
	// SF9, 52 bytes: 328.7 ms on air before anyone has it.
	if d := first.Sub(sent); d < 320*time.Millisecond {
		t.Errorf("first witness after %v, before the beacon's time on air", d)
	}
	t.Logf("beacon heard by %d of %d hotspots", len(want), len(w.Hotspots)-1)
	if st := a.Stats(); st.Beacons != 1 || st.BeaconReceptions != uint64(len(want)) {
		t.Errorf("air stats %+v", st)
	}
}

// TestCollisions puts two devices at the same distance from the only
// hotspot and lets them send their join requests at the same moment: on
// one channel they destroy each other, on two channels both get through.
func TestCollisions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		channels [2]uint64
		wantPush int
	}{
		{"same channel", [2]uint64{868_100_000, 868_100_000}, 0},
		{"two channels", [2]uint64{868_100_000, 868_500_000}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := world.Generate(world.Config{City: "paris", Seed: 2, Hotspots: 1, Devices: 2, Companies: 1, UplinkIntervalS: 60})
			if err != nil {
				t.Fatal(err)
			}
			h := w.Hotspots[0]
			for i := range w.Devices {
				// 300 m east and west of the hotspot, 1 m high.
				w.Devices[i].Lat, w.Devices[i].Lng, w.Devices[i].HeightM = h.Lat, h.Lng+float64(2*i-1)*0.0041, h.HeightM
				w.Devices[i].DataRate = "SF7BW125"
			}
			p := radio.DefaultParams()
			p.Collisions, p.ShadowingSigmaDB = true, 0
			m, err := radio.New(p)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a := air.New(air.Config{}, w, m, nil)
			forwarders(t, ctx, w, a, srv.LocalAddr().String())
			for i, wd := range w.Devices {
				c, err := device.FromWorld(wd)
				if err != nil {
					t.Fatal(err)
				}
				c.Channels = []uint64{tc.channels[i]}
				a.AddDevice(i, device.New(c))
			}
			a.Step() // both join requests start within microseconds
			pushes := 0
			buf := make([]byte, 65535)
			srv.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			for {
				n, _, err := srv.ReadFrom(buf)
				if err != nil {
					break
				}
				var p gwmp.PushData
				if p.UnmarshalBinary(buf[:n]) == nil && len(p.Payload.RXPK) > 0 {
					pushes++
				}
			}
			st := a.Stats()
			if pushes != tc.wantPush || st.Collisions != uint64(2-tc.wantPush) || st.Uplinks != 2 {
				t.Fatalf("%d frames pushed, stats %+v; want %d pushed", pushes, st, tc.wantPush)
			}
		})
	}
}
