package devnet

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hexproof/hexproof/internal/config"
	"github.com/hexproof/hexproof/sim/world"
)

// EnvPrefix prefixes the devnet's environment variables (DEVNET_HOTSPOTS, ...).
const EnvPrefix = "DEVNET"

// DefaultDatabaseURL is the local PostgreSQL the devnet tries when none is given.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Config is the devnet's configuration.
type Config struct {
	// Dir holds all state; a devnet started on an existing Dir continues.
	Dir        string
	Validators int
	Hotspots   int
	// Devices: -1 picks two per hotspot.
	Devices   int
	Companies int
	Seed      uint64
	City      string
	// WorldFile, when set, is loaded instead of generating a world.
	WorldFile string

	EpochBlocks          uint64
	BeaconIntervalBlocks uint64
	BlockTime            time.Duration
	// UplinkInterval overrides the world's device uplink period (0 keeps it).
	UplinkInterval time.Duration

	DatabaseURL string
	// DatabaseSchema, when set, is the PostgreSQL schema the oracle uses
	// (created if missing); tests give each run its own.
	DatabaseSchema string
	MQTTServer     string
	// TopicPrefix goes before every MQTT topic of bridges, agents and LNS.
	TopicPrefix string
	// ChainCommand starts a validator: the program and its first arguments,
	// to which "start --home DIR ..." is appended. Empty: bin/chain next to
	// the devnet binary, else the devnet binary's own "chain" command.
	ChainCommand []string
	// ChainEnv is added to the validators' environment.
	ChainEnv []string
	// RouterCommand runs a router (its flags are appended). Empty:
	// bin/router next to the devnet binary, else its own "router" command.
	RouterCommand []string
	RouterEnv     []string
	// BrokerCommand runs the embedded MQTT broker ("--listen ADDR" is
	// appended). Empty: the devnet binary's own "mqtt" command.
	BrokerCommand []string
	BrokerEnv     []string

	// ClaimInterval is how often hotspots claim their vouchers; VoucherInterval
	// how often routers sign them.
	ClaimInterval   time.Duration
	VoucherInterval time.Duration
	// IngestWindow is how long the oracle collects witnesses of a beacon.
	IngestWindow time.Duration

	LogFormat string
	LogLevel  string
	// View is the live terminal view: "auto" (on a terminal), "on", "off".
	View string
}

// DefaultConfig is what `devnet` runs with no flags.
func DefaultConfig() Config {
	return Config{
		Dir: "devnet", Validators: 4, Hotspots: 100, Devices: -1, Companies: 2, Seed: 1, City: world.DefaultCity,
		EpochBlocks: 100, BeaconIntervalBlocks: 10, BlockTime: time.Second,
		DatabaseURL: DefaultDatabaseURL, ClaimInterval: 30 * time.Second, VoucherInterval: 10 * time.Second,
		IngestWindow: 3 * time.Second, LogFormat: "text", LogLevel: "warn", View: "auto",
	}
}

const synopsis = `usage: devnet [flags]

Runs the whole Hexproof network on this machine: validators (CometBFT), an
oracle (PoC ingest, price feed, indexer, explorer), an MQTT broker, a router
and a LoRaWAN network server per simulated IoT company, and per simulated
hotspot a firmware bridge + hotspot agent fed by a simulated packet forwarder.
Only the radio is simulated. When everything is up it writes
DIR/endpoints.json and prints the explorer URL. Ctrl-C stops it; running it
again on the same --dir continues where it stopped.

Examples:
  devnet                                   # 4 validators, 100 hotspots, Amsterdam
  devnet --dir /tmp/dn --hotspots 20 --epoch-blocks 30 --block-time 500ms
  devnet --city berlin --seed 7 --log-format json`

// ParseConfig reads flags, DEVNET_* environment variables and the --config
// TOML file. It returns config.ErrHelp after printing --help to out.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	fs.SetOutput(out)
	var chainCmd, routerCmd string
	fs.String(config.ConfigFlag, "", "TOML file with any of these settings (keys as flag names with underscores)")
	fs.StringVar(&c.Dir, "dir", c.Dir, "state `directory`; an existing one continues where it stopped")
	fs.IntVar(&c.Validators, "validators", c.Validators, "number of validators (real CometBFT nodes, one process each)")
	fs.IntVar(&c.Hotspots, "hotspots", c.Hotspots, "number of simulated hotspots (ignored with --world)")
	fs.IntVar(&c.Devices, "devices", c.Devices, "number of simulated devices; -1 is two per hotspot (ignored with --world)")
	fs.IntVar(&c.Companies, "companies", c.Companies, "number of simulated IoT companies, each with its OUI, router and network server")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "world seed: the same seed gives the same world")
	fs.StringVar(&c.City, "city", c.City, "built-in city: "+strings.Join(world.CityNames(), ", "))
	fs.StringVar(&c.WorldFile, "world", "", "world `file` (hexproof-world/1 JSON) instead of a generated world")
	fs.Uint64Var(&c.EpochBlocks, "epoch-blocks", c.EpochBlocks, "blocks per reward epoch (new networks only)")
	fs.Uint64Var(&c.BeaconIntervalBlocks, "beacon-interval-blocks", c.BeaconIntervalBlocks, "a hotspot beacons once per this many blocks (new networks only)")
	fs.DurationVar(&c.BlockTime, "block-time", c.BlockTime, "consensus timeout_commit, about the time between blocks (new networks only)")
	fs.DurationVar(&c.UplinkInterval, "uplink-interval", 0, "device uplink period (0: the world's, 60 s)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL `URL` of the oracle's indexer and ingest queue")
	fs.StringVar(&c.DatabaseSchema, "database-schema", "", "PostgreSQL schema for the oracle's tables (created if missing; empty: the URL's default)")
	fs.StringVar(&c.MQTTServer, "mqtt-server", "", "MQTT broker `URL` (tcp://host:1883); empty runs an embedded broker")
	fs.StringVar(&c.TopicPrefix, "mqtt-topic-prefix", "", `prefix of every MQTT topic, ending in "/"`)
	fs.StringVar(&chainCmd, "chain-command", "", "program (and first arguments, space separated) that runs a validator given start --home DIR; empty: bin/chain next to devnet, else devnet's own chain command")
	fs.StringVar(&routerCmd, "router-command", "", "program (and first arguments, space separated) that runs a router given its flags; empty: bin/router next to devnet, else devnet's own router command")
	fs.DurationVar(&c.ClaimInterval, "claim-interval", c.ClaimInterval, "how often hotspots claim data-credit vouchers on chain")
	fs.DurationVar(&c.VoucherInterval, "voucher-interval", c.VoucherInterval, "how often routers sign vouchers")
	fs.DurationVar(&c.IngestWindow, "ingest-window", c.IngestWindow, "how long the oracle collects witnesses of a beacon")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text (live view + text logs) or json (no view, JSON logs and JSON summaries)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level of the components: debug, info, warn or error")
	fs.StringVar(&c.View, "view", c.View, "live terminal view: auto (when stdout is a terminal), on or off")
	fs.Usage = config.Usage(fs, EnvPrefix, synopsis)
	if err := config.Load(fs, EnvPrefix, args, getenv); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (all settings are flags; see --help)", fs.Arg(0))
	}
	if routerCmd != "" {
		c.RouterCommand = strings.Fields(routerCmd)
	}
	if chainCmd != "" {
		c.ChainCommand = strings.Fields(chainCmd)
	}
	return c, c.Validate()
}

// Validate refuses a configuration the devnet can't run with.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("--dir is empty: name a state directory"))
	}
	if c.Validators < 1 || c.Validators > 20 {
		errs = append(errs, fmt.Errorf("--validators %d: use 1 to 20", c.Validators))
	}
	if c.WorldFile == "" && (c.Hotspots < 2 || c.Hotspots > 5000) {
		errs = append(errs, fmt.Errorf("--hotspots %d: use 2 to 5000", c.Hotspots))
	}
	if c.Companies < 1 || c.Companies > 8 {
		errs = append(errs, fmt.Errorf("--companies %d: use 1 to 8", c.Companies))
	}
	if c.EpochBlocks < 10 {
		errs = append(errs, fmt.Errorf("--epoch-blocks %d: use at least 10", c.EpochBlocks))
	}
	if c.BeaconIntervalBlocks < 1 {
		errs = append(errs, errors.New("--beacon-interval-blocks must be at least 1"))
	}
	if c.BlockTime < 50*time.Millisecond {
		errs = append(errs, fmt.Errorf("--block-time %s: use at least 50ms", c.BlockTime))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("--database-url is empty: the oracle needs PostgreSQL"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: use text or json", c.LogFormat))
	}
	switch c.View {
	case "auto", "on", "off":
	default:
		errs = append(errs, fmt.Errorf("--view %q: use auto, on or off", c.View))
	}
	if c.TopicPrefix != "" && !strings.HasSuffix(c.TopicPrefix, "/") {
		errs = append(errs, fmt.Errorf("--mqtt-topic-prefix %q must end with \"/\"", c.TopicPrefix))
	}
	return errors.Join(errs...)
}
