package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type cfg struct {
	config string
	bind   string
	n      int
	wait   time.Duration
	peers  StringList
}

func newFS(c *cfg) *flag.FlagSet {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.config, "config", "", "TOML file")
	fs.StringVar(&c.bind, "udp-bind", "0.0.0.0:1700", "address")
	fs.IntVar(&c.n, "count", 1, "count")
	fs.DurationVar(&c.wait, "wait", time.Second, "wait")
	fs.Var(&c.peers, "peer", "peers")
	return fs
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(file, []byte("udp_bind = \"file:1\"\ncount = 3\nwait = \"5s\"\npeer = [\"a\", \"b\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"X_COUNT": "7"}
	var c cfg
	err := Load(newFS(&c), "X", []string{"--config", file, "--udp-bind", "flag:2"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.bind != "flag:2" {
		t.Errorf("bind %q: the flag must win", c.bind)
	}
	if c.n != 7 {
		t.Errorf("count %d: the environment must beat the file", c.n)
	}
	if c.wait != 5*time.Second {
		t.Errorf("wait %v: the file must beat the default", c.wait)
	}
	if strings.Join(c.peers, ",") != "a,b" {
		t.Errorf("peers %v", c.peers)
	}
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(file, []byte("count = 9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c cfg
	if err := Load(newFS(&c), "X", nil, func(k string) string {
		if k == "X_CONFIG" {
			return file
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	if c.n != 9 {
		t.Fatalf("count %d, want 9 from the file named by X_CONFIG", c.n)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("nope = 1\n"), 0o600)
	broken := filepath.Join(dir, "broken.toml")
	os.WriteFile(broken, []byte("count = = 1\n"), 0o600)
	badVal := filepath.Join(dir, "badval.toml")
	os.WriteFile(badVal, []byte("count = \"many\"\n"), 0o600)
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"unknown key":  {args: []string{"--config", bad}, want: `unknown key "nope"`},
		"syntax":       {args: []string{"--config", broken}, want: "broken.toml"},
		"bad file val": {args: []string{"--config", badVal}, want: `key "count"`},
		"bad env val":  {env: map[string]string{"X_WAIT": "soon"}, want: "X_WAIT"},
		"missing file": {args: []string{"--config", filepath.Join(dir, "none.toml")}, want: "none.toml"},
		"unknown flag": {args: []string{"--nope"}, want: "nope"},
	} {
		t.Run(name, func(t *testing.T) {
			var c cfg
			err := Load(newFS(&c), "X", tc.args, func(k string) string { return tc.env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestUsageListsEnv(t *testing.T) {
	var c cfg
	fs := newFS(&c)
	var sb strings.Builder
	PrintUsage(&sb, fs, "FIRMWARE_BRIDGE", "usage: x")
	for _, want := range []string{"--udp-bind", "FIRMWARE_BRIDGE_UDP_BIND", "0.0.0.0:1700"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, sb.String())
		}
	}
}
