package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/firmware-bridge/testkit"
	"github.com/hexproof/hexproof/internal/config"
)

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--help"}, &out, &out)
	if !errors.Is(err, config.ErrHelp) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"usage: firmware-bridge", "--udp-bind", "FIRMWARE_BRIDGE_MQTT_SERVER", "--marshaler", "--metrics-bind"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if err := run(context.Background(), []string{"--marshaler", "xml", "--udp-bind", "127.0.0.1:0"}, &out, &out); err == nil || !strings.Contains(err.Error(), "protobuf or json") {
		t.Fatalf("bad marshaler: %v", err)
	}
}

// buildBinary compiles the real binary. release builds it the way `make
// cross` ships it (static, no cgo, stripped), which matters for memory
// figures; otherwise the test build's flags keep the build cache warm.
func buildBinary(tb testing.TB, release bool) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "firmware-bridge")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if release {
		cmd = exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(tb testing.TB, network string) int {
	tb.Helper()
	if network == "udp" {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			tb.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startBinary runs the built bridge and waits until its MQTT connection is up.
func startBinary(tb testing.TB, bin string, udpPort, metricsPort int, args ...string) *exec.Cmd {
	tb.Helper()
	args = append([]string{"--udp-bind", fmt.Sprintf("127.0.0.1:%d", udpPort), "--metrics-bind", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"--log-format", "text", "--log-level", "warn"}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if metricValue(scrape(metricsPort), "firmware_bridge_mqtt_connected ") >= 1 {
			return cmd
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatal("bridge did not connect to MQTT")
	return nil
}

// The real binary serving one gateway (--gateway-id): it takes that
// gateway's commands, and killed without a chance to say goodbye, it
// leaves its last will: the gateway's retained OFFLINE state.
func TestSingleGatewayAndLastWill(t *testing.T) {
	broker := testkit.StartBroker(t, "")
	bin := buildBinary(t, false)
	const gid = "0102030405060708"
	cmd := startBinary(t, bin, freePort(t, "udp"), freePort(t, "tcp"), "--mqtt-server", broker.URL(), "--gateway-id", gid, "--topic-prefix", "will/")

	sub := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("will-check"))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(100)
	acks := make(chan paho.Message, 1)
	sub.Subscribe("will/gateway/"+gid+"/event/ack", 1, func(_ paho.Client, m paho.Message) { acks <- m }).Wait()
	down, _ := proto.Marshal(&gw.DownlinkFrame{DownlinkId: 77, Items: []*gw.DownlinkFrameItem{{PhyPayload: []byte{1}}}})
	sub.Publish("will/gateway/"+gid+"/command/down", 1, false, down).Wait()
	select {
	case m := <-acks:
		// The gateway never sent PULL_DATA: no downlink path.
		var ack gw.DownlinkTxAck
		if err := proto.Unmarshal(m.Payload(), &ack); err != nil || ack.DownlinkId != 77 || ack.Items[0].Status != gw.TxAckStatus_INTERNAL_ERROR {
			t.Fatalf("ack %v %v", &ack, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("command not taken")
	}

	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	got := make(chan paho.Message, 1)
	sub.Subscribe("will/gateway/"+gid+"/state/conn", 1, func(_ paho.Client, m paho.Message) { got <- m })
	select {
	case m := <-got:
		var cs gw.ConnState
		if err := proto.Unmarshal(m.Payload(), &cs); err != nil {
			t.Fatal(err)
		}
		if cs.State != gw.ConnState_OFFLINE || cs.GatewayId != gid || !m.Retained() {
			t.Fatalf("will %v retained=%v", &cs, m.Retained())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no last will")
	}
}
