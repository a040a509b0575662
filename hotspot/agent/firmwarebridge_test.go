package agent

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/firmware-bridge/app"
	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/firmware-bridge/testkit"
	"github.com/hexproof/hexproof/hotspot/bridgemqtt"
	"github.com/hexproof/hexproof/hotspot/hotspottest"
	"github.com/hexproof/hexproof/hotspot/routing"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// startFirmwareBridge runs the real firmware-bridge in-process on a UDP
// socket on 127.0.0.1:0 and returns that address.
func startFirmwareBridge(t testing.TB, broker, prefix string) net.Addr {
	t.Helper()
	cfg, err := app.Load([]string{"--mqtt-server", broker, "--topic-prefix", prefix, "--mqtt-qos", "0", "--udp-read-buffer", "0"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, logging.Discard(), udp, func(a net.Addr) { ready <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("firmware-bridge: %v", err)
		}
	})
	select {
	case a := <-ready:
		return a
	case err := <-done:
		t.Fatalf("firmware-bridge: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("firmware-bridge did not start")
	}
	return nil
}

// nextPullResp reads datagrams from the bridge until a PULL_RESP arrives.
func nextPullResp(t *testing.T, g *testkit.Gateway) gwmp.PullResp {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, ok := g.TryRead(time.Until(deadline))
		if !ok {
			break
		}
		if len(b) >= 4 && gwmp.Type(b[3]) == gwmp.TypePullResp {
			var p gwmp.PullResp
			if err := p.UnmarshalBinary(b); err != nil {
				t.Fatalf("bad PULL_RESP: %v", err)
			}
			return p
		}
	}
	t.Fatal("no PULL_RESP from the bridge")
	return gwmp.PullResp{}
}

// TestThroughFirmwareBridge runs the agent against the real firmware-bridge:
// a simulated packet forwarder speaks GWMP over UDP to the bridge, the
// bridge talks to the agent through Mosquitto, and the agent to a test
// router and a test oracle over gRPC.
func TestThroughFirmwareBridge(t *testing.T) {
	broker := testsvc.MQTTURL(t)
	prefix := testsvc.TopicPrefix(t)
	bridgeAddr := startFirmwareBridge(t, broker, prefix)
	eui := gwmp.EUI64{0x00, 0x16, 0xc0, 0x01, 0xff, 0x10, 0xa2, 0x35}
	fwd := testkit.NewGateway(t, bridgeAddr, eui, 2)
	fwd.ExpectAck(gwmp.TypePullAck, fwd.Pull())

	router, routerAddr := hotspottest.NewRouter(t, testChainID)
	oracle, oracleAddr := hotspottest.NewOracle(t, "")
	key, _ := identity.NewKey(nil)
	hash := bytes.Repeat([]byte{0x42}, 32)
	chain := &fakeChain{height: beaconHeight(key.PublicKey()), hash: hash, ouis: []routing.OUI{{OUI: 1, Config: &hexproofv1.OuiConfig{
		DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x26000000, End: 0x26ffffff}},
		Routers:       []*hexproofv1.RouterEndpoint{{Endpoint: routerAddr, PublicKey: router.Key.PublicKey()}},
	}}}}
	a, err := New(Config{
		Key: key, Version: "test", DataDir: t.TempDir(),
		Bridge:  bridgemqtt.Config{Broker: broker, TopicPrefix: prefix, GatewayID: eui.String()},
		Oracles: []string{oracleAddr}, PocPoll: 50 * time.Millisecond, BeaconRetry: 200 * time.Millisecond,
		InfoRefresh: 100 * time.Millisecond, DownlinkAckTimeout: 5 * time.Second,
	}, logging.Discard(), chain, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// The beacon is transmitted as soon as the agent is up.
	want, _ := beacon.Derive(hash, key.PublicKey(), hexproofv1.Region_REGION_EU868)
	p := nextPullResp(t, fwd)
	if !p.Payload.TXPK.Imme || !bytes.Equal(p.Payload.TXPK.Data, beacon.Frame(want.Payload)) || p.Payload.TXPK.DatR.LoRa != want.DataRate ||
		uint64(p.Payload.TXPK.Freq*1e6+0.5) != want.FrequencyHz || p.Payload.TXPK.IPol {
		t.Fatalf("beacon txpk %+v, want %+v", p.Payload.TXPK, want)
	}
	fwd.TxAck(p.Token, "", "")
	waitUntil(t, "beacon report at the oracle", 10*time.Second, func() bool { b, _ := oracle.Counts(); return b == 1 })
	if r := oracle.Beacons()[0]; !bytes.Equal(r.GetPayload(), want.Payload) {
		t.Fatalf("report payload %x", r.GetPayload())
	}

	waitUntil(t, "router session", 10*time.Second, func() bool { st := a.Status(); return len(st.Routers) == 1 && st.Routers[0].Connected })
	phy := dataFrame(t, lorawan.DevAddr{0x26, 0xaa, 0xbb, 0xcc}, 1)
	fwd.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink(phy, 4_000_000)}})
	select {
	case up := <-router.Uplinks:
		if !bytes.Equal(up.GetPhyPayload(), phy) || up.GetRadio().GetTmst() != 4_000_000 || up.GetRadio().GetFrequencyHz() != 868100000 {
			t.Fatalf("uplink %v", up)
		}
	case err := <-router.AuthErrs:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("uplink did not reach the router")
	}

	dl := &hexproofv1.Downlink{Id: 7, PhyPayload: []byte{0x60, 0xcc, 0xbb, 0xaa, 0x26, 0, 1, 0, 1, 2, 3, 4},
		Rx1: &hexproofv1.DownlinkWindow{FrequencyHz: 868100000, Datarate: "SF7BW125", PowerDbm: 14, Tmst: 5_000_000, PolarizationInversion: true, CodingRate: "4/5"},
		Rx2: &hexproofv1.DownlinkWindow{FrequencyHz: 869525000, Datarate: "SF12BW125", PowerDbm: 27, Tmst: 6_000_000, PolarizationInversion: true, CodingRate: "4/5"}}
	if err := router.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Downlink{Downlink: dl}}); err != nil {
		t.Fatal(err)
	}
	rx1 := nextPullResp(t, fwd)
	if rx1.Payload.TXPK.Tmst == nil || *rx1.Payload.TXPK.Tmst != 5_000_000 || !rx1.Payload.TXPK.IPol {
		t.Fatalf("rx1 txpk %+v", rx1.Payload.TXPK)
	}
	fwd.TxAck(rx1.Token, "TOO_LATE", "")
	rx2 := nextPullResp(t, fwd)
	if rx2.Payload.TXPK.Tmst == nil || *rx2.Payload.TXPK.Tmst != 6_000_000 || rx2.Payload.TXPK.DatR.LoRa != "SF12BW125" {
		t.Fatalf("rx2 txpk %+v", rx2.Payload.TXPK)
	}
	fwd.TxAck(rx2.Token, "", "")
	select {
	case ack := <-router.Acks:
		if ack.GetDownlinkId() != 7 || ack.GetStatus() != hexproofv1.TxAckStatus_TX_ACK_STATUS_OK || ack.GetWindow() != 2 {
			t.Fatalf("ack %v", ack)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ack at the router")
	}
}
