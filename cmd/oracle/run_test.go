package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hexproof/hexproof/internal/config"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/oracle/devchain"
)

func noEnv(string) string { return "" }

func TestHelpListsEnvironment(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--help"}, io.Discard, &out, noEnv)
	if !errors.Is(err, config.ErrHelp) {
		t.Fatalf("err %v, want ErrHelp", err)
	}
	for _, want := range []string{"ORACLE_DATABASE_URL", "ORACLE_CHAIN_RPC", "--services", "ORACLE_PRICE_SIM_BASE_UUSD", "ORACLE_INGEST_WINDOW"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %s", want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown service", []string{"--services", "ingest,mining"}, `unknown service "mining"`},
		{"price without source", []string{"--services", "price"}, "needs a source"},
		{"bad log level", []string{"--services", "price", "--price-static-uusd", "1", "--log-level", "loud"}, "log level"},
		{"stray argument", []string{"serve"}, "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, io.Discard, noEnv)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want a usage error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestUnreachableDatabaseSaysSo(t *testing.T) {
	env := func(k string) string {
		if k == "ORACLE_DATABASE_URL" {
			return "postgres://oracle:hunter2@127.0.0.1:1/oracle?connect_timeout=2"
		}
		return ""
	}
	err := run(context.Background(), []string{"--services", "indexer"}, io.Discard, io.Discard, env)
	if err == nil || !strings.Contains(err.Error(), "database unreachable") || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err %v: want a clear unreachable-database error without the password", err)
	}
}

// The price-only mode (what a validator runs) serves the price and the H3
// look-up without a database or chain.
func TestPriceOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--services", "price", "--price-sim-base-uusd", "2000000", "--http-listen", "127.0.0.1:0", "--log-level", "error"}, pw, io.Discard, noEnv)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "oracle: HTTP on ")), "/")
	var q struct {
		PriceUUSD uint64 `json:"price_uusd"`
		UpdatedAt string `json:"updated_at"`
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(base + "/api/v1/price")
		if err == nil && resp.StatusCode == 200 {
			json.NewDecoder(resp.Body).Decode(&q)
			resp.Body.Close()
			break
		}
		if resp != nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no price from %s: %v", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if q.PriceUUSD < 1_900_000 || q.PriceUUSD > 2_100_000 || q.UpdatedAt == "" {
		t.Fatalf("price %+v, want within 5%% of 2 USD", q)
	}
	resp, err := http.Get(base + "/api/v1/h3/cell?lat=52.52&lng=13.405")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("h3 cell: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// Every service at once against a real chain node and PostgreSQL: the
// explorer reports the chain and indexed heights, the price and H3
// endpoints answer on the same listener.
func TestAllServicesAgainstChain(t *testing.T) {
	dbURL, _ := testsvc.Postgres(t)
	c, _, rpc := devchain.Start(t, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args := []string{"--chain-rpc", rpc, "--database-url", dbURL, "--http-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0",
		"--key-file", filepath.Join(t.TempDir(), "oracle.key"), "--price-static-uusd", "1500000", "--ingest-window", "1s", "--log-level", "error"}
	go func() {
		done <- run(ctx, args, pw, io.Discard, noEnv)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "oracle: HTTP on ")), "/")
	target := devchain.WaitHeight(t, c, 0) + 2
	devchain.WaitHeight(t, c, target)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct {
			ChainID       string `json:"chain_id"`
			Height        *int64 `json:"height"`
			IndexedHeight int64  `json:"indexed_height"`
		}
		resp, err := http.Get(base + "/api/v1/status")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if st.ChainID == devchain.ChainID && st.Height != nil && st.IndexedHeight >= target {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v %v: indexer did not reach %d", st, err, target)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, p := range []string{"/api/v1/price", "/api/v1/h3/cell?lat=1&lng=2", "/api/v1/hexes?res=8", "/"} {
		resp, err := http.Get(base + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
