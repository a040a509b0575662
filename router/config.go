package router

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hexproof/hexproof/internal/config"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// EnvPrefix prefixes the router's environment variables.
const EnvPrefix = "ROUTER"

// Window is a receive window's radio parameters.
type Window struct {
	FrequencyHz uint64
	DataRate    string
}

// DefaultRX2 are the RX2 defaults of the LoRaWAN Regional Parameters
// (RP002-1.0.3), used to offer hotspots an RX2 window when an LNS sends only
// RX1. Override per region with --rx2 when your LNS uses other values (The
// Things Network uses SF9BW125 in EU868).
var DefaultRX2 = map[hexproofv1.Region]Window{
	hexproofv1.Region_REGION_EU868: {869_525_000, "SF12BW125"},
	hexproofv1.Region_REGION_US915: {923_300_000, "SF12BW500"},
	hexproofv1.Region_REGION_AU915: {923_300_000, "SF12BW500"},
	hexproofv1.Region_REGION_AS923: {923_200_000, "SF10BW125"},
	hexproofv1.Region_REGION_KR920: {921_900_000, "SF12BW125"},
	hexproofv1.Region_REGION_IN865: {866_550_000, "SF10BW125"},
	hexproofv1.Region_REGION_CN470: {505_300_000, "SF12BW125"},
	hexproofv1.Region_REGION_RU864: {869_100_000, "SF12BW125"},
	hexproofv1.Region_REGION_EU433: {434_665_000, "SF12BW125"},
}

// Config is the router's configuration.
type Config struct {
	Listen        string
	MetricsListen string
	TLSCert       string
	TLSKey        string
	KeyFile       string
	StateDir      string
	ChainRPC      string
	// OUIs served, with the LNS (host:port, GWMP) of each.
	OUIs []uint64
	LNS  map[uint64]string

	MaxStreams      int
	MaxMessageBytes int
	RateLimit       float64
	RateBurst       int

	DedupWindow     time.Duration
	DedupTTL        time.Duration
	DedupMaxEntries int

	VoucherInterval time.Duration
	ChainRefresh    time.Duration
	Keepalive       time.Duration
	GatewayIdle     time.Duration
	RX2             map[hexproofv1.Region]Window

	LogFormat string
	LogLevel  string

	// PrintAddress: print the router's address (creating its key if
	// needed) and exit; needed to register the router in the OUI.
	PrintAddress bool
}

// VoucherFile is where the voucher counters live.
func (c Config) VoucherFile() string { return filepath.Join(c.StateDir, "vouchers.json") }

const synopsis = `usage: router [flags]

router is the packet router of an IoT company's OUI on Hexproof. Hotspots
stream uplinks to it over gRPC; it buys the copies it needs (paid in data
credits through signed vouchers) and delivers them to your LoRaWAN Network
Server (ChirpStack, The Things Stack) over the Semtech UDP protocol, one
virtual gateway per hotspot; downlinks go back the same way.

Example:
  router --key-file /var/lib/router/key.json --ouis 1 --lns 1=127.0.0.1:1700 \
         --chain-rpc http://127.0.0.1:26657`

// ParseConfig reads flags, ROUTER_* environment variables and the --config
// TOML file. It returns config.ErrHelp after printing --help to out.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(out)
	var c Config
	var ouis, lns, rx2 config.StringList
	fs.String(config.ConfigFlag, "", "TOML file with any of these settings (keys as flag names with underscores)")
	fs.StringVar(&c.Listen, "listen", ":9080", "gRPC address hotspots connect to (host:port)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", "127.0.0.1:9581", "Prometheus /metrics address (empty disables)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate file for the gRPC listener (with --tls-key; plain gRPC when empty)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key file for the gRPC listener")
	fs.StringVar(&c.KeyFile, "key-file", "router-key.json", "router ed25519 key file (created if missing, mode 0600); its address must be listed in the OUI's routers")
	fs.StringVar(&c.StateDir, "state-dir", "router-state", "directory of the persisted voucher counters (back it up)")
	fs.StringVar(&c.ChainRPC, "chain-rpc", "http://127.0.0.1:26657", "CometBFT RPC URL of a chain node")
	fs.Var(&ouis, "ouis", "OUI numbers this router serves (repeatable or comma-separated)")
	fs.Var(&lns, "lns", "LNS of each OUI as OUI=host:port (Semtech UDP, usually port 1700); a bare host:port applies to every OUI (repeatable)")
	fs.Var(&rx2, "rx2", "RX2 window override as REGION=FREQ_HZ/DATARATE, e.g. EU868=869525000/SF9BW125 (repeatable)")
	fs.IntVar(&c.MaxStreams, "max-streams", 10_000, "maximum concurrent hotspot streams")
	fs.IntVar(&c.MaxMessageBytes, "max-message-bytes", 4096, "maximum size of one message from a hotspot")
	fs.Float64Var(&c.RateLimit, "rate-limit", 25, "uplinks per second allowed per hotspot (0 disables)")
	fs.IntVar(&c.RateBurst, "rate-burst", 50, "uplink burst allowed per hotspot")
	fs.DurationVar(&c.DedupWindow, "dedup-window", 200*time.Millisecond, "copies of a frame arriving within this time of the first are copies")
	fs.DurationVar(&c.DedupTTL, "dedup-ttl", 10*time.Second, "how long a frame's best hotspot is remembered for its downlink")
	fs.IntVar(&c.DedupMaxEntries, "dedup-max-entries", 200_000, "frames held in the dedup state at most")
	fs.DurationVar(&c.VoucherInterval, "voucher-interval", 10*time.Second, "how often vouchers are persisted, signed and sent")
	fs.DurationVar(&c.ChainRefresh, "chain-refresh", 30*time.Second, "how often OUI configuration, escrow and epoch are re-read from the chain")
	fs.DurationVar(&c.Keepalive, "keepalive", 10*time.Second, "PULL_DATA keepalive period of the virtual gateways")
	fs.DurationVar(&c.GatewayIdle, "gateway-idle", 10*time.Minute, "close a virtual gateway after this long without uplinks")
	fs.BoolVar(&c.PrintAddress, "print-address", false, "print the router's address (hxp1..., created with its key file if missing) and exit")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = config.Usage(fs, EnvPrefix, synopsis)
	if err := config.Load(fs, EnvPrefix, args, getenv); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (all settings are flags; see --help)", fs.Arg(0))
	}
	for _, s := range ouis {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return c, fmt.Errorf("--ouis: %q is not an OUI number", s)
		}
		c.OUIs = append(c.OUIs, id)
	}
	sort.Slice(c.OUIs, func(i, j int) bool { return c.OUIs[i] < c.OUIs[j] })
	var err error
	if c.LNS, err = parseLNS(lns, c.OUIs); err != nil {
		return c, err
	}
	if c.RX2, err = parseRX2(rx2); err != nil {
		return c, err
	}
	if c.PrintAddress {
		return c, nil
	}
	return c, c.Validate()
}

func parseLNS(list []string, ouis []uint64) (map[uint64]string, error) {
	out := map[uint64]string{}
	for _, s := range list {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			for _, o := range ouis {
				if _, set := out[o]; !set {
					out[o] = s
				}
			}
			continue
		}
		id, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--lns %q: %q is not an OUI number (use OUI=host:port)", s, k)
		}
		out[id] = v
	}
	for o, a := range out {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("--lns for OUI %d: %q is not host:port", o, a)
		}
	}
	return out, nil
}

func parseRX2(list []string) (map[hexproofv1.Region]Window, error) {
	out := map[hexproofv1.Region]Window{}
	for r, w := range DefaultRX2 {
		out[r] = w
	}
	for _, s := range list {
		k, v, ok1 := strings.Cut(s, "=")
		f, dr, ok2 := strings.Cut(v, "/")
		reg, ok3 := hexproofv1.Region_value["REGION_"+strings.ToUpper(k)]
		hz, err := strconv.ParseUint(f, 10, 64)
		if !ok1 || !ok2 || !ok3 || err != nil || dr == "" {
			return nil, fmt.Errorf("--rx2 %q: use REGION=FREQ_HZ/DATARATE, e.g. EU868=869525000/SF9BW125", s)
		}
		out[hexproofv1.Region(reg)] = Window{hz, dr}
	}
	return out, nil
}

// Validate refuses a configuration the router can't run with.
func (c Config) Validate() error {
	var errs []error
	if len(c.OUIs) == 0 {
		errs = append(errs, errors.New("no OUI to serve: set --ouis (ROUTER_OUIS) to your OUI number(s)"))
	}
	for _, o := range c.OUIs {
		if c.LNS[o] == "" {
			errs = append(errs, fmt.Errorf("OUI %d has no LNS: set --lns %d=host:port", o, o))
		}
	}
	if c.KeyFile == "" {
		errs = append(errs, errors.New("--key-file is empty"))
	}
	if c.StateDir == "" {
		errs = append(errs, errors.New("--state-dir is empty: the voucher counters must be persisted"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("set both --tls-cert and --tls-key, or neither"))
	}
	if c.MaxMessageBytes < 512 {
		errs = append(errs, fmt.Errorf("--max-message-bytes %d is too small for an uplink; use at least 512", c.MaxMessageBytes))
	}
	if c.VoucherInterval <= 0 || c.ChainRefresh <= 0 || c.Keepalive <= 0 || c.DedupWindow <= 0 {
		errs = append(errs, errors.New("--voucher-interval, --chain-refresh, --keepalive and --dedup-window must be positive"))
	}
	return errors.Join(errs...)
}
