package mqtt

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/firmware-bridge/metrics"
	"github.com/hexproof/hexproof/firmware-bridge/testkit"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
)

type received struct {
	topic    string
	payload  []byte
	retained bool
}

func subscribe(t *testing.T, c paho.Client, filter string) chan received {
	t.Helper()
	ch := make(chan received, 10000)
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		ch <- received{m.Topic(), m.Payload(), m.Retained()}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return ch
}

func expect(t *testing.T, ch chan received, topic string) received {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case r := <-ch:
			if r.topic == topic {
				return r
			}
		case <-timeout:
			t.Fatalf("nothing on %s", topic)
		}
	}
}

func decode(t *testing.T, mar Marshaler, b []byte, msg proto.Message) {
	t.Helper()
	var err error
	if mar == JSON {
		err = protojson.Unmarshal(b, msg)
	} else {
		err = proto.Unmarshal(b, msg)
	}
	if err != nil {
		t.Fatalf("decode %T (%s): %v\n%q", msg, mar, err, b)
	}
}

func testConfig(server, prefix string, mar Marshaler) Config {
	return Config{Server: server, ClientID: "fb-test-" + prefix[:len(prefix)-1], TopicPrefix: prefix, Marshaler: mar, QoS: 1,
		Connections: 2, QueueSize: 100000, Inflight: 100, StateRetained: true, ShutdownTimeout: 3 * time.Second}
}

func runIntegration(t *testing.T, cfg Config, h CommandHandler) (*Integration, *metrics.Metrics, context.CancelFunc, chan struct{}) {
	t.Helper()
	m := metrics.New()
	it, err := New(cfg, logging.Discard(), m, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { it.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return it, m, cancel, done
}

func clearRetained(t *testing.T, c paho.Client, topics ...string) {
	t.Cleanup(func() {
		for _, tp := range topics {
			c.Publish(tp, 1, true, []byte{}).WaitTimeout(2 * time.Second)
		}
	})
}

func TestEventsStatesCommands(t *testing.T) {
	for _, mar := range []Marshaler{Protobuf, JSON} {
		t.Run(mar.String(), func(t *testing.T) {
			sub := testsvc.MQTTClient(t)
			prefix := testsvc.TopicPrefix(t)
			cfg := testConfig(testsvc.MQTTURL(t), prefix, mar)
			events := subscribe(t, sub, prefix+"#")
			gid := "0102030405060708"
			clearRetained(t, sub, prefix+"gateway/"+gid+"/state/conn", prefix+"bridge/"+cfg.ClientID+"/state/conn")

			cmds := make(chan *gw.DownlinkFrame, 10)
			it, _, cancel, done := runIntegration(t, cfg, HandlerFunc(func(d *gw.DownlinkFrame) { cmds <- d }))

			var cs gw.ConnState
			r := expect(t, events, prefix+"bridge/"+cfg.ClientID+"/state/conn")
			decode(t, mar, r.payload, &cs)
			if cs.State != gw.ConnState_ONLINE {
				t.Fatalf("bridge state %v", &cs)
			}

			it.SetGatewayState(gid, true)
			r = expect(t, events, prefix+"gateway/"+gid+"/state/conn")
			decode(t, mar, r.payload, &cs)
			if cs.State != gw.ConnState_ONLINE || cs.GatewayId != gid {
				t.Fatalf("state %v", &cs)
			}
			// A late subscriber gets the state retained.
			late := testsvc.MQTTClient(t)
			r = expect(t, subscribe(t, late, prefix+"gateway/+/state/conn"), prefix+"gateway/"+gid+"/state/conn")
			if !r.retained {
				t.Fatal("state/conn not retained")
			}

			up := &gw.UplinkFrame{PhyPayload: []byte{1, 2, 3}, TxInfo: &gw.UplinkTxInfo{Frequency: 868100000},
				RxInfo: &gw.UplinkRxInfo{GatewayId: gid, UplinkId: 77, Rssi: -50, Context: []byte{0, 0, 0, 1}}}
			if !it.PublishEvent(gid, "up", up) {
				t.Fatal("publish refused")
			}
			it.PublishEvent(gid, "stats", &gw.GatewayStats{GatewayId: gid, RxPacketsReceived: 5})
			it.PublishEvent(gid, "ack", &gw.DownlinkTxAck{GatewayId: gid, DownlinkId: 9, Items: []*gw.DownlinkTxAckItem{{Status: gw.TxAckStatus_TOO_LATE}, {Status: gw.TxAckStatus_OK}}})
			var uf gw.UplinkFrame
			decode(t, mar, expect(t, events, prefix+"gateway/"+gid+"/event/up").payload, &uf)
			if !proto.Equal(&uf, up) {
				t.Fatalf("uplink %v", &uf)
			}
			var st gw.GatewayStats
			decode(t, mar, expect(t, events, prefix+"gateway/"+gid+"/event/stats").payload, &st)
			if st.RxPacketsReceived != 5 {
				t.Fatalf("stats %v", &st)
			}
			var ack gw.DownlinkTxAck
			decode(t, mar, expect(t, events, prefix+"gateway/"+gid+"/event/ack").payload, &ack)
			if ack.DownlinkId != 9 || ack.Items[0].Status != gw.TxAckStatus_TOO_LATE {
				t.Fatalf("ack %v", &ack)
			}

			// Commands in both encodings reach the handler.
			df := &gw.DownlinkFrame{DownlinkId: 5, Items: []*gw.DownlinkFrameItem{{PhyPayload: []byte{9}}}}
			pb, _ := proto.Marshal(df)
			js, _ := protojson.Marshal(df)
			for _, payload := range [][]byte{pb, js} {
				sub.Publish(prefix+"gateway/"+gid+"/command/down", 1, false, payload).Wait()
				select {
				case d := <-cmds:
					if d.DownlinkId != 5 || d.GatewayId != gid || len(d.Items) != 1 {
						t.Fatalf("command %v", d)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("command not received")
				}
			}

			// Graceful shutdown: OFFLINE states set on the way out are
			// delivered, then the bridge's own OFFLINE.
			it.SetGatewayState(gid, false)
			cancel()
			<-done
			decode(t, mar, expect(t, events, prefix+"gateway/"+gid+"/state/conn").payload, &cs)
			if cs.State != gw.ConnState_OFFLINE {
				t.Fatalf("state after shutdown %v", &cs)
			}
			decode(t, mar, expect(t, events, prefix+"bridge/"+cfg.ClientID+"/state/conn").payload, &cs)
			if cs.State != gw.ConnState_OFFLINE {
				t.Fatalf("bridge state after shutdown %v", &cs)
			}
		})
	}
}

func counter(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func TestQueueBoundNeverBlocks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the broker is "away"
	cfg := testConfig("tcp://"+addr, "fb-away/", Protobuf)
	cfg.Connections, cfg.QueueSize = 1, 10
	it, m, _, _ := runIntegration(t, cfg, nil)
	ok := 0
	for i := range 25 {
		if it.PublishEvent("0102030405060708", "up", &gw.UplinkFrame{PhyPayload: []byte{byte(i)}}) {
			ok++
		}
	}
	if ok != 10 || it.QueueDepth() != 10 {
		t.Fatalf("accepted %d, depth %d; want 10", ok, it.QueueDepth())
	}
	if n := counter(m.MQTTDropped.WithLabelValues("queue_full")); n != 15 {
		t.Fatalf("dropped %v, want 15", n)
	}
	// States are never dropped.
	it.SetGatewayState("0102030405060708", true)
	if it.QueueDepth() != 11 {
		t.Fatalf("state not queued: depth %d", it.QueueDepth())
	}
}

// A broker restart in the middle of a stream loses nothing: what the
// broker had not acknowledged is sent again after the reconnect.
func TestBrokerRestartNoLoss(t *testing.T) {
	broker := testkit.StartBroker(t, "max_queued_messages 0")
	prefix := testsvc.TopicPrefix(t)
	const total = 3000

	var mu sync.Mutex
	seen := map[uint32]int{}
	subOpts := paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("fb-restart-sub").SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetOnConnectHandler(func(c paho.Client) {
			c.Subscribe(prefix+"gateway/+/event/up", 1, func(_ paho.Client, m paho.Message) {
				var f gw.UplinkFrame
				if err := proto.Unmarshal(m.Payload(), &f); err != nil || len(f.PhyPayload) != 4 {
					t.Errorf("bad uplink %q: %v", m.Payload(), err)
					return
				}
				mu.Lock()
				seen[binary.BigEndian.Uint32(f.PhyPayload)]++
				mu.Unlock()
			})
		})
	sub := paho.NewClient(subOpts)
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { sub.Disconnect(100) })
	time.Sleep(100 * time.Millisecond)

	cfg := testConfig(broker.URL(), prefix, Protobuf)
	cfg.MaxReconnectInterval = 200 * time.Millisecond
	it, m, _, _ := runIntegration(t, cfg, nil)
	for i := range total {
		if i == total/3 {
			broker.Stop()
		}
		if i == total/2 {
			broker.Start()
		}
		gid := fmt.Sprintf("00000000000000%02x", i%16)
		f := &gw.UplinkFrame{PhyPayload: binary.BigEndian.AppendUint32(nil, uint32(i)), RxInfo: &gw.UplinkRxInfo{GatewayId: gid}}
		if !it.PublishEvent(gid, "up", f) {
			t.Fatalf("uplink %d refused", i)
		}
		if i%10 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d uplinks arrived (queue %d)", n, total, it.QueueDepth())
		}
		time.Sleep(50 * time.Millisecond)
	}
	dups := 0
	mu.Lock()
	for _, c := range seen {
		dups += c - 1
	}
	mu.Unlock()
	t.Logf("all %d uplinks delivered across the restart; %d duplicates (QoS 1 resend); %v connects",
		total, dups, counter(m.Reconnects))
	if counter(m.Reconnects) < 4 {
		t.Fatalf("connects %v: the restart was not noticed", counter(m.Reconnects))
	}
}

// A gateway flapping while the broker is away ends with its last state.
func TestStatesKeepOrder(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig("tcp://"+addr, "fb-order/", Protobuf)
	cfg.Connections = 1
	it, _ := New(cfg, logging.Discard(), nil, nil)
	it.SetGatewayState("0102030405060708", true)
	it.SetGatewayState("0102030405060708", false)
	it.SetGatewayState("0a0b0c0d0e0f0001", true)
	msgs := it.conns[0].q.pop(nil, 10)
	want := []gw.ConnState_State{gw.ConnState_ONLINE, gw.ConnState_OFFLINE, gw.ConnState_ONLINE}
	if len(msgs) != len(want) {
		t.Fatalf("%d states queued", len(msgs))
	}
	for i, m := range msgs {
		var cs gw.ConnState
		if err := proto.Unmarshal(m.payload, &cs); err != nil || cs.State != want[i] || !m.retained {
			t.Fatalf("state %d: %v retained=%v, want %v", i, &cs, m.retained, want[i])
		}
	}
}

func TestQueueRing(t *testing.T) {
	q := newQueue(100)
	for i := range 100 {
		if !q.push(message{event: fmt.Sprint(i)}, false) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.push(message{event: "x"}, false) || !q.push(message{event: "100"}, true) {
		t.Fatal("bound not applied, or force refused")
	}
	got := q.pop(nil, 30)
	q.pushFront(got[10:30])
	all := q.pop(nil, 1000)
	if len(all) != 91 || all[0].event != "10" || all[90].event != "100" {
		t.Fatalf("ring order: %d items, first %s, last %s", len(all), all[0].event, all[len(all)-1].event)
	}
	for i := 1; i < len(all); i++ {
		if all[i].event == all[i-1].event {
			t.Fatalf("duplicate %s", all[i].event)
		}
	}
	if q.len() != 0 {
		t.Fatal("not empty")
	}
}
