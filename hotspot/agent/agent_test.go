package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/hotspot/bridgemqtt"
	"github.com/hexproof/hexproof/hotspot/hotspottest"
	"github.com/hexproof/hexproof/hotspot/routing"
	"github.com/hexproof/hexproof/hotspot/status"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

const gatewayID = "0016c001ff10a235"

// fakeBridge plays the gateway bridge on MQTT: it publishes uplinks and acks
// every command/down (beacons OK; device downlinks TOO_LATE on RX1, OK on RX2).
type fakeBridge struct {
	c      mqtt.Client
	prefix string
	down   chan *gw.DownlinkFrame
}

func newFakeBridge(t *testing.T, prefix string) *fakeBridge {
	b := &fakeBridge{c: testsvc.MQTTClient(t), prefix: prefix, down: make(chan *gw.DownlinkFrame, 16)}
	tok := b.c.Subscribe(prefix+"gateway/"+gatewayID+"/command/down", 0, func(_ mqtt.Client, m mqtt.Message) {
		var f gw.DownlinkFrame
		if err := bridgemqtt.Unmarshal(m.Payload(), &f); err != nil {
			t.Errorf("bridge got undecodable downlink: %v", err)
			return
		}
		ack := &gw.DownlinkTxAck{GatewayId: gatewayID, DownlinkId: f.DownlinkId}
		if f.GetItems()[0].GetTxInfo().GetTiming().GetImmediately() != nil {
			ack.Items = []*gw.DownlinkTxAckItem{{Status: gw.TxAckStatus_OK}}
		} else {
			ack.Items = []*gw.DownlinkTxAckItem{{Status: gw.TxAckStatus_TOO_LATE}, {Status: gw.TxAckStatus_OK}}
		}
		b.down <- &f
		b.publish(t, "event/ack", ack)
	})
	tok.Wait()
	if tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return b
}

func (b *fakeBridge) publish(t *testing.T, suffix string, m proto.Message) {
	raw, _ := proto.Marshal(m)
	tok := b.c.Publish(b.prefix+"gateway/"+gatewayID+"/"+suffix, 0, false, raw)
	tok.Wait()
	if tok.Error() != nil {
		t.Error(tok.Error())
	}
}

func uplinkFrame(phy []byte, crc gw.CRCStatus, tmst uint32) *gw.UplinkFrame {
	return &gw.UplinkFrame{
		PhyPayload: phy,
		TxInfo: &gw.UplinkTxInfo{Frequency: 868300000, Modulation: &gw.Modulation{Parameters: &gw.Modulation_Lora{
			Lora: &gw.LoraModulationInfo{Bandwidth: 125000, SpreadingFactor: 9, CodeRate: gw.CodeRate_CR_4_5}}}},
		RxInfo: &gw.UplinkRxInfo{GatewayId: gatewayID, Rssi: -88, Snr: 6.5, CrcStatus: crc, Context: binary.BigEndian.AppendUint32(nil, tmst)},
	}
}

func dataFrame(t testing.TB, devAddr lorawan.DevAddr, fcnt uint32) []byte {
	fport := uint8(1)
	b, err := (&lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: lorawan.UnconfirmedDataUp, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: devAddr, FCnt: fcnt}, FPort: &fport,
			FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: []byte("hello")}}},
	}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAgentEndToEnd(t *testing.T) {
	broker := testsvc.MQTTURL(t)
	prefix := testsvc.TopicPrefix(t)
	bridge := newFakeBridge(t, prefix)
	router, routerAddr := hotspottest.NewRouter(t, testChainID)
	oracle, oracleAddr := hotspottest.NewOracle(t, "")
	key, _ := identity.NewKey(nil)
	hash := bytes.Repeat([]byte{0x5a}, 32)
	chain := &fakeChain{epoch: 1, height: beaconHeight(key.PublicKey()), hash: hash, ouis: []routing.OUI{{OUI: 1, Config: &hexproofv1.OuiConfig{
		DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x26000000, End: 0x26ffffff}},
		Routers:       []*hexproofv1.RouterEndpoint{{Endpoint: routerAddr, PublicKey: router.Key.PublicKey()}},
	}}}}
	statusLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{
		Key: key, Version: "test", DataDir: t.TempDir(),
		Bridge:  bridgemqtt.Config{Broker: broker, TopicPrefix: prefix, GatewayID: gatewayID},
		Oracles: []string{oracleAddr}, PocPoll: 50 * time.Millisecond, BeaconRetry: 100 * time.Millisecond,
		InfoRefresh: 100 * time.Millisecond, DownlinkAckTimeout: 3 * time.Second, ClaimInterval: 50 * time.Millisecond,
	}, logging.Discard(), chain, statusLn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run: %v", err)
		}
	})
	waitUntil(t, "router session", 10*time.Second, func() bool {
		st := a.Status()
		return len(st.Routers) == 1 && st.Routers[0].Connected && st.Bridge.MQTTConnected
	})

	t.Run("beacon goes out through command/down and its report reaches the oracle", func(t *testing.T) {
		want, _ := beacon.Derive(hash, key.PublicKey(), hexproofv1.Region_REGION_EU868)
		var f *gw.DownlinkFrame
		select {
		case f = <-bridge.down:
		case <-time.After(10 * time.Second):
			t.Fatal("no beacon on command/down")
		}
		it := f.GetItems()[0]
		if !bytes.Equal(it.GetPhyPayload(), beacon.Frame(want.Payload)) || uint64(it.GetTxInfo().GetFrequency()) != want.FrequencyHz ||
			it.GetTxInfo().GetPower() != beacon.TxPowerDBm(hexproofv1.Region_REGION_EU868, 30) {
			t.Fatalf("beacon frame %v, want payload for %v", it, want)
		}
		waitUntil(t, "beacon report", 10*time.Second, func() bool { b, _ := oracle.Counts(); return b == 1 })
		r := oracle.Beacons()[0]
		if !bytes.Equal(r.GetPayload(), want.Payload) || r.GetEntropyHeight() != chain.height || !bytes.Equal(r.GetEntropy(), hash) {
			t.Fatalf("beacon report %v", r)
		}
	})

	t.Run("uplink reaches the router signed", func(t *testing.T) {
		phy := dataFrame(t, lorawan.DevAddr{0x26, 0x01, 0x02, 0x03}, 7)
		bridge.publish(t, "event/up", uplinkFrame(phy, gw.CRCStatus_CRC_OK, 1_000_000))
		select {
		case up := <-router.Uplinks:
			if !bytes.Equal(up.GetPhyPayload(), phy) || up.GetRadio().GetTmst() != 1_000_000 || up.GetRadio().GetRssiDbm() != -88 ||
				up.GetRadio().GetSnrCb() != 65 || up.GetRadio().GetDatarate() != "SF9BW125" {
				t.Fatalf("uplink %v", up)
			}
		case err := <-router.AuthErrs:
			t.Fatal(err)
		case <-time.After(10 * time.Second):
			t.Fatal("no uplink at router")
		}
	})

	t.Run("crc failed and unroutable frames are counted, not sent", func(t *testing.T) {
		before := a.Status().Packets
		bridge.publish(t, "event/up", uplinkFrame(dataFrame(t, lorawan.DevAddr{0x26, 0, 0, 1}, 1), gw.CRCStatus_BAD_CRC, 1))
		bridge.publish(t, "event/up", uplinkFrame(dataFrame(t, lorawan.DevAddr{0x48, 0, 0, 1}, 1), gw.CRCStatus_CRC_OK, 1))
		waitUntil(t, "counters", 5*time.Second, func() bool {
			p := a.Status().Packets
			return p.CRCFailed == before.CRCFailed+1 && p.Unroutable == before.Unroutable+1
		})
		select {
		case up := <-router.Uplinks:
			t.Fatalf("router got %x", up.GetPhyPayload())
		case <-time.After(200 * time.Millisecond):
		}
	})

	t.Run("downlink goes to command/down with RX1 and RX2 and the ack goes back", func(t *testing.T) {
		dl := &hexproofv1.Downlink{Id: 99, PhyPayload: []byte{0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9},
			Rx1: &hexproofv1.DownlinkWindow{FrequencyHz: 868300000, Datarate: "SF9BW125", PowerDbm: 14, Tmst: 2_000_000, PolarizationInversion: true, CodingRate: "4/5"},
			Rx2: &hexproofv1.DownlinkWindow{FrequencyHz: 869525000, Datarate: "SF12BW125", PowerDbm: 27, Tmst: 3_000_000, PolarizationInversion: true, CodingRate: "4/5"}}
		if err := router.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Downlink{Downlink: dl}}); err != nil {
			t.Fatal(err)
		}
		var f *gw.DownlinkFrame
		select {
		case f = <-bridge.down:
		case <-time.After(10 * time.Second):
			t.Fatal("no downlink on command/down")
		}
		if len(f.Items) != 2 || f.Items[0].GetTxInfo().GetFrequency() != 868300000 || f.Items[1].GetTxInfo().GetFrequency() != 869525000 ||
			binary.BigEndian.Uint32(f.Items[0].GetTxInfo().GetContext()) != 2_000_000 || !bytes.Equal(f.Items[0].GetPhyPayload(), dl.PhyPayload) {
			t.Fatalf("downlink frame %v", f)
		}
		select {
		case ack := <-router.Acks:
			if ack.GetDownlinkId() != 99 || ack.GetStatus() != hexproofv1.TxAckStatus_TX_ACK_STATUS_OK || ack.GetWindow() != 2 {
				t.Fatalf("ack %v", ack)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no tx ack at router")
		}
	})

	t.Run("witness report for a heard beacon, repeats and own beacons ignored", func(t *testing.T) {
		payload := bytes.Repeat([]byte{0x77}, beacon.PayloadSize)
		bridge.publish(t, "event/up", uplinkFrame(beacon.Frame(payload), gw.CRCStatus_CRC_OK, 5))
		bridge.publish(t, "event/up", uplinkFrame(beacon.Frame(payload), gw.CRCStatus_CRC_OK, 6))
		own, _ := beacon.Derive(hash, key.PublicKey(), hexproofv1.Region_REGION_EU868)
		bridge.publish(t, "event/up", uplinkFrame(beacon.Frame(own.Payload), gw.CRCStatus_CRC_OK, 7))
		waitUntil(t, "witness report", 10*time.Second, func() bool { _, w := oracle.Counts(); return w == 1 })
		waitUntil(t, "ignored counters", 5*time.Second, func() bool {
			c := a.Status().PoC.Counters
			return c.IgnoredRepeat == 1 && c.IgnoredOwn == 1
		})
		w := oracle.Witnesses()[0]
		if !bytes.Equal(w.GetPayload(), payload) || w.GetRadio().GetRssiDbm() != -88 || w.GetRadio().GetRegion() != hexproofv1.Region_REGION_EU868 || w.GetRadio().GetFrequencyHz() != 868300000 {
			t.Fatalf("witness %v", w)
		}
		if _, n := oracle.Counts(); n != 1 {
			t.Fatalf("%d witness reports", n)
		}
	})

	t.Run("vouchers are verified, stored and claimed after their epoch", func(t *testing.T) {
		v := &hexproofv1.Voucher{ChainId: testChainID, Oui: 1, Router: router.Key.PublicKey(), Hotspot: key.PublicKey(), Epoch: 1, Dc: 12, Packets: 3}
		router.Key.SignMessage(identity.DomainVoucher, v)
		forged := proto.Clone(v).(*hexproofv1.Voucher)
		forged.Dc = 1000
		router.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Voucher{Voucher: forged}})
		router.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Voucher{Voucher: v}})
		waitUntil(t, "voucher stored", 5*time.Second, func() bool { return a.Status().Queues.Vouchers == 1 })
		if got := a.vouch.List()[0].GetDc(); got != 12 {
			t.Fatalf("stored voucher dc %d", got)
		}
		chain.mu.Lock()
		if len(chain.claims) != 0 {
			t.Fatal("voucher claimed while its epoch is running")
		}
		chain.epoch = 2
		chain.mu.Unlock()
		waitUntil(t, "voucher claimed", 5*time.Second, func() bool { return a.Status().Queues.Vouchers == 0 })
		chain.mu.Lock()
		defer chain.mu.Unlock()
		if len(chain.claims) != 1 || !proto.Equal(chain.claims[0], v) {
			t.Fatalf("claims %v", chain.claims)
		}
	})

	t.Run("status API", func(t *testing.T) {
		resp, err := http.Get("http://" + statusLn.Addr().String() + "/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st status.Status
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		if st.Address != key.Address().String() || st.Hotspot == nil || st.Hotspot.Owner != "hxp1owner" || !st.Bridge.MQTTConnected ||
			st.PoC.LastBeacon == nil || st.PoC.LastBeacon.Ack != "OK" || len(st.Rewards) != 1 || st.Chain.ChainID != testChainID ||
			st.Packets.Forwarded < 1 || len(st.Oracles) != 1 || !st.Oracles[0].Connected {
			t.Fatalf("status %+v", st)
		}
		m, err := http.Get("http://" + statusLn.Addr().String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer m.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(m.Body)
		if !bytes.Contains(buf.Bytes(), []byte("hotspot_uplinks_forwarded_total")) {
			t.Fatal("metrics lack hotspot_uplinks_forwarded_total")
		}
	})
}

func TestBeaconWithoutAckTimesOut(t *testing.T) {
	broker := testsvc.MQTTURL(t)
	prefix := testsvc.TopicPrefix(t)
	// A bridge that takes commands but never acks them.
	silent := testsvc.MQTTClient(t)
	got := make(chan struct{}, 4)
	silent.Subscribe(prefix+"gateway/"+gatewayID+"/command/down", 0, func(mqtt.Client, mqtt.Message) { got <- struct{}{} }).Wait()
	oracle, oracleAddr := hotspottest.NewOracle(t, "")
	key, _ := identity.NewKey(nil)
	chain := &fakeChain{epoch: 1, height: beaconHeight(key.PublicKey()), hash: bytes.Repeat([]byte{1}, 32)}
	a, err := New(Config{
		Key: key, DataDir: t.TempDir(), Bridge: bridgemqtt.Config{Broker: broker, TopicPrefix: prefix, GatewayID: gatewayID},
		Oracles: []string{oracleAddr}, PocPoll: 50 * time.Millisecond, BeaconRetry: 50 * time.Millisecond,
		DownlinkAckTimeout: 300 * time.Millisecond,
	}, logging.Discard(), chain, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no beacon on command/down")
	}
	waitUntil(t, "beacon timeout recorded", 5*time.Second, func() bool {
		b := a.Status().PoC.LastBeacon
		return b != nil && b.Ack == "TIMEOUT"
	})
	// The frame may have gone on air: no second beacon in this interval, and
	// no report for a beacon the gateway never confirmed.
	time.Sleep(300 * time.Millisecond)
	if n := len(got); n != 0 {
		t.Fatalf("%d more beacons after a timeout", n)
	}
	if b, _ := oracle.Counts(); b != 0 {
		t.Fatalf("%d beacon reports without an ack", b)
	}
}
