package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/firmware-bridge/testkit"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
)

// startBridge runs the whole program on a 127.0.0.1:0 UDP socket.
func startBridge(t *testing.T, args ...string) (net.Addr, context.CancelFunc, chan error) {
	t.Helper()
	// A unique client id: the broker drops the older of two connections
	// with the same id, and other tests may run a bridge at the same time.
	args = append([]string{"--mqtt-client-id", "fb-test-" + strings.TrimSuffix(testsvc.TopicPrefix(t), "/")}, args...)
	cfg, err := Load(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, logging.Discard(), udp, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("bridge did not stop")
		}
	})
	return udp.LocalAddr(), cancel, done
}

type msg struct {
	topic   string
	payload []byte
}

func collect(t *testing.T, c paho.Client, filter string) chan msg {
	ch := make(chan msg, 10000)
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { ch <- msg{m.Topic(), m.Payload()} })
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return ch
}

func next(t *testing.T, ch chan msg, topic string) []byte {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-ch:
			if m.topic == topic {
				return m.payload
			}
		case <-timeout:
			t.Fatalf("nothing on %s", topic)
		}
	}
}

// Every packet type both ways, through UDP, the bridge, Mosquitto, and back,
// decoded with the ChirpStack gw types in protobuf and JSON.
func TestEndToEnd(t *testing.T) {
	for _, marshaler := range []string{"protobuf", "json"} {
		t.Run(marshaler, func(t *testing.T) {
			server := testsvc.MQTTURL(t)
			sub := testsvc.MQTTClient(t)
			prefix := testsvc.TopicPrefix(t)
			ch := collect(t, sub, prefix+"#")
			unmarshal := proto.Unmarshal
			if marshaler == "json" {
				unmarshal = func(b []byte, m proto.Message) error { return protojson.Unmarshal(b, m) }
			}
			dec := func(b []byte, m proto.Message) {
				t.Helper()
				if err := unmarshal(b, m); err != nil {
					t.Fatalf("decode %T: %v (%q)", m, err, b)
				}
			}
			clientID := "fb-e2e-" + strings.TrimSuffix(prefix, "/")
			addr, cancel, done := startBridge(t, "--mqtt-server", server, "--topic-prefix", prefix, "--marshaler", marshaler,
				"--mqtt-client-id", clientID, "--tx-ack-timeout", "1s")
			g := testkit.NewGateway(t, addr, testkit.EUIFor(0xe2e), 2)
			gid := g.EUI.String()
			t.Cleanup(func() {
				for _, tp := range []string{prefix + "gateway/" + gid + "/state/conn", prefix + "bridge/" + clientID + "/state/conn"} {
					sub.Publish(tp, 1, true, []byte{}).WaitTimeout(time.Second)
				}
			})

			// PULL_DATA -> PULL_ACK and state/conn ONLINE.
			g.ExpectAck(gwmp.TypePullAck, g.Pull())
			var cs gw.ConnState
			dec(next(t, ch, prefix+"gateway/"+gid+"/state/conn"), &cs)
			if cs.State != gw.ConnState_ONLINE || cs.GatewayId != gid {
				t.Fatalf("conn state %v", &cs)
			}

			// PUSH_DATA -> PUSH_ACK, event/up and event/stats.
			phy := []byte{0x40, 0x04, 0x03, 0x02, 0x01, 0x80, 0x01, 0x00, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e}
			tok := g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink(phy, 5_000_000)}, Stat: &gwmp.Stat{RXNb: 1, RXOK: 1, TXNb: 0}})
			g.ExpectAck(gwmp.TypePushAck, tok)
			var up gw.UplinkFrame
			dec(next(t, ch, prefix+"gateway/"+gid+"/event/up"), &up)
			if !bytes.Equal(up.PhyPayload, phy) || up.RxInfo.GatewayId != gid || up.TxInfo.Frequency != 868100000 ||
				up.TxInfo.GetModulation().GetLora().GetBandwidth() != 125000 || binary.BigEndian.Uint32(up.RxInfo.Context) != 5_000_000 {
				t.Fatalf("uplink %v", &up)
			}
			var st gw.GatewayStats
			dec(next(t, ch, prefix+"gateway/"+gid+"/event/stats"), &st)
			if st.GatewayId != gid || st.RxPacketsReceived != 1 {
				t.Fatalf("stats %v", &st)
			}

			// command/down -> PULL_RESP (RX1) -> TX_ACK TOO_LATE -> PULL_RESP (RX2) -> TX_ACK -> event/ack.
			down := &gw.DownlinkFrame{DownlinkId: 1234, GatewayId: gid}
			for i, delay := range []time.Duration{time.Second, 2 * time.Second} {
				down.Items = append(down.Items, &gw.DownlinkFrameItem{PhyPayload: []byte{0x60, byte(i)}, TxInfo: &gw.DownlinkTxInfo{
					Frequency: 868100000, Power: 14, Context: up.RxInfo.Context,
					Modulation: &gw.Modulation{Parameters: &gw.Modulation_Lora{Lora: &gw.LoraModulationInfo{Bandwidth: 125000, SpreadingFactor: 7 + uint32(i)*5, CodeRate: gw.CodeRate_CR_4_5, PolarizationInversion: true}}},
					Timing:     &gw.Timing{Parameters: &gw.Timing_Delay{Delay: &gw.DelayTimingInfo{Delay: durationpb.New(delay)}}},
				}})
			}
			var payload []byte
			if marshaler == "json" {
				payload, _ = protojson.Marshal(down)
			} else {
				payload, _ = proto.Marshal(down)
			}
			sub.Publish(prefix+"gateway/"+gid+"/command/down", 1, false, payload).Wait()
			rx1 := g.ExpectPullResp()
			if *rx1.Payload.TXPK.Tmst != 6_000_000 || rx1.Payload.TXPK.DatR.LoRa != "SF7BW125" {
				t.Fatalf("rx1 %+v", rx1.Payload.TXPK)
			}
			g.TxAck(rx1.Token, "TOO_LATE", "")
			rx2 := g.ExpectPullResp()
			if *rx2.Payload.TXPK.Tmst != 7_000_000 || rx2.Payload.TXPK.DatR.LoRa != "SF12BW125" {
				t.Fatalf("rx2 %+v", rx2.Payload.TXPK)
			}
			g.TxAck(rx2.Token, "", "")
			var ack gw.DownlinkTxAck
			dec(next(t, ch, prefix+"gateway/"+gid+"/event/ack"), &ack)
			if ack.DownlinkId != 1234 || ack.GatewayId != gid || len(ack.Items) != 2 ||
				ack.Items[0].Status != gw.TxAckStatus_TOO_LATE || ack.Items[1].Status != gw.TxAckStatus_OK {
				t.Fatalf("ack %v", &ack)
			}

			// Graceful shutdown publishes OFFLINE.
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			done <- nil
			dec(next(t, ch, prefix+"gateway/"+gid+"/state/conn"), &cs)
			if cs.State != gw.ConnState_OFFLINE {
				t.Fatalf("state after shutdown %v", &cs)
			}
		})
	}
}

// Uplinks keep flowing from UDP while the broker restarts; every one of
// them arrives (count in = count out).
func TestBrokerRestartEndToEnd(t *testing.T) {
	broker := testkit.StartBroker(t, "max_queued_messages 0")
	prefix := testsvc.TopicPrefix(t)
	var mu sync.Mutex
	seen := map[uint32]bool{}
	subOpts := paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("fb-e2e-restart-sub").SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetOnConnectHandler(func(c paho.Client) {
			c.Subscribe(prefix+"gateway/+/event/up", 1, func(_ paho.Client, m paho.Message) {
				var f gw.UplinkFrame
				if proto.Unmarshal(m.Payload(), &f) == nil && len(f.PhyPayload) == 5 {
					mu.Lock()
					seen[binary.BigEndian.Uint32(f.PhyPayload[1:])] = true
					mu.Unlock()
				}
			})
		})
	sub := paho.NewClient(subOpts)
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { sub.Disconnect(100) })
	time.Sleep(100 * time.Millisecond)

	addr, _, _ := startBridge(t, "--mqtt-server", broker.URL(), "--topic-prefix", prefix, "--mqtt-max-reconnect-interval", "200ms", "--mqtt-connections", "2")
	const gateways, each = 4, 600
	gws := make([]*testkit.Gateway, gateways)
	for i := range gws {
		gws[i] = testkit.NewGateway(t, addr, testkit.EUIFor(0x5000+i), 2)
	}
	for j := range each {
		if j == each/3 {
			broker.Stop()
		}
		if j == each/2 {
			broker.Start()
		}
		for i, g := range gws {
			n := uint32(j*gateways + i)
			tok := g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink(binary.BigEndian.AppendUint32([]byte{0xe0}, n), n)}})
			g.ExpectAck(gwmp.TypePushAck, tok)
		}
	}
	total := gateways * each
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == total {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			var missing []uint32
			for k := range uint32(total) {
				if !seen[k] {
					missing = append(missing, k)
				}
			}
			mu.Unlock()
			t.Fatalf("%d of %d uplinks arrived; missing %v (stop at %d, start at %d)", n, total, missing, each/3*gateways, each/2*gateways)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHelpAndConfig(t *testing.T) {
	var out bytes.Buffer
	if _, err := Load([]string{"--help"}, func(string) string { return "" }, &out); err == nil {
		t.Fatal("--help returned no error")
	}
	for _, want := range []string{"--udp-bind", "FIRMWARE_BRIDGE_UDP_BIND", "--mqtt-server", "--mqtt-username", "--mqtt-password",
		"--mqtt-ca-cert", "--mqtt-tls-cert", "--mqtt-tls-key", "--topic-prefix", "--marshaler", "--filter-net-id", "--filter-join-eui",
		"--metrics-bind", "--gateway-expiry", "--tx-ack-timeout", "FIRMWARE_BRIDGE_MQTT_PASSWORD"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %s", want)
		}
	}

	// flag > env > file.
	file := filepath.Join(t.TempDir(), "fb.toml")
	os.WriteFile(file, []byte("topic_prefix = \"eu868/\"\nmarshaler = \"json\"\nfilter_net_id = [\"000013\", \"000014\"]\nudp_bind = \"127.0.0.1:1\"\n"), 0o600)
	env := map[string]string{"FIRMWARE_BRIDGE_MARSHALER": "protobuf", "FIRMWARE_BRIDGE_UDP_BIND": "127.0.0.1:2"}
	c, err := Load([]string{"--config", file, "--udp-bind", "127.0.0.1:3"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.TopicPrefix != "eu868/" || c.Marshaler != "protobuf" || c.UDPBind != "127.0.0.1:3" || len(c.FilterNetIDs) != 2 {
		t.Fatalf("config %+v", c)
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--marshaler", "xml"}, "marshaler"},
		{[]string{"--mqtt-server", "ws://x"}, "mqtt-server"},
		{[]string{"--gateway-id", "xyz"}, "gateway-id"},
		{[]string{"--filter-net-id", "13"}, "net id"},
		{[]string{"--mqtt-tls-cert", "a.pem"}, "go together"},
		{[]string{"--mqtt-ca-cert", "/nonexistent.pem"}, "mqtt-ca-cert"},
		{[]string{"--mqtt-qos", "3"}, "qos"},
	}
	for _, tt := range bad {
		c, err := Load(tt.args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		err = Run(context.Background(), c, logging.Discard(), nil, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want it to mention %q", tt.args, err, tt.want)
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	server := testsvc.MQTTURL(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	bind := ln.Addr().String()
	ln.Close()
	addr, _, _ := startBridge(t, "--mqtt-server", server, "--topic-prefix", testsvc.TopicPrefix(t), "--metrics-bind", bind)
	g := testkit.NewGateway(t, addr, testkit.EUIFor(0x77), 2)
	g.ExpectAck(gwmp.TypePushAck, g.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink([]byte{0xe0}, 1)}}))
	g.Send([]byte{2, 0})
	time.Sleep(100 * time.Millisecond)
	var body string
	for range 50 {
		resp, err := http.Get("http://" + bind + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{
		`firmware_bridge_udp_packets_in_total{type="push_data"} 1`,
		`firmware_bridge_udp_packets_out_total{type="push_ack"} 1`,
		`firmware_bridge_udp_parse_errors_total{reason="truncated"} 1`,
		`firmware_bridge_mqtt_queue_depth`,
		`firmware_bridge_mqtt_events_total{event="up"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// The shipped sample configuration loads and validates.
func TestSampleConfig(t *testing.T) {
	c, err := Load([]string{"--config", "../firmware-bridge.toml"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.UDPBind != "127.0.0.1:1700" || c.GatewayExpiry != 5*time.Minute {
		t.Fatalf("sample config %+v", c)
	}
	if _, err := c.validate(); err != nil {
		t.Fatal(err)
	}
}

// A gateway that stops sending PULL_DATA goes OFFLINE on MQTT (retained).
func TestGatewayExpiryEndToEnd(t *testing.T) {
	server := testsvc.MQTTURL(t)
	sub := testsvc.MQTTClient(t)
	prefix := testsvc.TopicPrefix(t)
	ch := collect(t, sub, prefix+"gateway/+/state/conn")
	addr, _, _ := startBridge(t, "--mqtt-server", server, "--topic-prefix", prefix, "--gateway-expiry", "300ms")
	g := testkit.NewGateway(t, addr, testkit.EUIFor(0xe4), 2)
	topic := prefix + "gateway/" + g.EUI.String() + "/state/conn"
	t.Cleanup(func() { sub.Publish(topic, 1, true, []byte{}).WaitTimeout(time.Second) })
	begin := time.Now()
	g.ExpectAck(gwmp.TypePullAck, g.Pull())
	var cs gw.ConnState
	proto.Unmarshal(next(t, ch, topic), &cs)
	if cs.State != gw.ConnState_ONLINE {
		t.Fatalf("state %v", &cs)
	}
	proto.Unmarshal(next(t, ch, topic), &cs)
	if cs.State != gw.ConnState_OFFLINE || time.Since(begin) < 300*time.Millisecond {
		t.Fatalf("state %v after %s", &cs, time.Since(begin))
	}
	// Retained: a new subscriber sees OFFLINE.
	late := testsvc.MQTTClient(t)
	proto.Unmarshal(next(t, collect(t, late, topic), topic), &cs)
	if cs.State != gw.ConnState_OFFLINE {
		t.Fatalf("retained state %v", &cs)
	}
}

func TestMQTTConnectionsDefault(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"--gateway-id", "0102030405060708"}, 1},
		{[]string{"--mqtt-connections", "3"}, 3},
		{[]string{"--gateway-id", "0102030405060708", "--mqtt-connections", "2"}, 2},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, err := Load(tt.args, func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.validate(); err != nil {
				t.Fatal(err)
			}
			if c.MQTTConnections != tt.want {
				t.Fatalf("mqtt connections %d, want %d", c.MQTTConnections, tt.want)
			}
		})
	}
}
