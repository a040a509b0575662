package router

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func TestSampleConfigLoads(t *testing.T) {
	c, err := ParseConfig([]string{"--config", "router.toml"}, func(string) string { return "" }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{1}, c.OUIs); diff != "" {
		t.Fatal(diff)
	}
	if c.LNS[1] != "127.0.0.1:1700" || c.RateLimit != 25 || c.VoucherInterval != 10*time.Second {
		t.Fatalf("config %+v", c)
	}
}

func TestConfigPrecedenceAndRX2(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.toml")
	os.WriteFile(file, []byte("ouis = [1, 2]\nlns = [\"1=a:1\", \"b:2\"]\nrate_limit = 5\n"), 0o600)
	env := map[string]string{"ROUTER_RATE_LIMIT": "7", "ROUTER_RX2": "EU868=869525000/SF9BW125"}
	c, err := ParseConfig([]string{"--config", file, "--rate-limit", "9"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 9 {
		t.Fatalf("rate limit %v, want the flag's 9", c.RateLimit)
	}
	if c.LNS[1] != "a:1" || c.LNS[2] != "b:2" {
		t.Fatalf("lns %v: a bare host:port fills the OUIs without one", c.LNS)
	}
	if w := c.RX2[hexproofv1.Region_REGION_EU868]; w.DataRate != "SF9BW125" {
		t.Fatalf("EU868 RX2 %+v", w)
	}
	if w := c.RX2[hexproofv1.Region_REGION_US915]; w != DefaultRX2[hexproofv1.Region_REGION_US915] {
		t.Fatalf("US915 RX2 %+v, want the default", w)
	}
}
