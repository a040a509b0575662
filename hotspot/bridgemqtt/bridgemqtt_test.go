package bridgemqtt

import (
	"context"
	"testing"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
)

type chanHandler struct {
	up  chan *gw.UplinkFrame
	ack chan *gw.DownlinkTxAck
}

func (h chanHandler) Uplink(f *gw.UplinkFrame)  { h.up <- f }
func (h chanHandler) TxAck(a *gw.DownlinkTxAck) { h.ack <- a }

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name      string
		json      bool
		gatewayID string
	}{
		{"protobuf learned id", false, ""},
		{"json configured id", true, "0016c001ff10a235"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broker := testsvc.MQTTURL(t)
			bridge := testsvc.MQTTClient(t)
			prefix := testsvc.TopicPrefix(t)
			const id = "0016c001ff10a235"
			h := chanHandler{up: make(chan *gw.UplinkFrame, 4), ack: make(chan *gw.DownlinkTxAck, 4)}
			c, err := New(Config{Broker: broker, TopicPrefix: prefix, GatewayID: tc.gatewayID, JSON: tc.json}, logging.Discard(), h)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- c.Run(ctx) }()
			defer func() { cancel(); <-done }()

			down := make(chan []byte, 1)
			tok := bridge.Subscribe(prefix+"gateway/"+id+"/command/down", 0, func(_ mqtt.Client, m mqtt.Message) { down <- m.Payload() })
			tok.Wait()
			waitFor(t, c.Connected)

			enc := func(m proto.Message) []byte {
				if tc.json {
					b, _ := protojson.Marshal(m)
					return b
				}
				b, _ := proto.Marshal(m)
				return b
			}
			// Another gateway on the same broker must be ignored once ours is known.
			if tc.gatewayID != "" {
				bridge.Publish(prefix+"gateway/ffffffffffffffff/event/up", 0, false, enc(&gw.UplinkFrame{PhyPayload: []byte{9}})).Wait()
			}
			bridge.Publish(prefix+"gateway/"+id+"/state/conn", 0, false, enc(&gw.ConnState{GatewayId: id, State: gw.ConnState_ONLINE})).Wait()
			bridge.Publish(prefix+"gateway/"+id+"/event/up", 0, false, enc(&gw.UplinkFrame{PhyPayload: []byte{1, 2, 3}})).Wait()
			select {
			case f := <-h.up:
				if string(f.PhyPayload) != "\x01\x02\x03" {
					t.Fatalf("uplink %v", f)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no uplink")
			}
			if c.GatewayID() != id {
				t.Fatalf("gateway id %q", c.GatewayID())
			}
			waitFor(t, c.BridgeOnline)

			if err := c.SendDownlink(ctx, &gw.DownlinkFrame{DownlinkId: 77}); err != nil {
				t.Fatal(err)
			}
			select {
			case b := <-down:
				var f gw.DownlinkFrame
				if err := Unmarshal(b, &f); err != nil || f.DownlinkId != 77 || f.GatewayId != id {
					t.Fatalf("downlink %v %v", &f, err)
				}
				if tc.json != (b[0] == '{') {
					t.Fatalf("encoding json=%v but payload %q", tc.json, b[:1])
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no downlink")
			}
			bridge.Publish(prefix+"gateway/"+id+"/event/ack", 0, false, enc(&gw.DownlinkTxAck{DownlinkId: 77})).Wait()
			select {
			case a := <-h.ack:
				if a.DownlinkId != 77 {
					t.Fatalf("ack %v", a)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no ack")
			}
			select {
			case f := <-h.up:
				t.Fatalf("unexpected uplink %v", f)
			default:
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{Broker: "tcp://x:1"}, true},
		{Config{}, false},
		{Config{Broker: "tcp://x:1", GatewayID: "0016C001FF10A235"}, false},
		{Config{Broker: "tcp://x:1", TopicPrefix: "eu868"}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: err %v", tc.cfg, err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func FuzzUnmarshal(f *testing.F) {
	up, _ := proto.Marshal(&gw.UplinkFrame{PhyPayload: []byte{1, 2}, RxInfo: &gw.UplinkRxInfo{Rssi: -90}})
	f.Add(up)
	f.Add([]byte(`{"phyPayload":"AQI=","rxInfo":{"rssi":-90}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var u gw.UplinkFrame
		if Unmarshal(b, &u) != nil {
			return
		}
		// Whatever decodes re-encodes.
		if _, err := proto.Marshal(&u); err != nil {
			t.Fatal(err)
		}
	})
}
