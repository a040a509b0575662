package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), args, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return out.String() + errb.String(), err
}

func TestHelpEverywhere(t *testing.T) {
	cmds := [][]string{{"--help"}, {"init", "--help"}, {"testnet", "--help"}, {"start", "--help"}, {"keys", "--help"},
		{"genesis", "--help"}, {"genesis", "add-validator", "--help"}, {"keys", "create", "--help"}, {"keys", "list", "--help"}, {"keys", "show", "--help"}, {"tx", "--help"}, {"query", "--help"}, {"status", "--help"}}
	for _, k := range txKinds() {
		cmds = append(cmds, []string{"tx", k.name, "--help"})
	}
	for _, c := range cmds {
		t.Run(strings.Join(c, " "), func(t *testing.T) {
			out, err := run(t, nil, c...)
			if err != nil {
				t.Fatalf("err %v", err)
			}
			if !strings.Contains(out, "usage: chain") {
				t.Fatalf("no usage in %q", out)
			}
		})
	}
	if out, _ := run(t, nil, "start", "--help"); !strings.Contains(out, "CHAIN_PRICE_URL") {
		t.Fatalf("start --help does not list env names:\n%s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range [][]string{{}, {"nope"}, {"tx", "nope"}, {"query", "nope"}, {"query", "account"}, {"query", "epoch-rewards"}, {"query", "epoch-rewards", "1", "2", "3", "4"}, {"query", "poc"}, {"keys", "create"}, {"tx", "transfer", "--to", "x"}} {
		if _, err := run(t, nil, c...); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: err %v, want a usage error", c, err)
		}
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CHAIN_KEYRING": dir}
	out, err := run(t, env, "keys", "create", "--name", "alice")
	if err != nil {
		t.Fatal(err)
	}
	var created map[string]string
	json.Unmarshal([]byte(out), &created)
	if !strings.HasPrefix(created["address"], "hxp1") || created["file"] != filepath.Join(dir, "alice.json") {
		t.Fatalf("create: %s", out)
	}
	if _, err := run(t, env, "keys", "create", "--name", "alice"); err == nil {
		t.Fatal("keys create overwrote a key")
	}
	out, _ = run(t, env, "keys", "show", "alice")
	if !strings.Contains(out, created["address"]) {
		t.Fatalf("show: %s", out)
	}
	out, _ = run(t, env, "keys", "list")
	var list []map[string]string
	json.Unmarshal([]byte(out), &list)
	if len(list) != 1 || list[0]["address"] != created["address"] {
		t.Fatalf("list: %s", out)
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := newFlags(Env{Stdout: &bytes.Buffer{}, Getenv: func(string) string { return "" }}, "x", "")
	node := fs.String("node", "", "")
	wait := fs.Bool("no-wait", false, "")
	if err := parse(fs, Env{Getenv: func(string) string { return "" }}, []string{"a", "--node", "u", "b", "--no-wait", "c"}); err != nil {
		t.Fatal(err)
	}
	if *node != "u" || !*wait || strings.Join(fs.Args(), ",") != "a,b,c" {
		t.Fatalf("node %q wait %v args %v", *node, *wait, fs.Args())
	}
}

func TestStartRefusesBadSettings(t *testing.T) {
	for _, args := range [][]string{
		{"start", "--home", t.TempDir(), "--price-url", "localhost:8080"},
		{"start", "--home", t.TempDir(), "--app", "other"},
		{"start", "--home", t.TempDir(), "--snapshot-keep", "0"},
		{"start", "--home", t.TempDir()}, // no config.toml
	} {
		if _, err := run(t, nil, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
