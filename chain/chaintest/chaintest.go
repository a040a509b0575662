package chaintest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/hexproof/hexproof/chain/app"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/node"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
)

// Chain parameters of the chain Start runs.
const (
	ChainID     = "hexproof-oracle-e2e"
	EpochBlocks = 20
)

// Options shape the node StartNode runs.
type Options struct {
	ChainID string
	// CommitTimeout is CometBFT's timeout_commit (the block time).
	CommitTimeout time.Duration
	// Genesis, when set, edits the app's genesis state before the start.
	Genesis func(*app.Genesis)
}

// Node is a running test chain.
type Node struct {
	Client *client.Client
	// Operator is the validator's operator account, funded at genesis.
	Operator *identity.Key
	RPC      string
	// Home is the node's CometBFT home (keys/operator.json holds Operator).
	Home string
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs a one-validator chain in-process with short epochs and no
// onboarding fees until t ends, and returns a client, the funded operator
// key and the RPC URL.
func Start(t testing.TB, commit time.Duration) (*client.Client, *identity.Key, string) {
	t.Helper()
	n := StartNode(t, Options{ChainID: ChainID, CommitTimeout: commit, Genesis: func(g *app.Genesis) {
		g.Params.EpochBlocks = EpochBlocks
		g.Params.HotspotAddFeeDC, g.Params.AssertLocationFeeDC = 0, 0
		g.PriceUUSD = 1_000_000
	}})
	return n.Client, n.Operator, n.RPC
}

// StartNode runs a one-validator chain in-process with devnet parameters
// until t ends, and waits for its second block.
func StartNode(t testing.TB, o Options) *Node {
	t.Helper()
	// Not t.TempDir: CometBFT may still flush a file (address book) just
	// after it stopped, which makes TempDir's removal fail the test.
	dir, err := os.MkdirTemp("", "hexproof-chaintest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 20 && os.RemoveAll(dir) != nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	})
	home := filepath.Join(dir, "node")
	rpcPort := freePort(t)
	op, err := node.InitHome(node.InitOptions{HomeOptions: node.HomeOptions{Home: home, Moniker: "v0",
		Ports: node.Ports{P2P: freePort(t), RPC: rpcPort, Prometheus: freePort(t)}, TimeoutCommit: o.CommitTimeout},
		ChainID: o.ChainID, Devnet: true})
	if err != nil {
		t.Fatal(err)
	}
	// CometBFT registers Prometheus collectors globally: a second node in
	// the same process (benchmarks run their function more than once)
	// would panic, and the test has no use for metrics.
	ccfg, err := node.LoadCometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	ccfg.Instrumentation.Prometheus = false
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), ccfg)
	if o.Genesis != nil {
		gfile := filepath.Join(home, "config", "genesis.json")
		doc, err := cmttypes.GenesisDocFromFile(gfile)
		if err != nil {
			t.Fatal(err)
		}
		var g app.Genesis
		if err := json.Unmarshal(doc.AppState, &g); err != nil {
			t.Fatal(err)
		}
		o.Genesis(&g)
		if doc.AppState, err = json.Marshal(g); err != nil {
			t.Fatal(err)
		}
		if err := doc.SaveAs(gfile); err != nil {
			t.Fatal(err)
		}
	}
	n, err := node.New(node.Config{Home: home, PriceUUSD: 1_000_000}, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("chain node: %v", err)
		}
	})
	rpc := fmt.Sprintf("http://127.0.0.1:%d", rpcPort)
	c, err := client.New(rpc)
	if err != nil {
		t.Fatal(err)
	}
	WaitHeight(t, c, 2)
	return &Node{Client: c, Operator: op, RPC: rpc, Home: home}
}

// WaitHeight waits until the chain reaches height h (0: any) and returns
// the latest height.
func WaitHeight(t testing.TB, c *client.Client, h int64) int64 {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		b, err := c.LatestBlock(context.Background())
		if err == nil && b.Height >= h {
			return b.Height
		}
		if time.Now().After(deadline) {
			t.Fatalf("chain did not reach height %d: %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
