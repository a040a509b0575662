package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/hotspot/agent"
	"github.com/hexproof/hexproof/hotspot/bridgemqtt"
	"github.com/hexproof/hexproof/hotspot/chainrpc"
	"github.com/hexproof/hexproof/hotspot/location"
	"github.com/hexproof/hexproof/hotspot/status"
	"github.com/hexproof/hexproof/hotspot/vouchers"
	"github.com/hexproof/hexproof/internal/config"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

var _ agent.Chain = (*chainrpc.Client)(nil)

const (
	envPrefix         = "HOTSPOT"
	defaultKey        = "/var/lib/hotspot/hotspot.key"
	defaultDataDir    = "/var/lib/hotspot"
	defaultStatusAddr = "127.0.0.1:4467"
	defaultChainRPC   = "http://127.0.0.1:26657"
)

func newFlags(name string, stderr io.Writer, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String(config.ConfigFlag, "", "TOML config file (keys are flag names with underscores)")
	fs.Usage = config.Usage(fs, envPrefix, synopsis)
	return fs
}

func load(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := config.Load(fs, envPrefix, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags go before nothing else; see --help)", fs.Args())
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func keysGenerate(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("keys generate", stderr, "usage: hotspot keys generate --key PATH\n\nCreates the hotspot's ed25519 key file (mode 0600). It never overwrites a key.")
	keyPath := fs.String("key", defaultKey, "key file to create")
	if err := load(fs, args, getenv); err != nil {
		return err
	}
	k, err := identity.NewKey(nil)
	if err != nil {
		return err
	}
	if err := identity.SaveKeyFile(*keyPath, k); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s\naddress %s\n", *keyPath, k.Address())
	return nil
}

func keysShow(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("keys show", stderr, "usage: hotspot keys show --key PATH\n\nPrints the hotspot's address and public key.")
	keyPath := fs.String("key", defaultKey, "key file")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := load(fs, args, getenv); err != nil {
		return err
	}
	k, err := identity.LoadKeyFile(*keyPath)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, map[string]string{"address": k.Address().String(), "public_key": hex.EncodeToString(k.PublicKey())})
	}
	fmt.Fprintf(stdout, "address    %s\npublic key %s\n", k.Address(), hex.EncodeToString(k.PublicKey()))
	return nil
}

// chainID returns --chain-id, or asks the node.
func chainID(ctx context.Context, id, rpc string) (string, *chainrpc.Client, error) {
	var c *chainrpc.Client
	if rpc != "" {
		var err error
		if c, err = chainrpc.New(rpc, nil, 0); err != nil {
			return "", nil, err
		}
	}
	if id != "" {
		return id, c, nil
	}
	if c == nil {
		return "", nil, errors.New("chain id unknown: pass --chain-id or --chain-rpc")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	id, err := c.ChainID(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("ask the chain for its id (or pass --chain-id): %w", err)
	}
	return id, c, nil
}

func parseMode(s string) (hexproofv1.HotspotMode, error) {
	switch strings.ToLower(s) {
	case "full":
		return hexproofv1.HotspotMode_HOTSPOT_MODE_FULL, nil
	case "data_only", "data-only":
		return hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY, nil
	}
	return 0, fmt.Errorf("mode %q: use full or data_only", s)
}

// OnboardOutput is what `hotspot onboard` prints: everything a wallet needs
// to build the owner-signed HotspotAdd transaction.
type OnboardOutput struct {
	ChainID          string `json:"chain_id"`
	Owner            string `json:"owner"`
	Hotspot          string `json:"hotspot"`
	HotspotPublicKey string `json:"hotspot_public_key"`
	Mode             string `json:"mode"`
	// SignBytes is the deterministic HotspotAddSignBytes the hotspot signed
	// under the domain "hexproof/hotspot-add/v1".
	SignBytes        string `json:"sign_bytes"`
	HotspotSignature string `json:"hotspot_signature"`
	// Payload is the HotspotAdd message (deterministic protobuf, hex) to
	// put into TxBody.hotspot_add.
	Payload     string          `json:"payload"`
	PayloadJSON json.RawMessage `json:"payload_json"`
	TxHash      string          `json:"tx_hash,omitempty"`
}

func onboard(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("onboard", stderr, `usage: hotspot onboard --owner ADDR [--chain-id ID | --chain-rpc URL] [--owner-key PATH]

Prints the hotspot-signed half of the HotspotAdd transaction as JSON (the
owner's wallet adds its own signature and submits it). With --owner-key the
transaction is signed with that key and submitted through --chain-rpc.`)
	keyPath := fs.String("key", defaultKey, "hotspot key file")
	owner := fs.String("owner", "", "owner account address (hxp1...)")
	id := fs.String("chain-id", "", "chain id (asked from --chain-rpc when empty)")
	rpc := fs.String("chain-rpc", "", "chain node RPC URL, e.g. "+defaultChainRPC)
	modeS := fs.String("mode", "full", "full (PoC and data) or data_only")
	ownerKey := fs.String("owner-key", "", "owner key file: sign and submit the transaction")
	fee := fs.Uint64("fee", 0, "transaction fee in micro-HXP (with --owner-key)")
	if err := load(fs, args, getenv); err != nil {
		return err
	}
	k, err := identity.LoadKeyFile(*keyPath)
	if err != nil {
		return err
	}
	if *owner == "" {
		return errors.New("--owner is required: the account address (hxp1...) that will own the hotspot")
	}
	ownerAddr, err := identity.ParseAddress(*owner)
	if err != nil {
		return fmt.Errorf("--owner: %w", err)
	}
	mode, err := parseMode(*modeS)
	if err != nil {
		return err
	}
	cid, c, err := chainID(ctx, *id, *rpc)
	if err != nil {
		return err
	}
	add, sb, err := chainrpc.SignHotspotAdd(k, cid, ownerAddr, mode)
	if err != nil {
		return err
	}
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(add)
	if err != nil {
		return err
	}
	pj, _ := protojson.Marshal(add)
	out := OnboardOutput{ChainID: cid, Owner: ownerAddr.String(), Hotspot: k.Address().String(), HotspotPublicKey: hex.EncodeToString(k.PublicKey()),
		Mode: *modeS, SignBytes: hex.EncodeToString(sb), HotspotSignature: hex.EncodeToString(add.GetHotspotSignature()),
		Payload: hex.EncodeToString(payload), PayloadJSON: pj}
	if *ownerKey != "" {
		ok, err := identity.LoadKeyFile(*ownerKey)
		if err != nil {
			return err
		}
		if ok.Address() != ownerAddr {
			return fmt.Errorf("--owner-key is the key of %s, not of --owner %s", ok.Address(), ownerAddr)
		}
		if c == nil {
			return errors.New("--owner-key needs --chain-rpc to submit the transaction")
		}
		hash, err := c.Submit(ctx, ok, *fee, add)
		if err != nil {
			return fmt.Errorf("submit hotspot add: %w", err)
		}
		out.TxHash = hash
	}
	return printJSON(stdout, out)
}

// AssertOutput is what `hotspot assert` prints.
type AssertOutput struct {
	Hotspot     string          `json:"hotspot"`
	H3          string          `json:"h3"`
	GainDdbi    int32           `json:"gain_ddbi"`
	ElevationM  int32           `json:"elevation_m"`
	Region      string          `json:"region"`
	Payload     string          `json:"payload"`
	PayloadJSON json.RawMessage `json:"payload_json"`
	TxHash      string          `json:"tx_hash,omitempty"`
}

func assert(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("assert", stderr, `usage: hotspot assert (--lat DEG --lng DEG | --h3 CELL) --region REGION [--gain DBI] [--elevation M]

Prepares the AssertLocation payload (owner-signed). The position becomes an
H3 resolution-12 cell through the oracle HTTP API (--oracle-http), or give the
cell with --h3. With --owner-key the transaction is signed and submitted
through --chain-rpc.`)
	keyPath := fs.String("key", defaultKey, "hotspot key file")
	lat := fs.Float64("lat", 0, "antenna latitude, decimal degrees")
	lng := fs.Float64("lng", 0, "antenna longitude, decimal degrees")
	cellS := fs.String("h3", "", "H3 resolution-12 cell in hex instead of --lat/--lng")
	oracleHTTP := fs.String("oracle-http", "", "oracle HTTP API base URL for the position -> cell conversion")
	gain := fs.Float64("gain", 3, "antenna gain in dBi")
	elevation := fs.Int("elevation", 0, "antenna height above ground in metres")
	regionS := fs.String("region", "", "LoRaWAN region: EU868, US915, AU915, AS923, KR920, IN865, CN470, RU864, EU433")
	ownerKey := fs.String("owner-key", "", "owner key file: sign and submit the transaction")
	rpc := fs.String("chain-rpc", "", "chain node RPC URL (with --owner-key)")
	fee := fs.Uint64("fee", 0, "transaction fee in micro-HXP (with --owner-key)")
	if err := load(fs, args, getenv); err != nil {
		return err
	}
	k, err := identity.LoadKeyFile(*keyPath)
	if err != nil {
		return err
	}
	region, ok := agent.ParseRegion(*regionS)
	if !ok {
		return fmt.Errorf("--region %q: use one of EU868, US915, AU915, AS923, KR920, IN865, CN470, RU864, EU433", *regionS)
	}
	var cell uint64
	latSet, lngSet := false, false
	fs.Visit(func(f *flag.Flag) { latSet = latSet || f.Name == "lat"; lngSet = lngSet || f.Name == "lng" })
	switch {
	case *cellS != "":
		if cell, err = location.ParseCell(*cellS); err != nil {
			return fmt.Errorf("--h3: %w", err)
		}
	case latSet && lngSet:
		if cell, err = location.Lookup(ctx, *oracleHTTP, *lat, *lng); err != nil {
			return err
		}
	default:
		return errors.New("give the antenna position with --lat and --lng (and --oracle-http), or the cell with --h3")
	}
	p, err := location.Assertion{Hotspot: k.PublicKey(), Cell: cell, GainDBi: *gain, ElevationM: int32(*elevation), Region: region}.Payload()
	if err != nil {
		return err
	}
	raw, _ := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	pj, _ := protojson.Marshal(p)
	out := AssertOutput{Hotspot: k.Address().String(), H3: location.FormatCell(cell), GainDdbi: p.GainDdbi, ElevationM: p.ElevationM,
		Region: strings.TrimPrefix(region.String(), "REGION_"), Payload: hex.EncodeToString(raw), PayloadJSON: pj}
	if *ownerKey != "" {
		if *rpc == "" {
			return errors.New("--owner-key needs --chain-rpc to submit the transaction")
		}
		ok, err := identity.LoadKeyFile(*ownerKey)
		if err != nil {
			return err
		}
		c, err := chainrpc.New(*rpc, nil, 0)
		if err != nil {
			return err
		}
		hash, err := c.Submit(ctx, ok, *fee, p)
		if err != nil {
			return fmt.Errorf("submit location assertion: %w", err)
		}
		out.TxHash = hash
	}
	return printJSON(stdout, out)
}

func claim(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("claim", stderr, "usage: hotspot claim [--data-dir DIR] [--chain-rpc URL]\n\nClaims every stored voucher on chain now (the agent also claims them after each epoch).")
	keyPath := fs.String("key", defaultKey, "hotspot key file")
	dataDir := fs.String("data-dir", defaultDataDir, "agent data directory")
	rpc := fs.String("chain-rpc", defaultChainRPC, "chain node RPC URL")
	fee := fs.Uint64("claim-fee", 0, "fee offered per claim transaction, micro-HXP")
	if err := load(fs, args, getenv); err != nil {
		return err
	}
	k, err := identity.LoadKeyFile(*keyPath)
	if err != nil {
		return err
	}
	store, err := vouchers.Open(*dataDir+"/vouchers", 0)
	if err != nil {
		return err
	}
	ch, err := chainrpc.New(*rpc, k, *fee)
	if err != nil {
		return err
	}
	n := store.Len()
	if n == 0 {
		fmt.Fprintln(stdout, "no vouchers to claim")
		return nil
	}
	r := vouchers.Claim(ctx, store, ch, vouchers.All)
	fmt.Fprintf(stdout, "claimed %d of %d vouchers\n", r.Claimed, n)
	return errors.Join(r.Errors...)
}

func showStatus(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("status", stderr, "usage: hotspot status [--status-addr HOST:PORT] [--json]\n\nShows the running agent's status.")
	addr := fs.String("status-addr", defaultStatusAddr, "address of the agent's status API")
	asJSON := fs.Bool("json", false, "print the raw JSON")
	if err := load(fs, args, getenv); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := status.Fetch(ctx, "http://"+*addr)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, st)
	}
	status.Print(stdout, st)
	return nil
}

func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("run", stderr, `usage: hotspot run [flags]

Runs the agent: MQTT to the gateway bridge, uplinks to the routers, beacons and
witness reports to the oracles, vouchers claimed on chain, status on
http://--status-addr/status and /metrics.`)
	var oracles config.StringList
	keyPath := fs.String("key", defaultKey, "hotspot key file (create it with `hotspot keys generate`)")
	dataDir := fs.String("data-dir", defaultDataDir, "directory for queues, vouchers and caches")
	rpc := fs.String("chain-rpc", defaultChainRPC, "chain node RPC URL")
	cid := fs.String("chain-id", "", "chain id (asked from the chain when empty)")
	broker := fs.String("mqtt-broker", "tcp://127.0.0.1:1883", "MQTT broker of the gateway bridge")
	user := fs.String("mqtt-username", "", "MQTT username")
	pass := fs.String("mqtt-password", "", "MQTT password")
	prefix := fs.String("mqtt-topic-prefix", "", `topic prefix before "gateway/", e.g. "eu868/"`)
	gwID := fs.String("gateway-id", "", "gateway id (16 hex digits); empty: learn it from the bridge")
	mqttJSON := fs.Bool("mqtt-json", false, "publish commands as JSON instead of protobuf")
	fs.Var(&oracles, "oracle", "oracle PocIngestService endpoint host:port or tls://host:port (repeatable)")
	statusAddr := fs.String("status-addr", defaultStatusAddr, "status API listen address (loopback only)")
	regionS := fs.String("region", "", "override the asserted region (e.g. EU868) until the assertion is on chain")
	gain := fs.Float64("gain", 0, "antenna gain in dBi, with --region")
	queueSize := fs.Int("queue-size", 10000, "reports kept per oracle while it is unreachable")
	claimFee := fs.Uint64("claim-fee", 0, "fee offered per voucher claim transaction, micro-HXP")
	routingRefresh := fs.Duration("routing-refresh", 5*time.Minute, "how often the routing table is re-read from the chain")
	pocPoll := fs.Duration("poc-poll", 5*time.Second, "how often the chain head is read for beacons")
	logFormat := fs.String("log-format", "json", "json or text")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := load(fs, args, getenv); err != nil {
		return err
	}
	log, err := logging.New(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	tuneMemory(getenv)
	k, err := identity.LoadKeyFile(*keyPath)
	if err != nil {
		return err
	}
	cfg := agent.Config{
		Key: k, Version: version, DataDir: *dataDir, ChainID: *cid,
		Bridge:  bridgemqtt.Config{Broker: *broker, Username: *user, Password: *pass, TopicPrefix: *prefix, GatewayID: *gwID, JSON: *mqttJSON},
		Oracles: oracles, QueueSize: *queueSize, RoutingRefresh: *routingRefresh, PocPoll: *pocPoll,
	}
	if *regionS != "" {
		r, ok := agent.ParseRegion(*regionS)
		if !ok {
			return fmt.Errorf("--region %q: use one of EU868, US915, AU915, AS923, KR920, IN865, CN470, RU864, EU433", *regionS)
		}
		cfg.Region, cfg.GainDdbi = r, int32(*gain*10)
	}
	if err := checkLoopback(*statusAddr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *statusAddr)
	if err != nil {
		return fmt.Errorf("status API on %s: %w", *statusAddr, err)
	}
	ch, err := chainrpc.New(*rpc, k, *claimFee)
	if err != nil {
		ln.Close()
		return err
	}
	a, err := agent.New(cfg, log, ch, ln)
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "hotspot %s running; status on http://%s/status\n", k.Address(), ln.Addr())
	return a.Run(ctx)
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--status-addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--status-addr %q must be a loopback address (e.g. 127.0.0.1:4467): the status API is not authenticated", addr)
	}
	return nil
}

// tuneMemory keeps the agent small on a Raspberry Pi: the heap it needs is
// a few MB, so collecting at 50% growth (instead of 100%) and under a soft
// 32 MiB limit costs little CPU at gateway packet rates. GOGC and GOMEMLIMIT
// in the environment win.
func tuneMemory(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(32 << 20)
	}
}
