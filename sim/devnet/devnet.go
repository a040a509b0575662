package devnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/hotspot/agent"
	"github.com/hexproof/hexproof/oracle/ingest"
	"github.com/hexproof/hexproof/sim/air"
	"github.com/hexproof/hexproof/sim/device"
	"github.com/hexproof/hexproof/sim/lns"
	"github.com/hexproof/hexproof/sim/pktfwd"
	"github.com/hexproof/hexproof/sim/world"
)

// Endpoints is DIR/endpoints.json, written when the devnet is ready.
type Endpoints struct {
	ChainRPC      []string `json:"chain_rpc"`
	Explorer      string   `json:"explorer"`
	OracleGRPC    string   `json:"oracle_grpc"`
	Routers       []string `json:"routers"`
	MQTT          string   `json:"mqtt"`
	HotspotStatus []string `json:"hotspot_status"`
}

// EndpointsFile is the name of the readiness file inside the state directory.
const EndpointsFile = "endpoints.json"

// Devnet is a running local network.
type Devnet struct {
	cfg Config
	log *slog.Logger
	out io.Writer

	mu         sync.Mutex
	world      *world.World
	st         *state
	chainID    string
	rpcs       []string
	chain      *client.Client
	validators []*process
	broker     *broker
	mqttURL    string
	pool       *pgxpool.Pool
	ingest     *ingest.Service
	routers    []*routerProc
	lnss       map[string]*lns.Server
	air        *air.Air
	devices    []*device.Device
	hotspots   []*hotspotProc
	endpoints  *Endpoints
	ready      chan struct{}
	bootStart  time.Time
	bootTime   time.Duration
	// epochBlocks is the chain's (a reused devnet keeps its own).
	epochBlocks uint64

	rx1, rx2, beaconsTx, dataRX1 atomic.Uint64
}

// New returns a devnet; it starts nothing. Progress and the live view go
// to out, logs to logger.
func New(cfg Config, logger *slog.Logger, out io.Writer) (*Devnet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if out == nil {
		out = io.Discard
	}
	return &Devnet{cfg: cfg, log: logger, out: out, ready: make(chan struct{}), lnss: map[string]*lns.Server{}}, nil
}

// Ready is closed once everything is up and endpoints.json is written.
func (d *Devnet) Ready() <-chan struct{} { return d.ready }

// Endpoints returns what endpoints.json says (nil before Ready).
func (d *Devnet) Endpoints() *Endpoints {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.endpoints
}

// World returns the simulated world (nil before Run loaded it).
func (d *Devnet) World() *world.World {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.world
}

// ChainID is the chain id of the network.
func (d *Devnet) ChainID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.chainID
}

// BootTime is how long Run took from start to ready.
func (d *Devnet) BootTime() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bootTime
}

func (d *Devnet) path(p ...string) string {
	return filepath.Join(append([]string{d.cfg.Dir}, p...)...)
}

// progress reports a boot step on the terminal (text) or as a log line (json).
func (d *Devnet) progress(step string, args ...any) {
	if d.cfg.LogFormat == "json" {
		d.log.Info("boot", append([]any{"step", step}, args...)...)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%5.1fs] %s", time.Since(d.bootStart).Seconds(), step)
	for i := 0; i+1 < len(args); i += 2 {
		fmt.Fprintf(&b, " %v=%v", args[i], args[i+1])
	}
	fmt.Fprintln(d.out, b.String())
}

// Run brings the network up, serves until ctx ends and stops everything:
// the simulated world and hotspots first, then routers, oracle and broker,
// the validators last.
func (d *Devnet) Run(ctx context.Context) error {
	d.bootStart = time.Now()
	if err := os.MkdirAll(d.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	st, reused, err := loadState(d.path("devnet.json"))
	if err != nil {
		return err
	}
	if reused && !st.SetupDone {
		return fmt.Errorf("the devnet in %s stopped before its setup finished; remove the directory and start again", d.cfg.Dir)
	}
	os.Remove(d.path(EndpointsFile))
	// Bridges and status APIs get new ports on every run (endpoints.json
	// says which); what the chain or the validators' files name stays.
	st.HotspotStatus, st.Bridges = nil, nil
	w, err := d.loadWorld()
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.st, d.world = st, w
	d.mu.Unlock()
	d.progress("world", "city", w.City.Name, "hotspots", len(w.Hotspots), "devices", len(w.Devices), "companies", len(w.Companies), "reused", reused)

	// Validators are stopped after everything else.
	valCtx, valCancel := context.WithCancel(context.Background())
	var valGroup errgroup.Group
	defer func() {
		valCancel()
		if err := valGroup.Wait(); err != nil {
			d.log.Warn("stopping validators", "err", err)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	// The simulated world and the hotspots stop first, while the broker,
	// routers and oracle they talk to are still up.
	hctx, hcancel := context.WithCancel(gctx)
	defer hcancel()
	hg, hgctx := errgroup.WithContext(hctx)
	stopAll := func(err error) error {
		hcancel()
		herr := hg.Wait()
		cancel()
		werr := errors.Join(herr, g.Wait())
		if d.pool != nil {
			d.pool.Close()
		}
		return errors.Join(err, werr)
	}

	// No PostgreSQL is the most likely first-run problem: say so before
	// creating anything.
	if err := d.pingDatabase(ctx, d.cfg.DatabaseURL); err != nil {
		return err
	}
	if err := d.prepareChain(st, reused); err != nil {
		return err
	}
	if err := st.save(d.path("devnet.json")); err != nil {
		return err
	}
	// The oracle (price feed) comes first: validators vote its price.
	if err := d.startBroker(gctx, g, st); err != nil {
		return stopAll(err)
	}
	if err := d.startOracle(gctx, g, st); err != nil {
		return stopAll(err)
	}
	if err := d.startValidators(valCtx, &valGroup, st); err != nil {
		return stopAll(err)
	}
	if err := d.waitChain(gctx); err != nil {
		return stopAll(err)
	}
	if p, err := d.chain.Params(gctx); err == nil {
		d.epochBlocks = p.EpochBlocks
	} else {
		return stopAll(fmt.Errorf("read the chain parameters: %w", err))
	}
	d.progress("chain up", "chain_id", d.chainID, "validators", len(d.validators), "rpc", d.rpcs[0])
	rkeys, rlns, err := d.prepareCompanies(st)
	if err != nil {
		return stopAll(err)
	}
	if !st.SetupDone {
		if err := d.setupChain(gctx, st, rkeys); err != nil {
			return stopAll(fmt.Errorf("set up the chain: %w", err))
		}
		st.SetupDone = true
		if err := st.save(d.path("devnet.json")); err != nil {
			return stopAll(err)
		}
	}
	if err := d.startCompanies(gctx, g, st, rkeys, rlns); err != nil {
		return stopAll(err)
	}
	if err := d.startHotspots(hgctx, hg, st); err != nil {
		return stopAll(err)
	}
	if err := st.save(d.path("devnet.json")); err != nil {
		return stopAll(err)
	}
	if err := d.waitHotspots(hgctx); err != nil {
		return stopAll(err)
	}
	hg.Go(func() error { return d.air.Run(hgctx, 100*time.Millisecond) })
	if err := d.writeEndpoints(st); err != nil {
		return stopAll(err)
	}
	d.mu.Lock()
	d.bootTime = time.Since(d.bootStart)
	d.mu.Unlock()
	close(d.ready)
	d.progress("ready", "boot", d.bootTime.Round(100*time.Millisecond), "endpoints", d.path(EndpointsFile))
	fmt.Fprintf(d.out, "explorer: %s/\n", d.endpoints.Explorer)
	hg.Go(func() error { return d.runView(hgctx) })
	<-hgctx.Done()
	return stopAll(nil)
}

func (d *Devnet) loadWorld() (*world.World, error) {
	saved := d.path("world.json")
	if _, err := os.Stat(saved); err == nil {
		w, err := world.Load(saved)
		if err != nil {
			return nil, fmt.Errorf("the devnet's world: %w", err)
		}
		return w, nil
	}
	var w *world.World
	var err error
	if d.cfg.WorldFile != "" {
		if w, err = world.Load(d.cfg.WorldFile); err != nil {
			return nil, fmt.Errorf("--world: %w", err)
		}
	} else {
		devices := d.cfg.Devices
		if devices < 0 {
			devices = 2 * d.cfg.Hotspots
		}
		wc := world.DefaultConfig(d.cfg.Hotspots, devices)
		wc.City, wc.Seed, wc.Companies = d.cfg.City, d.cfg.Seed, d.cfg.Companies
		if w, err = world.Generate(wc); err != nil {
			return nil, fmt.Errorf("generate the world: %w", err)
		}
	}
	if err := w.Save(saved); err != nil {
		return nil, fmt.Errorf("save the world: %w", err)
	}
	return w, nil
}

func (d *Devnet) writeEndpoints(st *state) error {
	ep := &Endpoints{
		ChainRPC:   append([]string(nil), d.rpcs...),
		Explorer:   fmt.Sprintf("http://127.0.0.1:%d", st.OracleHTTP),
		OracleGRPC: fmt.Sprintf("127.0.0.1:%d", st.OracleGRPC),
		MQTT:       d.mqttURL,
	}
	for _, c := range d.world.Companies {
		ep.Routers = append(ep.Routers, fmt.Sprintf("127.0.0.1:%d", st.Routers[c.Name]))
	}
	for _, p := range st.HotspotStatus {
		ep.HotspotStatus = append(ep.HotspotStatus, fmt.Sprintf("http://127.0.0.1:%d", p))
	}
	b, err := json.MarshalIndent(ep, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(d.path(EndpointsFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	d.mu.Lock()
	d.endpoints = ep
	d.mu.Unlock()
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// transmit wraps hotspot i's air transmitter to count what goes on air:
// LoRaWAN downlinks (inverted polarity) in RX1 or RX2, and beacons.
func (d *Devnet) transmit(i int) func(pktfwd.Downlink) {
	tx := d.air.Transmitter(i)
	return func(dl pktfwd.Downlink) {
		switch {
		case !dl.TXPK.IPol:
			d.beaconsTx.Add(1)
		case isRX2(dl.TXPK.Freq, dl.TXPK.DatR.LoRa):
			d.rx2.Add(1)
		default:
			d.rx1.Add(1)
			// MHDR MType 3 (unconfirmed data down) or 5 (confirmed):
			// acknowledgements of confirmed uplinks, not join accepts.
			if len(dl.TXPK.Data) > 0 {
				if mt := dl.TXPK.Data[0] >> 5; mt == 3 || mt == 5 {
					d.dataRX1.Add(1)
				}
			}
		}
		tx(dl)
	}
}

// isRX2 reports whether a downlink uses EU868's RX2 window (869.525 MHz,
// SF12), which the simulated devices' uplinks never use.
func isRX2(freqMHz float64, dr string) bool {
	return freqMHz > 869.5 && freqMHz < 869.55 && strings.HasPrefix(dr, "SF12")
}

// LNSStats returns a company's network server counters.
func (d *Devnet) LNSStats(company string) (lns.Stats, bool) {
	d.mu.Lock()
	s, ok := d.lnss[company]
	d.mu.Unlock()
	if !ok {
		return lns.Stats{}, false
	}
	return s.Stats(), true
}

// OUI is the OUI number of a company.
func (d *Devnet) OUI(company string) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st.OUIs[company]
}

// Agent returns hotspot i's agent.
func (d *Devnet) Agent(i int) *agent.Agent {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i < 0 || i >= len(d.hotspots) {
		return nil
	}
	return d.hotspots[i].agent
}
