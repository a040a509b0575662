package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hexproof/hexproof/chain/node"
	"github.com/hexproof/hexproof/internal/config"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
)

// EnvPrefix prefixes the environment variables of every flag.
const EnvPrefix = "CHAIN"

// Env gives the CLI its environment (os.Getenv in production).
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

type command struct {
	name, synopsis string
	run            func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"init", "create a node home (a new single-validator network, or join one with --genesis)", runInit},
		{"testnet", "create a local multi-validator network on 127.0.0.1", runTestnet},
		{"genesis", "build a multi-validator genesis: show-validator, add-validator, add-account", runGenesis},
		{"start", "run a node (CometBFT + the Hexproof application)", runStart},
		{"keys", "account keys: create, list, show", runKeys},
		{"tx", "sign and broadcast a transaction", runTx},
		{"query", "query the chain (JSON)", runQuery},
		{"status", "node and chain head status (JSON)", runStatus},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: chain <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.synopsis)
	}
	fmt.Fprintln(w, "\nRun `chain <command> --help` for the flags of a command. See docs/chain.md.")
}

// ErrUsage reports a command line that could not be understood.
var ErrUsage = errors.New("usage error")

// Run runs the chain command line.
func Run(ctx context.Context, args []string, env Env) error {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 {
		usage(env.Stderr)
		return ErrUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(env.Stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, env, args[1:])
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	usage(env.Stderr)
	return fmt.Errorf("%w: unknown command %q", ErrUsage, args[0])
}

// newFlags returns a flag set whose --help prints the synopsis and env names.
func newFlags(env Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("chain "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stdout)
	fs.Usage = config.Usage(fs, EnvPrefix, "usage: chain "+name+"\n\n"+synopsis)
	return fs
}

// parse loads flags, env and config file. Flags may follow positional
// arguments (`chain query account hxp1... --node URL`).
func parse(fs *flag.FlagSet, env Env, args []string) error {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return config.Load(fs, EnvPrefix, append(flags, append([]string{"--"}, pos...)...), env.Getenv)
}

func defaultHome(env Env) string {
	if h := env.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".hexproof-chain")
	}
	return ".hexproof-chain"
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func runInit(_ context.Context, env Env, args []string) error {
	fs := newFlags(env, "init --home DIR [--chain-id ID | --genesis FILE]", `Creates a node home in CometBFT's layout. With --chain-id it starts a new
single-validator network whose validator is this node and whose operator
account (keys/operator.json) holds the initial supply. With --genesis it
prepares a node that joins an existing network: set --peers too.`)
	home := fs.String("home", defaultHome(env), "node home directory")
	chainID := fs.String("chain-id", "", "chain id of a new network")
	genesis := fs.String("genesis", "", "genesis.json of the network to join")
	moniker := fs.String("moniker", "node", "node name shown to peers")
	peers := fs.String("peers", "", "persistent peers, id@host:port,...")
	p2pPort := fs.Int("p2p-port", 26656, "P2P port")
	rpcPort := fs.Int("rpc-port", 26657, "CometBFT RPC port")
	promPort := fs.Int("metrics-port", 26660, "Prometheus metrics port")
	listenAll := fs.Bool("listen-all", false, "bind P2P and RPC on all interfaces (0.0.0.0) instead of 127.0.0.1")
	devnet := fs.Bool("devnet", false, "short epochs and beacon intervals (for local tests)")
	timeoutCommit := fs.Duration("timeout-commit", 0, "consensus timeout_commit (0: CometBFT default 1s)")
	if err := parse(fs, env, args); err != nil {
		return err
	}
	op, err := node.InitHome(node.InitOptions{
		HomeOptions: node.HomeOptions{Home: *home, Moniker: *moniker, Ports: node.Ports{P2P: *p2pPort, RPC: *rpcPort, Prometheus: *promPort},
			ListenAll: *listenAll, TimeoutCommit: *timeoutCommit, PersistentPeers: *peers},
		ChainID: *chainID, GenesisFile: *genesis, Devnet: *devnet,
	})
	if err != nil {
		return err
	}
	out := map[string]string{"home": *home}
	if op != nil {
		out["operator"] = op.Address().String()
		out["operator_key"] = filepath.Join(node.KeysDir(*home), "operator.json")
	}
	return printJSON(env.Stdout, out)
}

func runTestnet(_ context.Context, env Env, args []string) error {
	fs := newFlags(env, "testnet --validators N --out DIR", `Writes a local network: DIR/node0..node{N-1}, each a node home with its
validator key, operator account key (keys/operator.json) and config with the
other nodes as persistent peers, plus DIR/keys/faucet.json (a funded account)
and DIR/testnet.json (ports of every node). Node i listens on 127.0.0.1 at
base-port+10i (P2P), +1 (RPC), +2 (Prometheus). Start each with
`+"`chain start --home DIR/nodeI`.")
	n := fs.Int("validators", 4, "number of validators")
	out := fs.String("out", "testnet", "output directory")
	chainID := fs.String("chain-id", "hexproof-testnet", "chain id")
	base := fs.Int("base-port", 26600, "first port")
	tc := fs.Duration("timeout-commit", time.Second, "consensus timeout_commit")
	price := fs.Uint64("price-uusd", 1_000_000, "genesis HXP price and every node's static price vote (micro-USD); 0 for none")
	epoch := fs.Uint64("epoch-blocks", 0, "override epoch_blocks (0: devnet default)")
	if err := parse(fs, env, args); err != nil {
		return err
	}
	opts := node.TestnetOptions{Out: *out, ChainID: *chainID, Validators: *n, BasePort: *base, TimeoutCommit: *tc, PriceUUSD: *price}
	if *epoch > 0 {
		p := appDevnetParams()
		p.EpochBlocks = *epoch
		opts.Params = &p
	}
	nodes, err := node.Testnet(opts)
	if err != nil {
		return err
	}
	if *price > 0 {
		for _, nd := range nodes {
			if err := os.WriteFile(filepath.Join(nd.Home, "config", "hexproof.toml"), fmt.Appendf(nil, "# chain start settings (flags and CHAIN_* variables override them)\nprice_uusd = %d\n", *price), 0o644); err != nil {
				return err
			}
		}
	}
	return printJSON(env.Stdout, nodes)
}

func runStart(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "start --home DIR", `Runs a node: CometBFT (P2P, consensus, RPC, Prometheus metrics as set in
DIR/config/config.toml) with the Hexproof application in-process. Settings
below also come from CHAIN_* variables and from --config (default
DIR/config/hexproof.toml when it exists).`)
	home := fs.String("home", defaultHome(env), "node home directory")
	fs.String(config.ConfigFlag, "", "TOML file with the settings below")
	price := fs.Uint64("price-uusd", 0, "static HXP price (micro-USD) for this validator's vote extensions")
	priceURL := fs.String("price-url", "", "URL answering {\"price_uusd\":N} (the oracle's /api/v1/price); wins over --price-uusd")
	pricePoll := fs.Duration("price-poll", 10*time.Second, "how often to poll --price-url")
	priceMaxAge := fs.Duration("price-max-age", 5*time.Minute, "a polled price older than this is not voted")
	snapInterval := fs.Int64("snapshot-interval", 1000, "take a state-sync snapshot every N heights (0: never)")
	snapKeep := fs.Int("snapshot-keep", 2, "snapshots kept")
	logFormat := fs.String("log-format", "json", "json or text")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	verbose := fs.Bool("log-cometbft-info", false, "log CometBFT's info messages at info level (else debug)")
	appName := fs.String("app", "hexproof", "application: hexproof, or kvstore (CometBFT's example app; only to compare throughput in benchmarks)")
	// The home's hexproof.toml is the default --config.
	if !hasFlag(args, config.ConfigFlag) {
		h := flagValue(args, "home", *home)
		if p := filepath.Join(h, "config", "hexproof.toml"); fileExists(p) {
			args = append([]string{"--config", p}, args...)
		}
	}
	if err := parse(fs, env, args); err != nil {
		return err
	}
	if *appName != "hexproof" && *appName != "kvstore" {
		return fmt.Errorf("--app %q: want hexproof or kvstore", *appName)
	}
	if *priceURL != "" {
		u, err := url.Parse(*priceURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--price-url %q: want an http(s) URL such as http://127.0.0.1:8080/api/v1/price", *priceURL)
		}
	}
	if *snapInterval < 0 || *snapKeep < 1 {
		return fmt.Errorf("--snapshot-interval must be >= 0 and --snapshot-keep >= 1")
	}
	logger, err := logging.New(env.Stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	n, err := node.New(node.Config{Home: *home, PriceUUSD: *price, PriceURL: *priceURL, PricePoll: *pricePoll, PriceMaxAge: *priceMaxAge,
		SnapshotInterval: *snapInterval, SnapshotKeep: *snapKeep, VerboseComet: *verbose, App: *appName}, logger)
	if err != nil {
		return err
	}
	return n.Run(ctx)
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--"+name || a == "-"+name || strings.HasPrefix(a, "--"+name+"=") || strings.HasPrefix(a, "-"+name+"=") {
			return true
		}
	}
	return false
}

func flagValue(args []string, name, def string) string {
	for i, a := range args {
		for _, p := range []string{"--" + name, "-" + name} {
			if a == p && i+1 < len(args) {
				return args[i+1]
			}
			if strings.HasPrefix(a, p+"=") {
				return a[len(p)+1:]
			}
		}
	}
	return def
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func runKeys(_ context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(env.Stdout, "usage: chain keys create|list|show [flags]\n\nAccount keys are ed25519 key files (mode 0600) in --keyring (default ~/.hexproof/keys).\nRun `chain keys <sub> --help` for flags.")
		if len(args) == 0 {
			return ErrUsage
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	fs := newFlags(env, "keys "+sub, map[string]string{
		"create": "Creates a key NAME.json in the keyring and prints its address. Never overwrites.",
		"list":   "Lists the keys in the keyring with their addresses.",
		"show":   "Prints the address of key NAME (or of --key-file).",
	}[sub])
	keyring := fs.String("keyring", defaultKeyring(env), "directory of key files")
	name := fs.String("name", "", "key name")
	keyFile := fs.String("key-file", "", "key file (show)")
	if err := parse(fs, env, rest); err != nil {
		return err
	}
	if *name == "" && fs.NArg() > 0 {
		*name = fs.Arg(0)
	}
	switch sub {
	case "create":
		if *name == "" {
			return fmt.Errorf("%w: keys create needs --name", ErrUsage)
		}
		k, err := identity.NewKey(nil)
		if err != nil {
			return err
		}
		p := filepath.Join(*keyring, *name+".json")
		if err := identity.SaveKeyFile(p, k); err != nil {
			return err
		}
		return printJSON(env.Stdout, map[string]string{"name": *name, "address": k.Address().String(), "file": p})
	case "list":
		ents, err := os.ReadDir(*keyring)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		type entry struct {
			Name    string `json:"name"`
			Address string `json:"address"`
			Error   string `json:"error,omitempty"`
		}
		out := []entry{}
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			en := entry{Name: strings.TrimSuffix(e.Name(), ".json")}
			if k, err := identity.LoadKeyFile(filepath.Join(*keyring, e.Name())); err != nil {
				en.Error = err.Error()
			} else {
				en.Address = k.Address().String()
			}
			out = append(out, en)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return printJSON(env.Stdout, out)
	case "show":
		p := *keyFile
		if p == "" {
			if *name == "" {
				return fmt.Errorf("%w: keys show needs --name or --key-file", ErrUsage)
			}
			p = filepath.Join(*keyring, *name+".json")
		}
		k, err := identity.LoadKeyFile(p)
		if err != nil {
			return err
		}
		return printJSON(env.Stdout, map[string]string{"address": k.Address().String(), "public_key_hex": fmt.Sprintf("%x", k.PublicKey()), "file": p})
	}
	return fmt.Errorf("%w: unknown keys command %q (create, list, show)", ErrUsage, sub)
}

func defaultKeyring(env Env) string {
	if h := env.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".hexproof", "keys")
	}
	return filepath.Join(".hexproof", "keys")
}
