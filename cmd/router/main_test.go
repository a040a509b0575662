package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hexproof/hexproof/internal/config"
)

func TestRunHelpAndBadConfig(t *testing.T) {
	noenv := func(string) string { return "" }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error, or in stdout for --help
		help bool
	}{
		{"help lists flags and env names", []string{"--help"}, nil, "ROUTER_LNS", true},
		{"no OUI", []string{"--key-file", t.TempDir() + "/k.json"}, nil, "set --ouis", false},
		{"OUI without LNS", []string{"--ouis", "3"}, nil, "OUI 3 has no LNS", false},
		{"bad LNS address", []string{"--ouis", "3", "--lns", "3=nohost"}, nil, "not host:port", false},
		{"bad RX2", []string{"--ouis", "3", "--lns", "localhost:1700", "--rx2", "EU868=x"}, nil, "--rx2", false},
		{"print address", []string{"--print-address", "--key-file", t.TempDir() + "/k.json"}, nil, "hxp1", true},
		{"env is read", nil, map[string]string{"ROUTER_OUIS": "4", "ROUTER_MAX_MESSAGE_BYTES": "10"}, "OUI 4 has no LNS", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := noenv
			if tt.env != nil {
				getenv = func(k string) string { return tt.env[k] }
			}
			var out, errw bytes.Buffer
			err := run(context.Background(), tt.args, getenv, &out, &errw)
			if tt.help {
				if (err != nil && !errors.Is(err, config.ErrHelp)) || !strings.Contains(out.String(), tt.want) {
					t.Fatalf("err %v, output %q", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
