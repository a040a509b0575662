package devnet

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hexproof/hexproof/internal/config"
)

func TestParseConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.Validators != 4 || c.Hotspots != 100 || c.Companies != 2 || c.Dir != "devnet" || c.DatabaseURL != DefaultDatabaseURL || c.MQTTServer != "" {
				t.Fatalf("defaults %+v", c)
			}
		}},
		{name: "flags", args: []string{"--dir", "/tmp/x", "--validators", "1", "--hotspots", "20", "--seed", "9", "--block-time", "250ms", "--city", "berlin", "--chain-command", "/opt/chain --flag"},
			check: func(t *testing.T, c Config) {
				if c.Dir != "/tmp/x" || c.Validators != 1 || c.Hotspots != 20 || c.Seed != 9 || c.BlockTime != 250*time.Millisecond || c.City != "berlin" ||
					len(c.ChainCommand) != 2 || c.ChainCommand[1] != "--flag" {
					t.Fatalf("parsed %+v", c)
				}
			}},
		{name: "environment", env: map[string]string{"DEVNET_HOTSPOTS": "30", "DEVNET_MQTT_SERVER": "tcp://10.0.0.1:1883"}, check: func(t *testing.T, c Config) {
			if c.Hotspots != 30 || c.MQTTServer != "tcp://10.0.0.1:1883" {
				t.Fatalf("from env %+v", c)
			}
		}},
		{name: "flag beats environment", args: []string{"--hotspots", "40"}, env: map[string]string{"DEVNET_HOTSPOTS": "30"}, check: func(t *testing.T, c Config) {
			if c.Hotspots != 40 {
				t.Fatalf("hotspots %d", c.Hotspots)
			}
		}},
		{name: "no validators", args: []string{"--validators", "0"}, wantErr: "--validators 0"},
		{name: "one hotspot", args: []string{"--hotspots", "1"}, wantErr: "--hotspots 1"},
		{name: "short epochs", args: []string{"--epoch-blocks", "5"}, wantErr: "--epoch-blocks 5"},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantErr: "--log-format"},
		{name: "bad prefix", args: []string{"--mqtt-topic-prefix", "eu"}, wantErr: "must end with"},
		{name: "stray argument", args: []string{"run"}, wantErr: "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c, err := ParseConfig(tc.args, env(tc.env), &out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestHelpListsFlagsAndEnvironment(t *testing.T) {
	var out bytes.Buffer
	_, err := ParseConfig([]string{"--help"}, func(string) string { return "" }, &out)
	if !errors.Is(err, config.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"--dir", "--validators", "--hotspots", "--devices", "--seed", "--epoch-blocks", "--block-time", "--database-url", "--city", "--world", "--mqtt-server", "--log-format", "DEVNET_HOTSPOTS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %s", want)
		}
	}
}

func TestIsRX2(t *testing.T) {
	for _, tc := range []struct {
		freq float64
		dr   string
		want bool
	}{{869.525, "SF12BW125", true}, {868.1, "SF7BW125", false}, {869.525, "SF9BW125", false}, {868.5, "SF12BW125", false}} {
		if got := isRX2(tc.freq, tc.dr); got != tc.want {
			t.Errorf("isRX2(%v, %s) = %v", tc.freq, tc.dr, got)
		}
	}
}
