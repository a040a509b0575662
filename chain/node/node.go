package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/abci/example/kvstore"
	abcitypes "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"golang.org/x/sync/errgroup"

	"github.com/hexproof/hexproof/chain/app"
)

// Config configures a node beyond CometBFT's config.toml.
type Config struct {
	// Home is the node home (CometBFT layout).
	Home string
	// PriceUUSD is a static price for vote extensions (0: none).
	PriceUUSD uint64
	// PriceURL is polled for {"price_uusd": N}; it wins over PriceUUSD.
	PriceURL    string
	PricePoll   time.Duration
	PriceMaxAge time.Duration
	// SnapshotInterval takes a state-sync snapshot every this many
	// heights (0: none); the last SnapshotKeep are kept.
	SnapshotInterval int64
	SnapshotKeep     int
	// VerboseComet logs CometBFT's info messages at info level.
	VerboseComet bool
	// App is "hexproof" (default) or "kvstore": CometBFT's example
	// key/value application, only to compare throughput in benchmarks.
	App string
}

// Node is a chain node.
type Node struct {
	cfg Config
	log *slog.Logger
}

// New returns a node; it starts nothing.
func New(cfg Config, logger *slog.Logger) (*Node, error) {
	if cfg.Home == "" {
		return nil, errors.New("node home is required (--home)")
	}
	if cfg.PricePoll <= 0 {
		cfg.PricePoll = 10 * time.Second
	}
	if cfg.PriceMaxAge <= 0 {
		cfg.PriceMaxAge = 5 * time.Minute
	}
	if cfg.SnapshotKeep <= 0 {
		cfg.SnapshotKeep = 2
	}
	return &Node{cfg: cfg, log: logger}, nil
}

// AppDBDir is where the application keeps its state inside a home.
func AppDBDir(home string) string { return filepath.Join(home, "data") }

// Run starts CometBFT with the application and blocks until ctx ends,
// then stops the node and closes its databases.
func (n *Node) Run(ctx context.Context) error {
	ccfg, err := LoadCometConfig(n.cfg.Home)
	if err != nil {
		return err
	}
	var prices app.PriceSource
	g, gctx := errgroup.WithContext(ctx)
	switch {
	case n.cfg.PriceURL != "":
		hp := NewHTTPPrice(n.cfg.PriceURL, n.cfg.PricePoll, n.cfg.PriceMaxAge, n.log)
		g.Go(func() error { return hp.Run(gctx) })
		prices = hp
	case n.cfg.PriceUUSD > 0:
		prices = StaticPrice(n.cfg.PriceUUSD)
	}

	if n.cfg.App == "kvstore" {
		return n.runComet(gctx, g, ccfg, kvstore.NewPersistentApplication(filepath.Join(ccfg.DBDir(), "kvstore")), func() int64 { return 0 })
	}
	db, err := dbm.NewGoLevelDB("hexproof", AppDBDir(n.cfg.Home))
	if err != nil {
		return fmt.Errorf("open application database: %w", err)
	}
	defer db.Close()
	a, err := app.New(app.Config{
		SnapshotDir:      filepath.Join(ccfg.DBDir(), "snapshots"),
		SnapshotInterval: n.cfg.SnapshotInterval,
		SnapshotKeep:     n.cfg.SnapshotKeep,
	}, n.log.With("component", "app"), db, prices)
	if err != nil {
		return err
	}
	return n.runComet(gctx, g, ccfg, a, a.Height)
}

func (n *Node) runComet(gctx context.Context, g *errgroup.Group, ccfg *cmtcfg.Config, a abcitypes.Application, height func() int64) error {
	nodeKey, err := p2p.LoadOrGenNodeKey(ccfg.NodeKeyFile())
	if err != nil {
		return fmt.Errorf("load node key: %w", err)
	}
	pv := privval.LoadOrGenFilePV(ccfg.PrivValidatorKeyFile(), ccfg.PrivValidatorStateFile())
	cn, err := cmtnode.NewNodeWithContext(gctx, ccfg, pv, nodeKey,
		proxy.NewLocalClientCreator(a),
		cmtnode.DefaultGenesisDocProviderFunc(ccfg),
		cmtcfg.DefaultDBProvider,
		cmtnode.DefaultMetricsProvider(ccfg.Instrumentation),
		NewCometLogger(n.log.With("component", "cometbft"), n.cfg.VerboseComet))
	if err != nil {
		return fmt.Errorf("create node: %w", err)
	}
	if err := cn.Start(); err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	n.log.Info("chain node started", "home", n.cfg.Home, "node_id", string(nodeKey.ID()),
		"rpc", ccfg.RPC.ListenAddress, "p2p", ccfg.P2P.ListenAddress, "prometheus", ccfg.Instrumentation.PrometheusListenAddr,
		"height", height(), "app", n.cfg.App)
	g.Go(func() error {
		<-gctx.Done()
		if err := cn.Stop(); err != nil {
			n.log.Warn("stop node", "err", err)
		}
		cn.Wait()
		return nil
	})
	err = g.Wait()
	n.log.Info("chain node stopped", "height", height())
	return err
}
