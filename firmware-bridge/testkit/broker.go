package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// MosquittoPath is where Debian installs the broker.
const MosquittoPath = "/usr/sbin/mosquitto"

// Broker is a private Mosquitto on a free 127.0.0.1 port.
type Broker struct {
	t    testing.TB
	Port int
	dir  string
	cmd  *exec.Cmd
}

// StartBroker starts a Mosquitto with persistence (so a restart keeps
// persistent sessions) and extra config lines. Without the binary the test
// is skipped, or fails when HEXPROOF_REQUIRE_SERVICES=1.
func StartBroker(t testing.TB, extra string) *Broker {
	t.Helper()
	if _, err := os.Stat(MosquittoPath); err != nil {
		if os.Getenv("HEXPROOF_REQUIRE_SERVICES") == "1" {
			t.Fatalf("mosquitto is required (HEXPROOF_REQUIRE_SERVICES=1): %v", err)
		}
		t.Skipf("mosquitto binary unavailable: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	b := &Broker{t: t, Port: port, dir: t.TempDir()}
	if os.Getuid() == 0 {
		// As root, mosquitto drops to user "mosquitto", which cannot write
		// the persistence file into the test's directory.
		extra = "user root\n" + extra
	}
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nlog_dest none\n%s\n", port, b.dir, extra)
	if err := os.WriteFile(filepath.Join(b.dir, "mosquitto.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Start()
	t.Cleanup(b.Kill)
	return b
}

// URL is the broker's tcp:// URL.
func (b *Broker) URL() string { return "tcp://127.0.0.1:" + strconv.Itoa(b.Port) }

// Start (re)starts the process and waits until it accepts connections.
func (b *Broker) Start() {
	b.t.Helper()
	cmd := exec.Command(MosquittoPath, "-c", filepath.Join(b.dir, "mosquitto.conf"))
	cmd.Dir = b.dir
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	b.cmd = cmd
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", b.Port))
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.t.Fatalf("mosquitto did not listen on %d", b.Port)
}

// Stop ends the broker with SIGTERM (it saves its persistent sessions)
// and waits for it.
func (b *Broker) Stop() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	_ = b.cmd.Wait() // exit status of a signalled broker
	b.cmd = nil
}

// Kill ends the broker at once.
func (b *Broker) Kill() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
	b.cmd = nil
}

// PID of the running broker (0 if stopped).
func (b *Broker) PID() int {
	if b.cmd == nil {
		return 0
	}
	return b.cmd.Process.Pid
}
