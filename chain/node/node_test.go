package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/hexproof/hexproof/chain/app"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
)

func TestTestnetHomesAndConfigRoundTrip(t *testing.T) {
	out := t.TempDir()
	nodes, err := Testnet(TestnetOptions{Out: out, Validators: 3, BasePort: 40000, TimeoutCommit: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var gen []byte
	for i, n := range nodes {
		for _, f := range []string{"config/config.toml", "config/genesis.json", "config/node_key.json", "config/priv_validator_key.json", "data/priv_validator_state.json", "keys/operator.json"} {
			if _, err := os.Stat(filepath.Join(n.Home, f)); err != nil {
				t.Errorf("node%d: %v", i, err)
			}
		}
		cfg, err := LoadCometConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Consensus.TimeoutCommit != 250*time.Millisecond || cfg.RPC.ListenAddress != fmt.Sprintf("tcp://127.0.0.1:%d", 40000+10*i+1) ||
			!cfg.Instrumentation.Prometheus || cfg.P2P.AddrBookStrict || strings.Count(cfg.P2P.PersistentPeers, "@") != 2 ||
			strings.Contains(cfg.P2P.PersistentPeers, n.NodeID) {
			t.Errorf("node%d config: commit %s rpc %s prom %v strict %v peers %q", i, cfg.Consensus.TimeoutCommit, cfg.RPC.ListenAddress, cfg.Instrumentation.Prometheus, cfg.P2P.AddrBookStrict, cfg.P2P.PersistentPeers)
		}
		b, _ := os.ReadFile(cfg.GenesisFile())
		if gen == nil {
			gen = b
		} else if !bytes.Equal(gen, b) {
			t.Errorf("node%d has a different genesis", i)
		}
	}
	doc, err := cmttypes.GenesisDocFromJSON(gen)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ConsensusParams.ABCI.VoteExtensionsEnableHeight != 1 || len(doc.Validators) != 3 {
		t.Fatalf("genesis: ve height %d, %d validators", doc.ConsensusParams.ABCI.VoteExtensionsEnableHeight, len(doc.Validators))
	}
	g, err := app.ParseGenesis(doc.AppState)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Validators) != 3 || len(g.Allocations) != 4 {
		t.Fatalf("app state: %d validators, %d allocations", len(g.Validators), len(g.Allocations))
	}
	// A second run refuses to overwrite.
	if _, err := Testnet(TestnetOptions{Out: out, Validators: 1}); err == nil {
		t.Fatal("testnet overwrote existing homes")
	}
}

func TestLoadCometConfigErrors(t *testing.T) {
	home := t.TempDir()
	if _, err := LoadCometConfig(home); err == nil || !strings.Contains(err.Error(), "chain init") {
		t.Fatalf("missing config: %v", err)
	}
	os.MkdirAll(filepath.Join(home, "config"), 0o755)
	os.WriteFile(filepath.Join(home, "config", "config.toml"), []byte("[consensus]\ntimeout_commit = 5\n"), 0o644)
	if _, err := LoadCometConfig(home); err == nil || !strings.Contains(err.Error(), "consensus.timeout_commit") {
		t.Fatalf("bad duration: %v", err)
	}
}

func TestCometLoggerAdapter(t *testing.T) {
	var buf bytes.Buffer
	l, _ := logging.New(&buf, "json", "debug")
	cl := NewCometLogger(l, true).With("module", "consensus")
	cl.Info("committed block", "height", int64(5), "blockHash", []byte{0xab}, "numTxs", 2)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["module"] != "consensus" || rec["block_hash"] != "AB" || rec["num_txs"] != float64(2) || rec["level"] != "INFO" {
		t.Fatalf("record %v", rec)
	}
	buf.Reset()
	NewCometLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), false).Info("chatty")
	if buf.Len() != 0 {
		t.Fatalf("CometBFT info logged at info without verbose: %s", buf.String())
	}
}

func TestHTTPPrice(t *testing.T) {
	status, body := http.StatusOK, `{"price_uusd": 1234567, "updated_at": "2026-01-01T00:00:00Z"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	now := time.Unix(1000, 0)
	p := NewHTTPPrice(srv.URL, time.Hour, time.Minute, logging.Discard())
	p.now = func() time.Time { return now }
	if _, ok := p.PriceUUSD(); ok {
		t.Fatal("price before the first poll")
	}
	if err := p.poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, ok := p.PriceUUSD(); !ok || v != 1234567 {
		t.Fatalf("price %d %v", v, ok)
	}
	now = now.Add(2 * time.Minute)
	if _, ok := p.PriceUUSD(); ok {
		t.Fatal("stale price still voted")
	}
	status = http.StatusServiceUnavailable
	if err := p.poll(context.Background()); err == nil {
		t.Fatal("503 accepted")
	}
	status, body = http.StatusOK, `{"price_uusd": 0}`
	if err := p.poll(context.Background()); err == nil {
		t.Fatal("price 0 accepted")
	}
}

func TestGenesisEditing(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if _, err := InitHome(InitOptions{HomeOptions: HomeOptions{Home: a, Moniker: "a"}, ChainID: "net-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := InitHome(InitOptions{HomeOptions: HomeOptions{Home: b, Moniker: "b"}, ChainID: "net-1"}); err != nil {
		t.Fatal(err)
	}
	pub, err := ValidatorKey(b)
	if err != nil {
		t.Fatal(err)
	}
	reward, _ := identity.NewKey(nil)
	if err := AddGenesisValidator(a, pub, 5, "b", reward.Address()); err != nil {
		t.Fatal(err)
	}
	if err := AddGenesisValidator(a, pub, 5, "b", reward.Address()); err == nil {
		t.Fatal("validator added twice")
	}
	if err := AddGenesisAccount(a, reward.Address(), 7, 3); err != nil {
		t.Fatal(err)
	}
	if err := AddGenesisAccount(a, reward.Address(), 1, 0); err != nil {
		t.Fatal(err)
	}
	doc, err := cmttypes.GenesisDocFromFile(genesisPath(a))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := app.ParseGenesis(doc.AppState)
	if len(doc.Validators) != 2 || len(g.Validators) != 2 || g.Validators[1].RewardAccount != reward.Address() {
		t.Fatalf("validators: %d comet, %+v app", len(doc.Validators), g.Validators)
	}
	last := g.Allocations[len(g.Allocations)-1]
	if last.Address != reward.Address() || last.BalanceUHXP != 8 || last.DC != 3 {
		t.Fatalf("allocation %+v", last)
	}
}
