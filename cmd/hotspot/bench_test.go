package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/firmware-bridge/testkit"
	"github.com/hexproof/hexproof/hotspot/hotspottest"
	"github.com/hexproof/hexproof/internal/testsvc"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// procRSS returns VmRSS in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// procCPU returns the CPU time the process's threads ran, with nanosecond
// resolution (the sum of /proc/PID/task/*/schedstat; /proc/PID/stat counts
// 10 ms ticks, too coarse for an idle agent).
func procCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("no tasks of %d: %v", pid, err)
	}
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread exited
		}
		f := strings.Fields(string(b))
		if len(f) < 1 {
			continue
		}
		ns, _ := strconv.ParseInt(f[0], 10, 64)
		total += ns
	}
	return time.Duration(total), nil
}

// releaseTags are the build tags of a release build: grpcnotrace drops
// golang.org/x/net/trace (and html/template with it), about 2 MB of RSS.
const releaseTags = "grpcnotrace"

func buildBinary(b *testing.B, dir, pkg string) string {
	out := filepath.Join(dir, filepath.Base(pkg))
	tags := releaseTags
	if v, ok := os.LookupEnv("HOTSPOT_BENCH_TAGS"); ok {
		tags = v
	}
	cmd := exec.Command("go", "build", "-trimpath", "-tags", tags, "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

func startProc(b *testing.B, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

type sample struct {
	rss int64
	cpu float64 // percent of one core
}

func measure(b *testing.B, pid int, d time.Duration) sample {
	c0, err := procCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(d)
	c1, _ := procCPU(pid)
	rss, err := procRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	return sample{rss: rss, cpu: 100 * float64(c1-c0) / float64(time.Since(t0))}
}

// BenchmarkAgentResources runs the real hotspot and firmware-bridge binaries
// (release build flags) with a simulated packet forwarder over UDP, Mosquitto
// and a test router, and reports resident memory and CPU of each at idle and
// at 50 uplinks/s. The chain RPC is unreachable on purpose: the agent routes
// from its cached routing table.
func BenchmarkAgentResources(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench) to run; takes about 40 s")
	}
	broker := testsvc.MQTTURL(b)
	prefix := testsvc.TopicPrefix(b)
	dir := b.TempDir()
	hotspotBin := buildBinary(b, dir, "github.com/hexproof/hexproof/cmd/hotspot")
	bridgeBin := buildBinary(b, dir, "github.com/hexproof/hexproof/cmd/firmware-bridge")
	router, routerAddr := hotspottest.NewRouter(b, "bench-1")
	_, oracleAddr := hotspottest.NewOracle(b, "")

	keyPath := filepath.Join(dir, "hotspot.key")
	if out, err := exec.Command(hotspotBin, "keys", "generate", "--key", keyPath).CombinedOutput(); err != nil {
		b.Fatalf("%v %s", err, out)
	}
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o700)
	cfg, _ := protojson.Marshal(&hexproofv1.OuiConfig{
		DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x26000000, End: 0x26ffffff}},
		Routers:       []*hexproofv1.RouterEndpoint{{Endpoint: routerAddr, PublicKey: router.Key.PublicKey()}},
	})
	table, _ := json.Marshal([]map[string]any{{"oui": 1, "config": json.RawMessage(cfg)}})
	if err := os.WriteFile(filepath.Join(data, "routing.json"), table, 0o600); err != nil {
		b.Fatal(err)
	}

	udpLn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	udpAddr := udpLn.LocalAddr()
	udpLn.Close()
	bridge := startProc(b, bridgeBin, "--udp-bind", udpAddr.String(), "--mqtt-server", broker, "--topic-prefix", prefix, "--log-level", "warn")
	eui := gwmp.EUI64{0, 0x16, 0xc0, 0x01, 0xff, 0x10, 0xb0, 0x01}
	agent := exec.Command(hotspotBin, "run", "--key", keyPath, "--data-dir", data, "--chain-id", "bench-1", "--chain-rpc", "http://127.0.0.1:1",
		"--mqtt-broker", broker, "--mqtt-topic-prefix", prefix, "--gateway-id", eui.String(), "--oracle", oracleAddr,
		"--status-addr", "127.0.0.1:0", "--region", "EU868", "--log-level", "error")
	stdout, _ := agent.StdoutPipe()
	if err := agent.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	sc := bufio.NewScanner(stdout)
	re := regexp.MustCompile(`status on http://(\S+)/status`)
	for sc.Scan() {
		if re.MatchString(sc.Text()) {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()

	addr, _ := net.ResolveUDPAddr("udp", udpAddr.String())
	fwd := testkit.NewGateway(b, addr, eui, 2)
	stopPull := make(chan struct{})
	defer close(stopPull)
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			fwd.Pull()
			select {
			case <-stopPull:
				return
			case <-t.C:
			}
		}
	}()
	// Routers connect and the session settles.
	deadline := time.Now().Add(15 * time.Second)
	fport := uint8(1)
	for {
		phy, _ := (&lorawan.PHYPayload{MHDR: lorawan.MHDR{MType: lorawan.UnconfirmedDataUp, Major: lorawan.LoRaWANR1},
			MACPayload: &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: lorawan.DevAddr{0x26, 1, 2, 3}}, FPort: &fport,
				FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: make([]byte, 20)}}}}).MarshalBinary()
		fwd.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink(phy, 1)}})
		select {
		case <-router.Uplinks:
		case <-time.After(500 * time.Millisecond):
			if time.Now().After(deadline) {
				b.Fatal("no uplink reached the router")
			}
			continue
		}
		break
	}
	time.Sleep(3 * time.Second)

	b.ResetTimer()
	idleAgent := measure(b, agent.Process.Pid, 15*time.Second)
	idleBridge := sample{}
	idleBridge.rss, _ = procRSS(bridge.Process.Pid)

	// 50 uplinks/s for 15 s.
	stop := make(chan struct{})
	sent := 0
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for i := uint32(0); ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			phy, _ := (&lorawan.PHYPayload{MHDR: lorawan.MHDR{MType: lorawan.UnconfirmedDataUp, Major: lorawan.LoRaWANR1},
				MACPayload: &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: lorawan.DevAddr{0x26, byte(i), 2, 3}, FCnt: i}, FPort: &fport,
					FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: make([]byte, 20)}}}}).MarshalBinary()
			fwd.Push(gwmp.PushDataPayload{RXPK: []gwmp.RXPK{testkit.Uplink(phy, i)}})
			sent++
		}
	}()
	received := 0
	drain := make(chan struct{})
	go func() {
		for {
			select {
			case <-router.Uplinks:
				received++
			case <-drain:
				return
			}
		}
	}()
	time.Sleep(2 * time.Second)
	c0b, _ := procCPU(bridge.Process.Pid)
	t0 := time.Now()
	loadAgent := measure(b, agent.Process.Pid, 15*time.Second)
	c1b, _ := procCPU(bridge.Process.Pid)
	loadBridge := sample{cpu: 100 * float64(c1b-c0b) / float64(time.Since(t0))}
	loadBridge.rss, _ = procRSS(bridge.Process.Pid)
	close(stop)
	time.Sleep(500 * time.Millisecond)
	close(drain)
	b.StopTimer()

	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	b.ReportMetric(mb(idleAgent.rss), "agent_idle_rss_MB")
	b.ReportMetric(idleAgent.cpu, "agent_idle_cpu_%")
	b.ReportMetric(mb(idleBridge.rss), "bridge_idle_rss_MB")
	b.ReportMetric(mb(loadAgent.rss), "agent_50ups_rss_MB")
	b.ReportMetric(loadAgent.cpu, "agent_50ups_cpu_%")
	b.ReportMetric(mb(loadBridge.rss), "bridge_50ups_rss_MB")
	b.ReportMetric(loadBridge.cpu, "bridge_50ups_cpu_%")
	b.ReportMetric(mb(loadAgent.rss+loadBridge.rss), "agent+bridge_50ups_rss_MB")
	b.ReportMetric(float64(received)/float64(max(sent, 1))*100, "uplinks_delivered_%")
}
