package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/hexproof/hexproof/chain/app"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
)

// Ports of one node on 127.0.0.1.
type Ports struct {
	P2P, RPC, Prometheus int
}

// HomeOptions configure a new node home.
type HomeOptions struct {
	Home    string
	Moniker string
	Ports   Ports
	// ListenAll binds p2p and RPC on 0.0.0.0 instead of 127.0.0.1.
	ListenAll     bool
	TimeoutCommit time.Duration
	// PersistentPeers is "id@host:port,..." (empty for none).
	PersistentPeers string
}

// KeysDir is where `chain keys` keeps account keys inside a home.
func KeysDir(home string) string { return filepath.Join(home, "keys") }

// writeConfig creates the home's directories, node key, validator key and
// config.toml. It refuses to overwrite an existing home.
func writeConfig(o HomeOptions) (*cmtcfg.Config, p2p.ID, *privval.FilePV, error) {
	if _, err := os.Stat(filepath.Join(o.Home, "config", "config.toml")); err == nil {
		return nil, "", nil, fmt.Errorf("%s already holds a node (config/config.toml exists); choose another --home", o.Home)
	}
	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(o.Home)
	cmtcfg.EnsureRoot(o.Home)
	cfg.Moniker = o.Moniker
	host := "127.0.0.1"
	if o.ListenAll {
		host = "0.0.0.0"
	}
	if o.Ports.P2P != 0 {
		cfg.P2P.ListenAddress = fmt.Sprintf("tcp://%s:%d", host, o.Ports.P2P)
	}
	if o.Ports.RPC != 0 {
		cfg.RPC.ListenAddress = fmt.Sprintf("tcp://%s:%d", host, o.Ports.RPC)
	}
	cfg.Instrumentation.Prometheus = true
	cfg.Instrumentation.Namespace = "hexproof_chain"
	if o.Ports.Prometheus != 0 {
		cfg.Instrumentation.PrometheusListenAddr = fmt.Sprintf("127.0.0.1:%d", o.Ports.Prometheus)
	}
	if o.TimeoutCommit > 0 {
		cfg.Consensus.TimeoutCommit = o.TimeoutCommit
	}
	cfg.P2P.PersistentPeers = o.PersistentPeers
	cfg.P2P.AllowDuplicateIP = true
	cfg.P2P.AddrBookStrict = !strings.HasPrefix(host, "127.")
	cfg.Mempool.Size = 20000
	cfg.Mempool.MaxTxsBytes = 256 << 20
	cfg.RPC.MaxOpenConnections = 2000
	cfg.RPC.TimeoutBroadcastTxCommit = 30 * time.Second
	nk, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return nil, "", nil, fmt.Errorf("create node key: %w", err)
	}
	pv := privval.LoadOrGenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	cmtcfg.WriteConfigFile(filepath.Join(o.Home, "config", "config.toml"), cfg)
	return cfg, nk.ID(), pv, nil
}

// NewGenesisDoc returns a genesis with vote extensions enabled from height 1
// (price votes need them) and the given app state.
func NewGenesisDoc(chainID string, vals []cmttypes.GenesisValidator, g app.Genesis) (*cmttypes.GenesisDoc, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	state, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return nil, err
	}
	cp := cmttypes.DefaultConsensusParams()
	cp.ABCI.VoteExtensionsEnableHeight = 1
	doc := &cmttypes.GenesisDoc{
		ChainID: chainID, GenesisTime: time.Now().UTC().Truncate(time.Second), ConsensusParams: cp,
		Validators: vals, AppState: state, InitialHeight: 1,
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, err
	}
	return doc, nil
}

// InitOptions configure `chain init`.
type InitOptions struct {
	HomeOptions
	ChainID string
	// GenesisFile, when set, is copied (joining an existing network);
	// otherwise a new single-validator network is created with this node as
	// its validator and the operator key funded.
	GenesisFile string
	Devnet      bool
}

// InitHome creates a node home. It returns the operator account key of a new
// network (nil when joining one).
func InitHome(o InitOptions) (*identity.Key, error) {
	cfg, _, pv, err := writeConfig(o.HomeOptions)
	if err != nil {
		return nil, err
	}
	if o.GenesisFile != "" {
		b, err := os.ReadFile(o.GenesisFile)
		if err != nil {
			return nil, fmt.Errorf("read genesis: %w", err)
		}
		if _, err := cmttypes.GenesisDocFromJSON(b); err != nil {
			return nil, fmt.Errorf("genesis %s: %w", o.GenesisFile, err)
		}
		return nil, os.WriteFile(cfg.GenesisFile(), b, 0o644)
	}
	if o.ChainID == "" {
		return nil, errors.New("a new network needs --chain-id")
	}
	op, err := identity.NewKey(nil)
	if err != nil {
		return nil, err
	}
	if err := identity.SaveKeyFile(filepath.Join(KeysDir(o.Home), "operator.json"), op); err != nil {
		return nil, err
	}
	g := app.DefaultGenesis()
	if o.Devnet {
		g.Params = app.DevnetParams()
	}
	pub := pv.Key.PubKey
	g.Validators = []app.GenesisValidator{{PubKey: client.HexBytes(pub.Bytes()), Name: o.Moniker, RewardAccount: op.Address()}}
	g.Allocations = []app.Allocation{{Address: op.Address(), BalanceUHXP: 1_000_000 * 1_000_000}}
	doc, err := NewGenesisDoc(o.ChainID, []cmttypes.GenesisValidator{{Address: pub.Address(), PubKey: pub, Power: 10, Name: o.Moniker}}, g)
	if err != nil {
		return nil, err
	}
	return op, doc.SaveAs(cfg.GenesisFile())
}

// TestnetOptions configure `chain testnet`.
type TestnetOptions struct {
	Out           string
	ChainID       string
	Validators    int
	BasePort      int
	TimeoutCommit time.Duration
	// Params override the devnet parameters when non-nil.
	Params *client.Params
	// FaucetUHXP funds out/keys/faucet.json.
	FaucetUHXP uint64
	PriceUUSD  uint64
}

// TestnetNode describes one generated node.
type TestnetNode struct {
	Home     string `json:"home"`
	Moniker  string `json:"moniker"`
	NodeID   string `json:"node_id"`
	RPC      string `json:"rpc"`
	P2P      string `json:"p2p"`
	Metrics  string `json:"metrics"`
	Operator string `json:"operator"`
}

// Testnet writes a local network of opt.Validators validators under
// opt.Out/node0, node1, ... on 127.0.0.1 with distinct ports (node i uses
// BasePort+10i for p2p, +1 for RPC, +2 for Prometheus), every node listing
// the others as persistent peers. Account keys: out/keys/faucet.json and
// each node's keys/operator.json (its validator reward account).
func Testnet(o TestnetOptions) ([]TestnetNode, error) {
	if o.Validators < 1 {
		return nil, errors.New("--validators must be at least 1")
	}
	if o.BasePort == 0 {
		o.BasePort = 26600
	}
	if o.ChainID == "" {
		o.ChainID = "hexproof-testnet"
	}
	type pending struct {
		cfg *cmtcfg.Config
		id  p2p.ID
		pv  *privval.FilePV
		op  *identity.Key
		n   TestnetNode
	}
	var ps []pending
	for i := range o.Validators {
		ports := Ports{P2P: o.BasePort + 10*i, RPC: o.BasePort + 10*i + 1, Prometheus: o.BasePort + 10*i + 2}
		home := filepath.Join(o.Out, fmt.Sprintf("node%d", i))
		cfg, id, pv, err := writeConfig(HomeOptions{Home: home, Moniker: fmt.Sprintf("node%d", i), Ports: ports, TimeoutCommit: o.TimeoutCommit})
		if err != nil {
			return nil, err
		}
		op, err := identity.NewKey(nil)
		if err != nil {
			return nil, err
		}
		if err := identity.SaveKeyFile(filepath.Join(KeysDir(home), "operator.json"), op); err != nil {
			return nil, err
		}
		ps = append(ps, pending{cfg: cfg, id: id, pv: pv, op: op, n: TestnetNode{
			Home: home, Moniker: cfg.Moniker, NodeID: string(id),
			RPC: fmt.Sprintf("http://127.0.0.1:%d", ports.RPC), P2P: fmt.Sprintf("127.0.0.1:%d", ports.P2P),
			Metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports.Prometheus), Operator: op.Address().String(),
		}})
	}
	faucet, err := identity.NewKey(nil)
	if err != nil {
		return nil, err
	}
	if err := identity.SaveKeyFile(filepath.Join(o.Out, "keys", "faucet.json"), faucet); err != nil {
		return nil, err
	}
	g := app.DefaultGenesis()
	g.Params = app.DevnetParams()
	if o.Params != nil {
		g.Params = *o.Params
	}
	if o.PriceUUSD > 0 {
		g.PriceUUSD = o.PriceUUSD
	}
	if o.FaucetUHXP == 0 {
		o.FaucetUHXP = 1_000_000_000 * 1_000_000
	}
	g.Allocations = []app.Allocation{{Address: faucet.Address(), BalanceUHXP: o.FaucetUHXP}}
	var vals []cmttypes.GenesisValidator
	for _, p := range ps {
		pub := p.pv.Key.PubKey
		vals = append(vals, cmttypes.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: 10, Name: p.n.Moniker})
		g.Validators = append(g.Validators, app.GenesisValidator{PubKey: client.HexBytes(pub.Bytes()), Name: p.n.Moniker, RewardAccount: p.op.Address()})
		g.Allocations = append(g.Allocations, app.Allocation{Address: p.op.Address(), BalanceUHXP: 1_000 * 1_000_000})
	}
	doc, err := NewGenesisDoc(o.ChainID, vals, g)
	if err != nil {
		return nil, err
	}
	var out []TestnetNode
	for i, p := range ps {
		var peers []string
		for j, q := range ps {
			if j != i {
				peers = append(peers, fmt.Sprintf("%s@%s", q.id, q.n.P2P))
			}
		}
		p.cfg.P2P.PersistentPeers = strings.Join(peers, ",")
		cmtcfg.WriteConfigFile(filepath.Join(p.n.Home, "config", "config.toml"), p.cfg)
		if err := doc.SaveAs(p.cfg.GenesisFile()); err != nil {
			return nil, err
		}
		out = append(out, p.n)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := os.WriteFile(filepath.Join(o.Out, "testnet.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return out, nil
}
