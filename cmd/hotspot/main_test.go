package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/hotspot/hotspottest"
	"github.com/hexproof/hexproof/hotspot/status"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/testsvc"
)

// TestMain lets the test binary play the hotspot binary: a child started
// with HOTSPOT_TEST_CHILD=1 runs the command line in HOTSPOT_TEST_ARGS.
func TestMain(m *testing.M) {
	if os.Getenv("HOTSPOT_TEST_CHILD") == "1" {
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv("HOTSPOT_TEST_ARGS")), &args); err != nil {
			panic(err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, args, os.Stdout, os.Stderr, func(string) string { return "" })
		stop()
		if err != nil {
			os.Stderr.WriteString("hotspot: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb, func(string) string { return "" })
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

func TestIdentityCommands(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "hotspot.key")
	out, err := runCmd(t, "keys", "generate", "--key", keyPath)
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "keys", "generate", "--key", keyPath); err == nil {
		t.Fatal("generate overwrote an existing key")
	}
	out, err = runCmd(t, "keys", "show", "--key", keyPath, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var shown struct{ Address, PublicKey string }
	json.Unmarshal([]byte(strings.ReplaceAll(out, "public_key", "publickey")), &shown)
	k, err := identity.LoadKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if shown.Address != k.Address().String() {
		t.Fatalf("show printed %q, want %s", out, k.Address())
	}

	owner, _ := identity.NewKey(nil)
	t.Run("onboard", func(t *testing.T) {
		out, err := runCmd(t, "onboard", "--key", keyPath, "--owner", owner.Address().String(), "--chain-id", "test-1")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var o OnboardOutput
		if err := json.Unmarshal([]byte(out), &o); err != nil {
			t.Fatal(err)
		}
		sb, _ := hex.DecodeString(o.SignBytes)
		sig, _ := hex.DecodeString(o.HotspotSignature)
		if err := identity.Verify(k.PublicKey(), identity.DomainHotspotAdd, sb, sig); err != nil {
			t.Fatalf("hotspot signature does not verify: %v", err)
		}
		if o.ChainID != "test-1" || o.Owner != owner.Address().String() || o.Payload == "" {
			t.Fatalf("output %+v", o)
		}
		if _, err := runCmd(t, "onboard", "--key", keyPath, "--owner", "nonsense", "--chain-id", "x"); err == nil {
			t.Fatal("bad owner accepted")
		}
	})
	t.Run("assert", func(t *testing.T) {
		out, err := runCmd(t, "assert", "--key", keyPath, "--h3", "8c2a0a72e0539ff", "--region", "eu868", "--gain", "5.8", "--elevation", "10")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var o AssertOutput
		json.Unmarshal([]byte(out), &o)
		if o.H3 != "8c2a0a72e0539ff" || o.GainDdbi != 58 || o.ElevationM != 10 || o.Region != "EU868" {
			t.Fatalf("output %+v", o)
		}
		for _, bad := range [][]string{
			{"--h3", "8c2a0a72e0539ff"},                             // no region
			{"--h3", "852a1073fffffff", "--region", "EU868"},        // resolution 5
			{"--lat", "52.5", "--lng", "13.4", "--region", "EU868"}, // no oracle to convert
		} {
			if _, err := runCmd(t, append([]string{"assert", "--key", keyPath}, bad...)...); err == nil {
				t.Errorf("assert %v accepted", bad)
			}
		}
	})
	t.Run("status refuses a public address", func(t *testing.T) {
		if err := checkLoopback("0.0.0.0:4467"); err == nil {
			t.Fatal("0.0.0.0 accepted")
		}
		if err := checkLoopback("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	})
}

type child struct {
	cmd        *exec.Cmd
	statusAddr string
}

var statusLine = regexp.MustCompile(`status on http://([0-9.:]+)/status`)

// startAgent runs `hotspot run args...` in a child process and waits for
// its status API.
func startAgent(t *testing.T, args []string) *child {
	t.Helper()
	raw, _ := json.Marshal(append([]string{"run"}, args...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HOTSPOT_TEST_CHILD=1", "HOTSPOT_TEST_ARGS="+string(raw))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("agent stderr:\n%s", stderr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := statusLine.FindStringSubmatch(sc.Text()); m != nil {
				lines <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case addr := <-lines:
		return &child{cmd: cmd, statusAddr: addr}
	case <-time.After(20 * time.Second):
		t.Fatalf("agent did not start; stderr:\n%s", stderr.String())
		return nil
	}
}

func (c *child) status(t *testing.T) *status.Status {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := status.Fetch(ctx, "http://"+c.statusAddr)
	if err != nil {
		return nil
	}
	return st
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKill9LosesNoReports queues witness reports while the oracle is down,
// kills the agent process with SIGKILL, restarts it and checks that the
// oracle gets every report.
func TestKill9LosesNoReports(t *testing.T) {
	broker := testsvc.MQTTURL(t)
	bridge := testsvc.MQTTClient(t)
	prefix := testsvc.TopicPrefix(t)
	oracle, oracleAddr := hotspottest.NewOracle(t, "")
	oracle.SetRefusing(true)
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "hotspot.key")
	if out, err := runCmd(t, "keys", "generate", "--key", keyPath); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	const gatewayID = "00800000a0001234"
	args := []string{"--key", keyPath, "--data-dir", filepath.Join(dir, "data"), "--chain-id", "test-1",
		"--chain-rpc", "http://127.0.0.1:1", "--mqtt-broker", broker, "--mqtt-topic-prefix", prefix, "--gateway-id", gatewayID,
		"--oracle", oracleAddr, "--status-addr", "127.0.0.1:0", "--region", "EU868", "--log-format", "text"}

	c := startAgent(t, args)
	waitFor(t, "mqtt connection", func() bool { st := c.status(t); return st != nil && st.Bridge.MQTTConnected })
	const n = 5
	want := map[string]bool{}
	for i := range n {
		payload := bytes.Repeat([]byte{byte(0x10 + i)}, beacon.PayloadSize)
		want[string(payload)] = true
		f := &gw.UplinkFrame{PhyPayload: beacon.Frame(payload),
			TxInfo: &gw.UplinkTxInfo{Frequency: 867100000, Modulation: &gw.Modulation{Parameters: &gw.Modulation_Lora{Lora: &gw.LoraModulationInfo{Bandwidth: 125000, SpreadingFactor: 10}}}},
			RxInfo: &gw.UplinkRxInfo{GatewayId: gatewayID, Rssi: -100, Snr: 2, CrcStatus: gw.CRCStatus_CRC_OK}}
		b, _ := proto.Marshal(f)
		bridge.Publish(prefix+"gateway/"+gatewayID+"/event/up", 0, false, b).Wait()
	}
	waitFor(t, "reports queued", func() bool {
		st := c.status(t)
		return st != nil && st.Queues.Oracles[oracleAddr] == n
	})
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	if _, w := oracle.Counts(); w != 0 {
		t.Fatalf("oracle accepted %d reports while refusing", w)
	}

	oracle.SetRefusing(false)
	c2 := startAgent(t, args)
	waitFor(t, "all reports delivered after restart", func() bool { _, w := oracle.Counts(); return w >= n })
	got := oracle.Witnesses()
	if len(got) != n {
		t.Fatalf("oracle got %d reports, want %d", len(got), n)
	}
	k, _ := identity.LoadKeyFile(keyPath)
	for _, w := range got {
		if !want[string(w.GetPayload())] {
			t.Fatalf("unexpected report payload %x", w.GetPayload())
		}
		delete(want, string(w.GetPayload()))
		if err := identity.VerifyMessage(k.PublicKey(), identity.DomainWitness, w); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "queue drained", func() bool { st := c2.status(t); return st != nil && st.Queues.Oracles[oracleAddr] == 0 })
}

func TestSampleConfigLoads(t *testing.T) {
	// The sample config must parse with the run flags; the run then stops
	// at the missing key file, after the config was accepted.
	_, err := runCmd(t, "run", "--config", "../../hotspot/hotspot.toml", "--key", filepath.Join(t.TempDir(), "missing.key"))
	if err == nil || !strings.Contains(err.Error(), "open key file") {
		t.Fatalf("sample config: %v", err)
	}
	_, err = runCmd(t, "run", "--config", writeFile(t, "bogus_key = 1\n"))
	if err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("unknown key accepted: %v", err)
	}
}

func writeFile(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
