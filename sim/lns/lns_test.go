package lns_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/sim/device"
	"github.com/hexproof/hexproof/sim/lns"
	"github.com/hexproof/hexproof/sim/pktfwd"
	"github.com/hexproof/hexproof/sim/sensor"
	simworld "github.com/hexproof/hexproof/sim/world"
)

type message struct {
	topic   string
	payload []byte
}

// subscribe collects every message under prefix.
func subscribe(t *testing.T, prefix string) <-chan message {
	t.Helper()
	c := testsvc.MQTTClient(t)
	ch := make(chan message, 100)
	tok := c.Subscribe(prefix+"application/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		ch <- message{topic: m.Topic(), payload: append([]byte(nil), m.Payload()...)}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return ch
}

func nextMessage(t *testing.T, ch <-chan message) message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no MQTT message within 5 s")
	}
	return message{}
}

type gatewaySim struct {
	f    *pktfwd.Forwarder
	down chan pktfwd.Downlink
}

func startGateway(t *testing.T, ctx context.Context, eui gwmp.EUI64, server string, outcome func(pktfwd.Downlink) string) *gatewaySim {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gatewaySim{down: make(chan pktfwd.Downlink, 10)}
	g.f, err = pktfwd.New(pktfwd.Config{GatewayEUI: eui, Server: server, KeepaliveInterval: 50 * time.Millisecond, StatInterval: -1,
		TxOutcome: outcome}, conn, nil, func(d pktfwd.Downlink) { g.down <- d })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); g.f.Run(ctx) }()
	t.Cleanup(func() { <-done })
	return g
}

// hear delivers a device frame to the gateway as the radio would, and
// returns the concentrator tmst of the reception.
func (g *gatewaySim) hear(t *testing.T, phy []byte, rssi, snr float64) uint32 {
	t.Helper()
	tmst := g.f.Tmst(time.Now())
	if err := g.f.Send(pktfwd.Uplink{PHYPayload: phy, FrequencyHz: 868_300_000, DataRate: "SF7BW125", RSSI: rssi, SNR: snr, Tmst: tmst}); err != nil {
		t.Fatal(err)
	}
	return tmst
}

func (g *gatewaySim) downlink(t *testing.T) pktfwd.Downlink {
	t.Helper()
	select {
	case d := <-g.down:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no downlink within 5 s")
	}
	return pktfwd.Downlink{}
}

func (g *gatewaySim) noDownlink(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case d := <-g.down:
		t.Fatalf("unexpected downlink %+v", d)
	case <-time.After(wait):
	}
}

// delay is the time from the uplink to the downlink on the gateway's
// counter, which is what the device's receive windows measure.
func delay(uplinkTmst uint32, d pktfwd.Downlink) time.Duration {
	return time.Duration(*d.TXPK.Tmst-uplinkTmst) * time.Microsecond
}

var (
	devEUI  = lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0x00, 0x00, 0x01}
	joinEUI = lorawan.EUI64{0x6d, 0xdf, 0x0e, 0x76, 0x15, 0x9a, 0x75, 0xdf}
	appKey  = lorawan.AES128Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
)

type world struct {
	srv     *lns.Server
	a, b    *gatewaySim
	msgs    <-chan message
	prefix  string
	dev     *device.Device
	failRX1 *atomic.Bool
}

func setup(t *testing.T) *world {
	t.Helper()
	prefix := testsvc.TopicPrefix(t)
	msgs := subscribe(t, prefix)
	pubClient := testsvc.MQTTClient(t)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := lns.New(lns.Config{Company: "acme", NetID: lorawan.NetID{0, 0, 0x3c}, DevAddrStart: lorawan.DevAddr{0x78, 0, 0, 0},
		DevAddrCount: 16, TopicPrefix: prefix, DedupWindow: 150 * time.Millisecond,
		Devices: []lns.DeviceKeys{{DevEUI: devEUI, JoinEUI: joinEUI, AppKey: appKey}}},
		conn, lns.PahoPublisher(pubClient, 1, 5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(ctx) }()
	failRX1 := &atomic.Bool{}
	// Gateway A hears best; it refuses RX1 frames while failRX1 is set.
	a := startGateway(t, ctx, gwmp.EUI64{0xa, 0, 0, 0, 0, 0, 0, 1}, conn.LocalAddr().String(), func(d pktfwd.Downlink) string {
		if failRX1.Load() && d.TXPK.Freq != 869.525 {
			return gwmp.TxAckTooLate
		}
		return d.Outcome
	})
	b := startGateway(t, ctx, gwmp.EUI64{0xb, 0, 0, 0, 0, 0, 0, 2}, conn.LocalAddr().String(), nil)
	t.Cleanup(func() {
		cancel()
		if err := <-srvDone; err != nil {
			t.Errorf("lns Run: %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for !a.f.Connected() || !b.f.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("gateways never got a PULL_ACK")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &world{srv: srv, a: a, b: b, msgs: msgs, prefix: prefix, failRX1: failRX1,
		dev: device.New(device.Config{DevEUI: devEUI, JoinEUI: joinEUI, AppKey: appKey, ConfirmedEvery: 2})}
}

// join runs OTAA through both gateways.
func (w *world) join(t *testing.T) {
	t.Helper()
	jr, ok := w.dev.Step(time.Now())
	if !ok || jr.Kind != device.KindJoinRequest {
		t.Fatalf("device sent %+v, want a join request", jr)
	}
	ta := w.a.hear(t, jr.PHYPayload, -80, 9)
	w.b.hear(t, jr.PHYPayload, -110, -3)
	accept := w.a.downlink(t)
	if got := delay(ta, accept); got != 5*time.Second {
		t.Fatalf("join accept %v after the join request, want 5s (RX1 of a join)", got)
	}
	ev, err := w.dev.HandleDownlink(accept.TXPK.Data, delay(ta, accept))
	if err != nil || ev.Kind != device.EventJoined {
		t.Fatalf("device refused the join accept: %+v %v", ev, err)
	}
}

func TestJoinUplinksAndAck(t *testing.T) {
	w := setup(t)
	w.join(t)
	w.b.noDownlink(t, 0)

	sess, ok := w.srv.Session(devEUI)
	nwk, app := w.dev.SessionKeys()
	if !ok || !sess.Joined || sess.DevAddr != w.dev.DevAddr() || sess.NwkSKey != nwk || sess.AppSKey != app {
		t.Fatalf("server session %+v, device addr %s: keys or address differ", sess, w.dev.DevAddr())
	}
	if w.dev.DevAddr()[0] != 0x78 || w.dev.DevAddr()[3] >= 16 {
		t.Fatalf("DevAddr %s outside the range", w.dev.DevAddr())
	}
	m := nextMessage(t, w.msgs)
	if want := w.prefix + "application/acme/device/" + devEUI.String() + "/event/join"; m.topic != want {
		t.Fatalf("topic %s, want %s", m.topic, want)
	}

	// Uplink 0 is unconfirmed (ConfirmedEvery 2 confirms 1, 3, ...).
	up, ok := w.dev.Step(time.Now())
	if !ok || up.Kind != device.KindData || up.Confirmed || up.FCnt != 0 {
		t.Fatalf("first uplink %+v", up)
	}
	w.a.hear(t, up.PHYPayload, -80, 9)
	w.b.hear(t, up.PHYPayload, -110, -3)
	m = nextMessage(t, w.msgs)
	if want := w.prefix + "application/acme/device/" + devEUI.String() + "/event/up"; m.topic != want {
		t.Fatalf("topic %s, want %s", m.topic, want)
	}
	var ev lns.UplinkEvent
	if err := json.Unmarshal(m.payload, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.DevEUI != hex.EncodeToString(devEUI[:]) || ev.FCnt != 0 || ev.FPort != sensor.FPort || ev.Confirmed || ev.Company != "acme" ||
		ev.DataRate != "SF7BW125" || ev.FrequencyHz != 868_300_000 || ev.Decoded == nil {
		t.Fatalf("event %s", m.payload)
	}
	want, err := sensor.Decode(ev.Data)
	if err != nil || *ev.Decoded != want || len(ev.Data) != sensor.Size {
		t.Fatalf("decoded %+v from %x (%v)", ev.Decoded, ev.Data, err)
	}
	// The raw JSON has data as base64 and both gateways, best first.
	var raw map[string]any
	json.Unmarshal(m.payload, &raw)
	if _, ok := raw["data"].(string); !ok {
		t.Fatalf("data is not a base64 string: %s", m.payload)
	}
	if len(ev.Gateways) != 2 || ev.Gateways[0].GatewayID != "0a00000000000001" || ev.Gateways[0].RSSI != -80 || ev.Gateways[0].SNR != 9 ||
		ev.Gateways[1].RSSI != -110 || ev.Gateways[1].SNR != -3 {
		t.Fatalf("gateways %+v", ev.Gateways)
	}
	w.a.noDownlink(t, 100*time.Millisecond) // unconfirmed: no ack

	// Uplink 1 is confirmed: one event, and the ack in RX1 at tmst + 1 s
	// through the better gateway.
	up, ok = w.dev.Step(time.Now().Add(time.Hour))
	if !ok || !up.Confirmed || up.FCnt != 1 {
		t.Fatalf("second uplink %+v", up)
	}
	ta := w.a.hear(t, up.PHYPayload, -85, 7)
	w.b.hear(t, up.PHYPayload, -100, 1)
	ack := w.a.downlink(t)
	if *ack.TXPK.Tmst != ta+1_000_000 {
		t.Fatalf("ack PULL_RESP tmst %d, want uplink tmst %d + 1000000", *ack.TXPK.Tmst, ta)
	}
	if ack.TXPK.Freq != 868.3 || ack.TXPK.DatR.LoRa != "SF7BW125" || !ack.TXPK.IPol || ack.Outcome != gwmp.TxAckNone {
		t.Fatalf("ack txpk %+v", ack.TXPK)
	}
	dev, err := w.dev.HandleDownlink(ack.TXPK.Data, delay(ta, ack))
	if err != nil || dev.Kind != device.EventAck || w.dev.AwaitingAck() || w.dev.Stats().Acked != 1 {
		t.Fatalf("device did not take the ack: %+v %v", dev, err)
	}
	m = nextMessage(t, w.msgs)
	if err := json.Unmarshal(m.payload, &ev); err != nil || !ev.Confirmed || ev.FCnt != 1 {
		t.Fatalf("confirmed event %s", m.payload)
	}
	w.b.noDownlink(t, 0)

	// The same frame again (a replay, or a copy after the dedup window)
	// is dropped: no event, no ack.
	w.b.hear(t, up.PHYPayload, -100, 1)
	w.a.noDownlink(t, 200*time.Millisecond)
	select {
	case m := <-w.msgs:
		t.Fatalf("replayed frame published: %s", m.payload)
	default:
	}
	st := w.srv.Stats()
	if st.Joins != 1 || st.Uplinks != 2 || st.Confirmed != 1 || st.Replays != 1 || st.Duplicates != 3 || st.Published != 3 ||
		st.Downlinks != 2 || st.TxAcked != 2 {
		t.Fatalf("server stats %+v", st)
	}
}

func TestAckFallsBackToRX2(t *testing.T) {
	w := setup(t)
	w.join(t)
	nextMessage(t, w.msgs) // join event
	w.failRX1.Store(true)
	w.dev.Step(time.Now()) // uplink 0, unconfirmed
	up, ok := w.dev.Step(time.Now().Add(time.Hour))
	if !ok || !up.Confirmed {
		t.Fatalf("uplink %+v", up)
	}
	ta := w.a.hear(t, up.PHYPayload, -85, 7)
	ack := w.a.downlink(t) // RX1 was refused TOO_LATE, so this is RX2
	if *ack.TXPK.Tmst != ta+2_000_000 || ack.TXPK.Freq != 869.525 || ack.TXPK.DatR.LoRa != "SF12BW125" {
		t.Fatalf("RX2 retry %+v (tmst %d, uplink %d)", ack.TXPK, *ack.TXPK.Tmst, ta)
	}
	if ev, err := w.dev.HandleDownlink(ack.TXPK.Data, delay(ta, ack)); err != nil || ev.Kind != device.EventAck {
		t.Fatalf("device refused the RX2 ack: %v", err)
	}
	st := w.srv.Stats()
	if st.TxRefused != 1 || st.RX2Retries != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestJoinRejections(t *testing.T) {
	w := setup(t)
	// A join request signed with the wrong key gets no answer.
	bad := device.New(device.Config{DevEUI: devEUI, JoinEUI: joinEUI, AppKey: lorawan.AES128Key{1}})
	jr, _ := bad.Step(time.Now())
	w.a.hear(t, jr.PHYPayload, -80, 9)
	// An unknown device neither.
	stranger := device.New(device.Config{DevEUI: lorawan.EUI64{9}, JoinEUI: joinEUI, AppKey: appKey})
	jr2, _ := stranger.Step(time.Now())
	w.a.hear(t, jr2.PHYPayload, -80, 9)
	w.a.noDownlink(t, 200*time.Millisecond)
	// The good device joins; a replay of its join request (same DevNonce)
	// is refused.
	jr3, _ := w.dev.Step(time.Now())
	ta := w.a.hear(t, jr3.PHYPayload, -80, 9)
	accept := w.a.downlink(t)
	if _, err := w.dev.HandleDownlink(accept.TXPK.Data, delay(ta, accept)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	w.a.hear(t, jr3.PHYPayload, -80, 9)
	w.a.noDownlink(t, 200*time.Millisecond)
	st := w.srv.Stats()
	if st.Joins != 1 || st.JoinsRejected != 3 || st.MICFailures != 1 || st.Replays != 1 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.HasPrefix(w.dev.DevAddr().String(), "78") {
		t.Fatalf("dev addr %s", w.dev.DevAddr())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	conn, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer conn.Close()
	pub := lns.PahoPublisher(nil, 0, 0)
	for name, cfg := range map[string]lns.Config{
		"no company":  {DevAddrCount: 1},
		"wildcard":    {Company: "a/b", DevAddrCount: 1},
		"no devaddrs": {Company: "acme"},
	} {
		if _, err := lns.New(cfg, conn, pub, nil); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := lns.New(lns.Config{Company: "acme", DevAddrCount: 1}, conn, nil, nil); err == nil {
		t.Error("nil publisher accepted")
	}
}

func TestConfigFromWorld(t *testing.T) {
	w, err := simworld.Generate(simworld.DefaultConfig(20, 7))
	if err != nil {
		t.Fatal(err)
	}
	c, err := lns.ConfigFromWorld(w, "globex")
	if err != nil {
		t.Fatal(err)
	}
	if c.Company != "globex" || c.NetID.String() != "00003c" || c.DevAddrStart.String() != "78000800" || c.DevAddrCount != 2048 || len(c.Devices) != 3 {
		t.Fatalf("config %+v", c)
	}
	for i, k := range c.Devices {
		wd := w.Devices[2*i+1]
		if k.DevEUI.String() != wd.DevEUI || k.AppKey.String() != wd.AppKey || k.JoinEUI.String() != wd.JoinEUI {
			t.Fatalf("device %d keys %+v, world %+v", i, k, wd)
		}
	}
	if _, err := lns.ConfigFromWorld(w, "nobody"); err == nil {
		t.Fatal("unknown company accepted")
	}
}
