package bridge

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hexproof/hexproof/firmware-bridge/filter"
	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/firmware-bridge/metrics"
	"github.com/hexproof/hexproof/firmware-bridge/testkit"
	"github.com/hexproof/hexproof/internal/logging"
)

type event struct {
	gatewayID, kind string
	msg             proto.Message
}

type state struct {
	gatewayID string
	online    bool
}

// recorder is a Publisher that keeps everything; block, when set, stalls
// PublishEvent until closed (to prove the UDP reader does not wait).
type recorder struct {
	events chan event
	states chan state
	block  chan struct{}
}

func newRecorder() *recorder {
	return &recorder{events: make(chan event, 100000), states: make(chan state, 1000)}
}

func (r *recorder) PublishEvent(id, kind string, msg proto.Message) bool {
	if r.block != nil {
		<-r.block
	}
	r.events <- event{id, kind, msg}
	return true
}

func (r *recorder) SetGatewayState(id string, online bool) { r.states <- state{id, online} }

func (r *recorder) next(t *testing.T, kind string) event {
	t.Helper()
	for {
		select {
		case e := <-r.events:
			if e.kind == kind {
				return e
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("no %s event", kind)
		}
	}
}

func (r *recorder) nextState(t *testing.T) state {
	t.Helper()
	select {
	case s := <-r.states:
		return s
	case <-time.After(3 * time.Second):
		t.Fatal("no state")
	}
	return state{}
}

type harness struct {
	b    *Bridge
	rec  *recorder
	m    *metrics.Metrics
	addr net.Addr
}

func start(t *testing.T, cfg Config, rec *recorder) *harness {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil {
		rec = newRecorder()
	}
	m := metrics.New()
	b := New(cfg, logging.Discard(), conn, rec, m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if rec.block != nil {
			select {
			case <-rec.block:
			default:
				close(rec.block)
			}
		}
		<-done
	})
	return &harness{b: b, rec: rec, m: m, addr: conn.LocalAddr()}
}

func TestPushData(t *testing.T) {
	for _, version := range []uint8{1, 2} {
		t.Run("v"+string(rune('0'+version)), func(t *testing.T) {
			h := start(t, Config{}, nil)
			g := testkit.NewGateway(t, h.addr, testkit.EUIFor(1), version)
			rx := testkit.Uplink([]byte{0x40, 1, 2, 3, 4, 0, 1, 0, 9, 9, 9, 9}, 0xdeadbeef)
			rx.RSSIS = new(int16)
			*rx.RSSIS = -60
			alti := int32(12)
			lat, lon := 52.1, 5.2
			tok := g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{rx}, Stat: &gwmp.Stat{RXNb: 3, RXOK: 2, Lati: &lat, Long: &lon, Alti: &alti}})
			g.ExpectAck(gwmp.TypePushAck, tok)

			up := h.rec.next(t, "up")
			f := up.msg.(*gw.UplinkFrame)
			if up.gatewayID != "0b0b000000000001" || f.RxInfo.GatewayId != up.gatewayID {
				t.Fatalf("gateway id %q / %q", up.gatewayID, f.RxInfo.GatewayId)
			}
			if string(f.PhyPayload) != string(rx.Data) || f.TxInfo.Frequency != 868100000 || f.RxInfo.Rssi != -57 || f.RxInfo.Snr != 7 ||
				f.TxInfo.GetModulation().GetLora().GetSpreadingFactor() != 7 || string(f.RxInfo.Context) != "\xde\xad\xbe\xef" ||
				f.RxInfo.Metadata["rssis"] != "-60" || f.RxInfo.CrcStatus != gw.CRCStatus_CRC_OK {
				t.Fatalf("uplink %v", f)
			}
			st := h.rec.next(t, "stats").msg.(*gw.GatewayStats)
			if st.RxPacketsReceived != 3 || st.RxPacketsReceivedOk != 2 || st.Location.GetAltitude() != 12 {
				t.Fatalf("stats %v", st)
			}
			if n := value(h.m.UDPIn.WithLabelValues("push_data")); n != 1 {
				t.Fatalf("push_data in = %v", n)
			}
			if n := value(h.m.UDPOut.WithLabelValues("push_ack")); n != 1 {
				t.Fatalf("push_ack out = %v", n)
			}
		})
	}
}

func TestUplinkDrops(t *testing.T) {
	f, err := filter.Parse([]string{"000013"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, Config{Filter: f}, nil)
	g := testkit.NewGateway(t, h.addr, testkit.EUIFor(2), 2)
	bad := testkit.Uplink([]byte{1}, 1)
	bad.Stat = -1
	foreign := testkit.Uplink([]byte{0x40, 1, 2, 3, 4, 0, 1, 0, 9, 9, 9, 9}, 2) // DevAddr 04030201 is not NetID 000013
	badDatr := testkit.Uplink([]byte{0xe0, 1}, 3)
	badDatr.DatR.LoRa = "SF77BW1"
	good := testkit.Uplink([]byte{0xe0, 2}, 4) // proprietary frames pass filters
	tok := g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{bad, foreign, badDatr, good}})
	g.ExpectAck(gwmp.TypePushAck, tok)
	if f := h.rec.next(t, "up").msg.(*gw.UplinkFrame); string(f.PhyPayload) != "\xe0\x02" {
		t.Fatalf("forwarded %x", f.PhyPayload)
	}
	for _, reason := range []string{"crc", "filter", "invalid"} {
		if n := value(h.m.UplinksDropped.WithLabelValues(reason)); n != 1 {
			t.Errorf("dropped %s = %v, want 1", reason, n)
		}
	}
}

func TestPullDataOnlineAndExpiry(t *testing.T) {
	h := start(t, Config{GatewayExpiry: time.Second}, nil)
	g := testkit.NewGateway(t, h.addr, testkit.EUIFor(3), 2)
	tok := g.Pull()
	g.ExpectAck(gwmp.TypePullAck, tok)
	if s := h.rec.nextState(t); s != (state{"0b0b000000000003", true}) {
		t.Fatalf("state %+v", s)
	}
	// Keep-alives within the expiry keep it online.
	var lastPull time.Time
	for range 5 {
		time.Sleep(100 * time.Millisecond)
		lastPull = time.Now()
		g.ExpectAck(gwmp.TypePullAck, g.Pull())
	}
	select {
	case s := <-h.rec.states:
		t.Fatalf("state changed while keep-alives arrive: %+v", s)
	default:
	}
	if _, ok := h.b.GatewayAddr(g.EUI); !ok {
		t.Fatal("gateway address not known")
	}
	if s := h.rec.nextState(t); s != (state{"0b0b000000000003", false}) {
		t.Fatalf("state %+v", s)
	}
	if d := time.Since(lastPull); d < time.Second {
		t.Fatalf("expired %s after the last pull_data, before the 1s expiry", d)
	}
	if _, ok := h.b.GatewayAddr(g.EUI); ok {
		t.Fatal("expired gateway still has an address")
	}
	// A downlink for it now fails at once with an ack.
	h.b.HandleDownlink(downlinkFrame("0b0b000000000003", 7, 1))
	ack := h.rec.next(t, "ack").msg.(*gw.DownlinkTxAck)
	if ack.DownlinkId != 7 || ack.Items[0].Status != gw.TxAckStatus_INTERNAL_ERROR {
		t.Fatalf("ack %v", ack)
	}
}

func downlinkFrame(id string, downlinkID uint32, items int) *gw.DownlinkFrame {
	f := &gw.DownlinkFrame{GatewayId: id, DownlinkId: downlinkID}
	for i := range items {
		f.Items = append(f.Items, &gw.DownlinkFrameItem{PhyPayload: []byte{0x60, byte(i)}, TxInfo: &gw.DownlinkTxInfo{
			Frequency: uint32(868100000 + i*1425000), Power: 14, Context: []byte{0, 0, 0, 100},
			Modulation: &gw.Modulation{Parameters: &gw.Modulation_Lora{Lora: &gw.LoraModulationInfo{Bandwidth: 125000, SpreadingFactor: uint32(7 + 2*i), CodeRate: gw.CodeRate_CR_4_5, PolarizationInversion: true}}},
			Timing:     &gw.Timing{Parameters: &gw.Timing_Delay{Delay: &gw.DelayTimingInfo{Delay: durationpb.New(time.Duration(1+i) * time.Second)}}},
		}})
	}
	return f
}

func online(t *testing.T, h *harness, i int, version uint8) *testkit.Gateway {
	t.Helper()
	g := testkit.NewGateway(t, h.addr, testkit.EUIFor(i), version)
	g.ExpectAck(gwmp.TypePullAck, g.Pull())
	h.rec.nextState(t)
	return g
}

func TestDownlinkRX1ThenRX2(t *testing.T) {
	h := start(t, Config{}, nil)
	g := online(t, h, 4, 2)
	h.b.HandleDownlink(downlinkFrame(g.EUI.String(), 42, 2))

	rx1 := g.ExpectPullResp()
	if p := rx1.Payload.TXPK; *p.Tmst != 100+1000000 || p.Freq != 868.1 || p.DatR.LoRa != "SF7BW125" || !p.IPol || string(p.Data) != "\x60\x00" {
		t.Fatalf("rx1 txpk %+v", p)
	}
	g.TxAck(rx1.Token, "TOO_LATE", "")
	rx2 := g.ExpectPullResp()
	if p := rx2.Payload.TXPK; *p.Tmst != 100+2000000 || p.Freq != 869.525 || p.DatR.LoRa != "SF9BW125" || string(p.Data) != "\x60\x01" {
		t.Fatalf("rx2 txpk %+v", p)
	}
	g.TxAck(rx2.Token, "NONE", "")
	ack := h.rec.next(t, "ack").msg.(*gw.DownlinkTxAck)
	if ack.GatewayId != g.EUI.String() || ack.DownlinkId != 42 || len(ack.Items) != 2 ||
		ack.Items[0].Status != gw.TxAckStatus_TOO_LATE || ack.Items[1].Status != gw.TxAckStatus_OK {
		t.Fatalf("ack %v", ack)
	}
	// A late duplicate TX_ACK is ignored.
	g.TxAck(rx2.Token, "", "")
	time.Sleep(50 * time.Millisecond)
	select {
	case e := <-h.rec.events:
		t.Fatalf("duplicate tx_ack produced %v", e)
	default:
	}
}

func TestTxAckStatuses(t *testing.T) {
	h := start(t, Config{}, nil)
	g := online(t, h, 5, 2)
	tests := []struct {
		err, warn string
		want      []gw.TxAckStatus
	}{
		{"", "", []gw.TxAckStatus{gw.TxAckStatus_OK, gw.TxAckStatus_IGNORED}},
		{"", "TX_POWER", []gw.TxAckStatus{gw.TxAckStatus_OK, gw.TxAckStatus_IGNORED}},
		{"TOO_EARLY", "", []gw.TxAckStatus{gw.TxAckStatus_TOO_EARLY, gw.TxAckStatus_OK}},
		{"COLLISION_PACKET", "", []gw.TxAckStatus{gw.TxAckStatus_COLLISION_PACKET, gw.TxAckStatus_OK}},
		{"COLLISION_BEACON", "", []gw.TxAckStatus{gw.TxAckStatus_COLLISION_BEACON, gw.TxAckStatus_OK}},
		{"TX_FREQ", "", []gw.TxAckStatus{gw.TxAckStatus_TX_FREQ, gw.TxAckStatus_OK}},
		{"TX_POWER", "", []gw.TxAckStatus{gw.TxAckStatus_TX_POWER, gw.TxAckStatus_OK}},
		{"GPS_UNLOCKED", "", []gw.TxAckStatus{gw.TxAckStatus_GPS_UNLOCKED, gw.TxAckStatus_OK}},
	}
	for i, tt := range tests {
		t.Run(tt.err+tt.warn, func(t *testing.T) {
			h.b.HandleDownlink(downlinkFrame(g.EUI.String(), uint32(i), 2))
			p := g.ExpectPullResp()
			g.TxAck(p.Token, tt.err, tt.warn)
			if tt.want[0] != gw.TxAckStatus_OK {
				g.TxAck(g.ExpectPullResp().Token, "", "")
			}
			ack := h.rec.next(t, "ack").msg.(*gw.DownlinkTxAck)
			got := []gw.TxAckStatus{ack.Items[0].Status, ack.Items[1].Status}
			if got[0] != tt.want[0] || got[1] != tt.want[1] || ack.DownlinkId != uint32(i) {
				t.Fatalf("statuses %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTxAckTimeout(t *testing.T) {
	h := start(t, Config{TxAckTimeout: 100 * time.Millisecond}, nil)
	g := online(t, h, 6, 2)
	begin := time.Now()
	h.b.HandleDownlink(downlinkFrame(g.EUI.String(), 9, 2))
	p := g.ExpectPullResp()
	ack := h.rec.next(t, "ack").msg.(*gw.DownlinkTxAck)
	if time.Since(begin) < 100*time.Millisecond {
		t.Fatalf("timed out after %s, before the 100ms timeout", time.Since(begin))
	}
	if ack.Items[0].Status != gw.TxAckStatus_INTERNAL_ERROR || ack.Items[1].Status != gw.TxAckStatus_IGNORED {
		t.Fatalf("ack %v", ack)
	}
	if n := value(h.m.AckStatus.WithLabelValues("TX_ACK_TIMEOUT")); n != 1 {
		t.Fatalf("timeout metric %v", n)
	}
	// The TX_ACK arriving after the timeout changes nothing.
	g.TxAck(p.Token, "", "")
	if _, ok := g.TryRead(100 * time.Millisecond); ok {
		t.Fatal("bridge sent another item after the timeout")
	}
}

func TestDownlinkV1AndImmediate(t *testing.T) {
	h := start(t, Config{}, nil)
	g := online(t, h, 7, 1)
	f := downlinkFrame(g.EUI.String(), 3, 1)
	f.Items[0].TxInfo.Timing = &gw.Timing{Parameters: &gw.Timing_Immediately{Immediately: &gw.ImmediatelyTimingInfo{}}}
	h.b.HandleDownlink(f)
	p := g.ExpectPullResp()
	if p.Version != 1 || !p.Payload.TXPK.Imme || p.Payload.TXPK.Tmst != nil {
		t.Fatalf("pull_resp %+v", p)
	}
	ack := h.rec.next(t, "ack").msg.(*gw.DownlinkTxAck)
	if ack.Items[0].Status != gw.TxAckStatus_OK {
		t.Fatalf("v1 ack %v", ack)
	}
	// A bad item is skipped for the next one.
	f = downlinkFrame(g.EUI.String(), 4, 2)
	f.Items[0].TxInfo.Context = nil
	h.b.HandleDownlink(f)
	if p := g.ExpectPullResp(); string(p.Payload.TXPK.Data) != "\x60\x01" {
		t.Fatalf("sent %x", p.Payload.TXPK.Data)
	}
	ack = h.rec.next(t, "ack").msg.(*gw.DownlinkTxAck)
	if ack.Items[0].Status != gw.TxAckStatus_INTERNAL_ERROR || ack.Items[1].Status != gw.TxAckStatus_OK {
		t.Fatalf("ack %v", ack)
	}
}

func TestBadDatagrams(t *testing.T) {
	h := start(t, Config{}, nil)
	g := testkit.NewGateway(t, h.addr, testkit.EUIFor(8), 2)
	eui := g.EUI[:]
	bad := map[string][]byte{
		"truncated":       {2, 0},
		"version":         {9, 0, 1, 0},
		"unknown_type":    {2, 0, 1, 0x42},
		"malformed":       append(append([]byte{2, 0, 1, 0}, eui...), `{"rxpk":[{"tmst":`...),
		"unexpected_type": {2, 0, 1, byte(gwmp.TypePushAck)},
	}
	for reason, b := range bad {
		for range 3 {
			g.Send(b)
		}
		_ = reason
	}
	g.Send(append([]byte{2, 0, 1, 2}, eui[:4]...)) // truncated pull_data
	// The bridge still works.
	tok := g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink([]byte{0xe0}, 1)}})
	g.ExpectAck(gwmp.TypePushAck, tok)
	h.rec.next(t, "up")
	for reason, want := range map[string]float64{"truncated": 4, "version": 3, "unknown_type": 3, "malformed": 3, "unexpected_type": 3} {
		if n := value(h.m.ParseErrors.WithLabelValues(reason)); n != want {
			t.Errorf("parse errors %s = %v, want %v", reason, n, want)
		}
	}
}

// The reader never waits for a stalled pipeline: datagrams beyond the
// queue are dropped and counted, and PULL_DATA of other gateways (other
// worker) keeps being answered.
func TestReaderNeverBlocks(t *testing.T) {
	rec := newRecorder()
	rec.block = make(chan struct{})
	h := start(t, Config{Workers: 1, QueueSize: 4}, rec)
	g := testkit.NewGateway(t, h.addr, testkit.EUIFor(9), 2)
	for i := range 100 {
		g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink([]byte{0xe0, byte(i)}, uint32(i))}})
	}
	// While the worker is stalled the reader keeps reading: all but those
	// that fit in the queue (4) and the worker's batch in hand are dropped.
	deadline := time.Now().Add(3 * time.Second)
	for value(h.m.UDPDropped) < 100-4-batchSize {
		if time.Now().After(deadline) {
			t.Fatalf("dropped %v of 100 although the worker is stalled", value(h.m.UDPDropped))
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(rec.block)
	for value(h.m.UDPIn.WithLabelValues("push_data"))+value(h.m.UDPDropped) < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("in %v + dropped %v != 100", value(h.m.UDPIn.WithLabelValues("push_data")), value(h.m.UDPDropped))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestManyGateways(t *testing.T) {
	h := start(t, Config{}, nil)
	if h.b.pc == nil {
		t.Fatal("no batched I/O on an IPv4 socket")
	}
	const gateways, each = 50, 20
	var wg sync.WaitGroup
	for i := range gateways {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := testkit.NewGateway(t, h.addr, testkit.EUIFor(100+i), 2)
			g.ExpectAck(gwmp.TypePullAck, g.Pull())
			for j := range each {
				tok := g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink([]byte{0xe0, byte(i), byte(j)}, uint32(j))}})
				g.ExpectAck(gwmp.TypePushAck, tok)
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for range gateways * each {
		e := h.rec.next(t, "up")
		seen[e.gatewayID]++
	}
	if len(seen) != gateways {
		t.Fatalf("%d gateways seen", len(seen))
	}
	for id, n := range seen {
		if n != each {
			t.Fatalf("gateway %s: %d uplinks", id, n)
		}
	}
	if n := value(h.m.Gateways); n != gateways {
		t.Fatalf("gateways gauge %v", n)
	}
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// On an IPv6 (or dual-stack) socket the bridge uses plain reads and writes
// instead of the IPv4 batch calls.
func TestIPv6Socket(t *testing.T) {
	conn, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	rec := newRecorder()
	b := New(Config{}, logging.Discard(), conn, rec, nil)
	if b.pc != nil {
		t.Fatal("batch I/O on an IPv6 socket")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	h := &harness{b: b, rec: rec, addr: conn.LocalAddr()}
	g := testkit.NewGateway(t, h.addr, testkit.EUIFor(0x66), 2)
	g.ExpectAck(gwmp.TypePullAck, g.Pull())
	g.ExpectAck(gwmp.TypePushAck, g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink([]byte{0xe0}, 1)}}))
	rec.next(t, "up")
	h.b.HandleDownlink(downlinkFrame(g.EUI.String(), 1, 1))
	p := g.ExpectPullResp()
	g.TxAck(p.Token, "", "")
	if ack := rec.next(t, "ack").msg.(*gw.DownlinkTxAck); ack.Items[0].Status != gw.TxAckStatus_OK {
		t.Fatalf("ack %v", ack)
	}
}

// Stats events carry the bridge's own per-frequency, per-modulation and
// per-status counts since the previous stat, like ChirpStack's bridge.
func TestStatsCounters(t *testing.T) {
	h := start(t, Config{}, nil)
	g := online(t, h, 0x57, 2)
	up1 := testkit.Uplink([]byte{0xe0, 1}, 1)
	up2 := testkit.Uplink([]byte{0xe0, 2}, 2)
	up3 := testkit.Uplink([]byte{0xe0, 3}, 3)
	up3.Freq = 868.3
	g.ExpectAck(gwmp.TypePushAck, g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{up1, up2, up3}}))
	h.b.HandleDownlink(downlinkFrame(g.EUI.String(), 1, 2))
	g.TxAck(g.ExpectPullResp().Token, "TOO_LATE", "")
	g.TxAck(g.ExpectPullResp().Token, "", "")
	h.rec.next(t, "ack")

	g.ExpectAck(gwmp.TypePushAck, g.Push(gwmp.PushDataPayload{Stat: &gwmp.Stat{RXNb: 3}}))
	st := h.rec.next(t, "stats").msg.(*gw.GatewayStats)
	if st.RxPacketsPerFrequency[868100000] != 2 || st.RxPacketsPerFrequency[868300000] != 1 || len(st.RxPacketsPerModulation) != 1 ||
		st.RxPacketsPerModulation[0].Count != 3 || st.RxPacketsPerModulation[0].Modulation.GetLora().GetSpreadingFactor() != 7 {
		t.Fatalf("rx counters %v", st)
	}
	if st.TxPacketsPerStatus["TOO_LATE"] != 1 || st.TxPacketsPerStatus["OK"] != 1 || st.TxPacketsPerFrequency[869525000] != 1 ||
		len(st.TxPacketsPerModulation) != 1 || st.TxPacketsPerModulation[0].Modulation.GetLora().GetSpreadingFactor() != 9 {
		t.Fatalf("tx counters %v", st)
	}
	g.ExpectAck(gwmp.TypePushAck, g.Push(gwmp.PushDataPayload{Stat: &gwmp.Stat{}}))
	if st := h.rec.next(t, "stats").msg.(*gw.GatewayStats); len(st.RxPacketsPerFrequency) != 0 || len(st.TxPacketsPerStatus) != 0 {
		t.Fatalf("counters not reset: %v", st)
	}
}
