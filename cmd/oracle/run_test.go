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
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/chain/chaintest"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/config"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/oracle/ingest"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func noEnv(string) string { return "" }

// readAddrs reads the "oracle: NAME on ADDR" lines run prints until it has
// every name, then discards the rest of r.
func readAddrs(t *testing.T, r io.Reader, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	br := bufio.NewReader(r)
	for len(out) < len(names) {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read addresses: %v (have %v)", err, out)
		}
		for _, n := range names {
			if a, ok := strings.CutPrefix(strings.TrimSpace(line), "oracle: "+n+" on "); ok {
				out[n] = a
			}
		}
	}
	go io.Copy(io.Discard, br)
	return out
}

// scrape reads a Prometheus text exposition: series (name with labels as
// printed) to value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// signedBeacon is a beacon report of a new hotspot on the chain's latest
// block, as a hotspot would send it.
func signedBeacon(t *testing.T, c *client.Client) *hexproofv1.BeaconReport {
	t.Helper()
	k, err := identity.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	head, err := c.LatestBlock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := beacon.Derive(head.Hash, k.PublicKey(), hexproofv1.Region_REGION_EU868)
	if err != nil {
		t.Fatal(err)
	}
	br := &hexproofv1.BeaconReport{Hotspot: k.PublicKey(), EntropyHeight: uint64(head.Height), Entropy: head.Hash, Payload: b.Payload,
		FrequencyHz: b.FrequencyHz, Datarate: b.DataRate, TxPowerDbm: beacon.TxPowerDBm(hexproofv1.Region_REGION_EU868, 12),
		TransmittedAtMs: uint64(time.Now().UnixMilli())}
	if err := k.SignMessage(identity.DomainBeacon, br); err != nil {
		t.Fatal(err)
	}
	return br
}

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
		done <- run(ctx, []string{"--services", "price", "--price-sim-base-uusd", "2000000", "--http-listen", "127.0.0.1:0",
			"--metrics-listen", "127.0.0.1:0", "--log-level", "error"}, pw, io.Discard, noEnv)
		pw.Close()
	}()
	addrs := readAddrs(t, pr, "HTTP", "metrics")
	base := strings.TrimSuffix(addrs["HTTP"], "/")
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
	// --metrics-listen moves /metrics off the API listener.
	m := scrape(t, addrs["metrics"])
	if m[`oracle_http_request_duration_seconds_count{code="200",method="GET",route="GET /api/v1/h3/cell"}`] != 1 || m["go_goroutines"] == 0 {
		t.Errorf("metrics listener: h3 requests %v, goroutines %v", m[`oracle_http_request_duration_seconds_count{code="200",method="GET",route="GET /api/v1/h3/cell"}`], m["go_goroutines"])
	}
	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the API listener: %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}
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
	c, _, rpc := chaintest.Start(t, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args := []string{"--chain-rpc", rpc, "--database-url", dbURL, "--http-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0",
		"--key-file", filepath.Join(t.TempDir(), "oracle.key"), "--price-static-uusd", "1500000", "--ingest-window", "1s", "--log-level", "error"}
	go func() {
		done <- run(ctx, args, pw, io.Discard, noEnv)
		pw.Close()
	}()
	addrs := readAddrs(t, pr, "HTTP", "ingest gRPC")
	base := strings.TrimSuffix(addrs["HTTP"], "/")
	target := chaintest.WaitHeight(t, c, 0) + 2
	chaintest.WaitHeight(t, c, target)
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
		if st.ChainID == chaintest.ChainID && st.Height != nil && st.IndexedHeight >= target {
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

	// An ingest: one well-formed beacon report and one empty one; /metrics
	// then shows both, the receipt, the queue, the indexer and HTTP latency.
	conn, err := grpc.NewClient(addrs["ingest gRPC"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ing := hexproofv1.NewPocIngestServiceClient(conn)
	if _, err := ing.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: signedBeacon(t, c)}); err != nil {
		t.Fatalf("submit beacon: %v", err)
	}
	if _, err := ing.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{}); ingest.ReasonOf(err) != ingest.ReasonMissingReport {
		t.Fatalf("empty beacon report: %v, want %s", err, ingest.ReasonMissingReport)
	}
	var m map[string]float64
	deadline = time.Now().Add(20 * time.Second)
	for {
		m = scrape(t, base+"/metrics")
		// The hotspot is not onboarded: the chain refuses the receipt.
		if m[`oracle_ingest_receipts_total{event="rejected"}`] >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no receipt rejected by the chain: %v", m)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tc := range []struct {
		series string
		min    float64
	}{
		{`oracle_ingest_reports_accepted_total{kind="beacon"}`, 1},
		{`oracle_ingest_reports_rejected_total{kind="beacon",reason="missing_report"}`, 1},
		{`oracle_ingest_queue_beacons{state="pending"}`, 0},
		{`oracle_ingest_queue_beacons{state="submitted"}`, 0},
		{`oracle_ingest_receipts_total{event="submitted"}`, 0},
		{`oracle_indexer_height`, float64(target)},
		{`oracle_indexer_chain_height`, float64(target)},
		{`oracle_indexer_lag_blocks`, 0},
		{`oracle_indexer_blocks_total`, float64(target)},
		{`oracle_indexer_rows_total{table="blocks"}`, float64(target)},
		{`oracle_http_request_duration_seconds_count{code="200",method="GET",route="GET /api/v1/status"}`, 1},
		{`oracle_http_request_duration_seconds_count{code="200",method="GET",route="GET /api/v1/h3/cell"}`, 1},
	} {
		got, ok := m[tc.series]
		if !ok || got < tc.min {
			t.Errorf("%s = %v (present %v), want at least %v", tc.series, got, ok, tc.min)
		}
	}
	if got := m[`oracle_ingest_reports_accepted_total{kind="witness"}`]; got != 0 {
		t.Errorf("accepted witnesses = %v, want 0", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
