package devnet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hexproof/hexproof/chain/app"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/oracle/explorer"
	"github.com/hexproof/hexproof/sim/devnet"
	"github.com/hexproof/hexproof/sim/lns"
	"github.com/hexproof/hexproof/sim/radio"
	"github.com/hexproof/hexproof/sim/world"
)

// smallConfig is a devnet of 4 validators and 20 hotspots with short epochs.
func smallConfig(t testing.TB) devnet.Config {
	t.Helper()
	dbURL, _ := testsvc.Postgres(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := devnet.DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.Validators, cfg.Hotspots, cfg.Devices, cfg.Seed = 4, 20, 24, 3
	cfg.EpochBlocks, cfg.BeaconIntervalBlocks, cfg.BlockTime = 30, 8, 400*time.Millisecond
	cfg.UplinkInterval, cfg.ClaimInterval, cfg.VoucherInterval = 8*time.Second, 3*time.Second, 2*time.Second
	cfg.DatabaseURL = dbURL
	cfg.ChainCommand, cfg.ChainEnv = []string{exe}, []string{chainEnv + "=1"}
	cfg.RouterCommand, cfg.RouterEnv = []string{exe}, []string{routerEnv + "=1"}
	cfg.BrokerCommand, cfg.BrokerEnv = []string{exe}, []string{brokerEnv + "=1"}
	cfg.View, cfg.LogLevel = "off", "error"
	return cfg
}

type running struct {
	d      *devnet.Devnet
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// stop stops the devnet and waits for it.
func (r *running) stop(t testing.TB) {
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("devnet: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("devnet did not stop within 60 s")
		}
	})
}

// start runs a devnet until the test ends and waits for it to be ready.
func start(t testing.TB, cfg devnet.Config) *running {
	t.Helper()
	out := &logWriter{t: t}
	logger, err := logging.New(out, "text", cfg.LogLevel)
	if err != nil {
		t.Fatal(err)
	}
	d, err := devnet.New(cfg, logger, out)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	select {
	case <-d.Ready():
	case err := <-r.done:
		t.Fatalf("devnet stopped before it was ready: %v", err)
	case <-time.After(300 * time.Second):
		t.Fatal("devnet not ready within 300 s")
	}
	return r
}

// logWriter sends the devnet's output to the test log.
type logWriter struct {
	t  testing.TB
	mu sync.Mutex
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Logf("%s", p)
	return len(p), nil
}

// waitFor polls cond until it holds or the timeout ends.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (%s)", what, timeout, last)
}

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func emission(t testing.TB, dir string, epoch uint64) uint64 {
	t.Helper()
	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(dir, "chain", "node0", "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g app.Genesis
	if err := json.Unmarshal(doc.AppState, &g); err != nil {
		t.Fatal(err)
	}
	var e uint64
	for _, s := range g.Emission {
		if s.FromEpoch <= epoch {
			e = s.PerEpochUHXP
		}
	}
	return e
}

func TestDevnetEndToEnd(t *testing.T) {
	cfg := smallConfig(t)
	r := start(t, cfg)
	d := r.d
	ep := d.Endpoints()
	w := d.World()
	ctx := context.Background()

	// endpoints.json is on disk, as the issue says.
	var onDisk devnet.Endpoints
	b, err := os.ReadFile(filepath.Join(cfg.Dir, devnet.EndpointsFile))
	if err != nil || json.Unmarshal(b, &onDisk) != nil {
		t.Fatalf("endpoints.json: %v %s", err, b)
	}
	if len(onDisk.ChainRPC) != 4 || len(onDisk.Routers) != 2 || len(onDisk.HotspotStatus) != 20 || onDisk.Explorer == "" || onDisk.OracleGRPC == "" || onDisk.MQTT == "" {
		t.Fatalf("endpoints.json %+v", onDisk)
	}

	// The companies' MQTT topics.
	var mu sync.Mutex
	ups := map[string]map[string]int{} // company -> dev_eui -> decoded uplinks
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(ep.MQTT).SetClientID("e2e-" + t.Name()))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	tok := sub.Subscribe("application/+/device/+/event/up", 1, func(_ mqtt.Client, m mqtt.Message) {
		var ev lns.UplinkEvent
		if err := json.Unmarshal(m.Payload(), &ev); err != nil || ev.Decoded == nil || len(ev.Gateways) == 0 {
			t.Errorf("uplink event on %s not decoded: %s", m.Topic(), m.Payload())
			return
		}
		if want := fmt.Sprintf("application/%s/device/%s/event/up", ev.Company, ev.DevEUI); m.Topic() != want {
			t.Errorf("uplink on %s, want %s", m.Topic(), want)
		}
		mu.Lock()
		if ups[ev.Company] == nil {
			ups[ev.Company] = map[string]int{}
		}
		ups[ev.Company][ev.DevEUI]++
		mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	c, err := client.New(ep.ChainRPC[1])
	if err != nil {
		t.Fatal(err)
	}
	params, err := c.Params(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Wait for two full epochs with PoC in them, and voucher claims.
	var st devnet.Stats
	waitFor(t, "two epochs with beacons, uplinks and voucher claims", 150*time.Second, func() (bool, string) {
		st, err = d.Stats(ctx)
		mu.Lock()
		n := len(ups)
		mu.Unlock()
		return err == nil && st.Epoch >= 3 && st.DCSpent > 0 && n == len(w.Companies) && st.AcksRX1 > 0, st.Line()
	})
	t.Logf("summary: %s", st.Line())

	t.Run("uplinks decoded at each company's topics after OTAA joins", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		for _, co := range w.Companies {
			if len(ups[co.Name]) == 0 {
				t.Errorf("company %s: no decoded uplink on its topics", co.Name)
			}
			ls, _ := d.LNSStats(co.Name)
			if ls.Joins == 0 || ls.Uplinks == 0 || ls.MICFailures != 0 {
				t.Errorf("company %s network server: %+v", co.Name, ls)
			}
		}
	})

	t.Run("confirmed uplinks acknowledged in RX1", func(t *testing.T) {
		confirmed := uint64(0)
		for _, co := range w.Companies {
			ls, _ := d.LNSStats(co.Name)
			confirmed += ls.Confirmed
		}
		if confirmed == 0 || st.AcksRX1 == 0 || st.Air.DownlinksDelivered == 0 {
			t.Fatalf("confirmed %d, acks on air in RX1 %d, downlinks accepted by devices %d", confirmed, st.AcksRX1, st.Air.DownlinksDelivered)
		}
		// RX2 is the legitimate fallback when a machine under load misses
		// RX1; it is reported, not failed.
		t.Logf("confirmed uplinks %d; on air: %d acks in RX1, %d downlinks in RX1, %d in RX2", confirmed, st.AcksRX1, st.DownlinksRX1, st.DownlinksRX2)
	})

	// Hotspot addresses and kinds.
	type hs struct {
		h    world.Hotspot
		addr identity.Address
	}
	var all []hs
	for _, h := range w.Hotspots {
		k, err := devnet.HotspotKey(h)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, hs{h, k.Address()})
	}

	t.Run("beacons witnessed with receipts on chain", func(t *testing.T) {
		if st.BeaconsValid == 0 || st.WitnessesValid == 0 {
			t.Fatalf("valid beacons %d, valid witnesses %d", st.BeaconsValid, st.WitnessesValid)
		}
		found := false
		for _, x := range all {
			if x.h.Kind != world.KindHonest || x.h.Mode != world.ModeFull {
				continue
			}
			poc, err := c.HotspotPoC(ctx, x.addr, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range poc.Entries {
				if e.Kind != "beacon" || !e.Valid {
					continue
				}
				rc, err := c.Beacon(ctx, e.BeaconID)
				if err != nil {
					t.Fatalf("receipt of beacon %s: %v", e.BeaconID, err)
				}
				for _, wv := range rc.Witnesses {
					if wv.Valid {
						found = true
					}
				}
			}
		}
		if !found {
			t.Fatal("no valid beacon receipt on chain has a valid witness")
		}
	})

	t.Run("dishonest hotspots' witnesses invalid with the right reason", func(t *testing.T) {
		n := 0
		for _, x := range all {
			if x.h.Kind != world.KindDishonest {
				continue
			}
			dist := radio.Distance(x.h.Lat, x.h.Lng, x.h.AssertedLat, x.h.AssertedLng, 0)
			want := "witness_rssi_too_high"
			if dist > float64(params.MaxWitnessDistanceM) {
				want = "witness_too_far"
			}
			poc, err := c.HotspotPoC(ctx, x.addr, 200)
			if err != nil {
				t.Fatal(err)
			}
			right := 0
			for _, e := range poc.Entries {
				if e.Kind != "witness" {
					continue
				}
				if e.Valid {
					t.Errorf("dishonest %s (%.0f km off): a valid witness of %s at %d", x.h.Name, dist/1000, e.Beaconer, e.Height)
				}
				if e.Reason == want {
					right++
				}
			}
			t.Logf("dishonest %s asserts %.0f km away: %d of %d PoC entries invalid as %s", x.h.Name, dist/1000, right, len(poc.Entries), want)
			if right == 0 {
				t.Errorf("dishonest %s: no witness invalid as %s: %+v", x.h.Name, want, poc.Entries)
			}
			n++
		}
		if n == 0 {
			t.Fatal("the world has no dishonest hotspot")
		}
	})

	// The last ended epoch.
	head, err := c.LatestBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	epoch := uint64(head.Height)/params.EpochBlocks - 1
	if uint64(head.Height)%params.EpochBlocks == 0 {
		epoch++
	}
	rewards := map[identity.Address]*client.Reward{}
	for _, x := range all {
		rw, err := c.Rewards(ctx, x.addr, epoch)
		if errors.Is(err, client.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rewards[x.addr] = rw
	}

	t.Run("epoch rewards minted with the exact emission", func(t *testing.T) {
		ep, err := c.Epoch(ctx, epoch)
		if err != nil {
			t.Fatal(err)
		}
		// The genesis schedule plus what the previous epoch could not
		// allocate (chain/rewards carries it forward).
		want := emission(t, cfg.Dir, epoch)
		if epoch > 1 {
			prev, err := c.Epoch(ctx, epoch-1)
			if err != nil {
				t.Fatal(err)
			}
			want += prev.UnallocatedUHXP
		}
		if ep.EmissionUHXP != want || ep.MintedUHXP+ep.UnallocatedUHXP != want {
			t.Fatalf("epoch %d: emission %d minted %d unallocated %d, want emission %d", epoch, ep.EmissionUHXP, ep.MintedUHXP, ep.UnallocatedUHXP, want)
		}
		var paid uint64
		for _, rw := range rewards {
			paid += rw.Total
		}
		accts, err := c.AccountRewards(ctx, epoch)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range accts {
			paid += a.Amount
		}
		if paid != ep.MintedUHXP {
			t.Fatalf("epoch %d: hotspot + account rewards %d != minted %d (%+v)", epoch, paid, ep.MintedUHXP, ep)
		}
		if ep.BeaconPaid == 0 || ep.WitnessPaid == 0 {
			t.Fatalf("epoch %d paid no PoC: %+v", epoch, ep)
		}
	})

	t.Run("crowded hex earns less per beacon than lone hotspots", func(t *testing.T) {
		var crowded, lone []float64
		for _, x := range all {
			rw := rewards[x.addr]
			if rw == nil || rw.Beacons == 0 || x.h.Kind != world.KindHonest {
				continue
			}
			per := float64(rw.Beacon) / float64(rw.Beacons)
			if x.h.Cluster > 0 {
				if rw.Scale >= client.UnitOne {
					t.Errorf("%s in cluster %d has hex scale %d, want < %d", x.h.Name, x.h.Cluster, rw.Scale, client.UnitOne)
				}
				crowded = append(crowded, per)
			} else {
				lone = append(lone, per)
			}
		}
		if len(crowded) == 0 || len(lone) == 0 {
			t.Fatalf("epoch %d: beaconing crowded %d, lone %d", epoch, len(crowded), len(lone))
		}
		maxCrowded, meanLone := 0.0, 0.0
		for _, v := range crowded {
			maxCrowded = math.Max(maxCrowded, v)
		}
		for _, v := range lone {
			meanLone += v / float64(len(lone))
		}
		t.Logf("epoch %d: per-beacon reward crowded max %.0f, lone mean %.0f", epoch, maxCrowded, meanLone)
		if maxCrowded >= meanLone {
			t.Fatalf("crowded hotspots earn up to %.0f per beacon, lone ones %.0f on average", maxCrowded, meanLone)
		}
	})

	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	t.Run("DC moves from the OUIs' escrow to hotspots through vouchers", func(t *testing.T) {
		for _, co := range w.Companies {
			oui := d.OUI(co.Name)
			// The escrow at one height, and the burns and claims indexed up
			// to that height: escrow = burned - claimed, to the DC.
			var o *client.OUI
			var at int64
			// The application's own committed height (a block can be in
			// the block store before the application committed it).
			appHeight := func() int64 {
				info, err := c.RPC().ABCIInfo(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return info.Response.LastBlockHeight
			}
			for {
				h1 := appHeight()
				var err error
				if o, err = c.OUI(ctx, oui); err != nil {
					t.Fatal(err)
				}
				if h2 := appHeight(); h1 == h2 {
					at = h1
					break
				}
			}
			waitFor(t, "the indexer reaches the escrow's height", 30*time.Second, func() (bool, string) {
				var h int64
				err := pool.QueryRow(ctx, `SELECT coalesce(max(height), 0) FROM blocks`).Scan(&h)
				return err == nil && h >= at, fmt.Sprint(h, err)
			})
			// Vouchers are cumulative per (hotspot, epoch): what a hotspot
			// got for an epoch is its highest claimed voucher.
			var burned, claimed int64
			if err := pool.QueryRow(ctx, `SELECT coalesce(sum(dc),0) FROM dc_burns WHERE oui = $1 AND height <= $2`, int64(oui), at).Scan(&burned); err != nil {
				t.Fatal(err)
			}
			if err := pool.QueryRow(ctx, `SELECT coalesce(sum(m),0) FROM (SELECT max(dc) m FROM voucher_claims WHERE oui = $1 AND height <= $2 GROUP BY hotspot, epoch) x`, int64(oui), at).Scan(&claimed); err != nil {
				t.Fatal(err)
			}
			promised := d.RouterPromised(co.Name)
			t.Logf("OUI %d (%s): burned %d DC into escrow, claimed %d, escrow now %d, router promised %d", oui, co.Name, burned, claimed, o.EscrowDC, promised)
			if claimed == 0 || burned == 0 || uint64(claimed) > promised {
				t.Errorf("OUI %d: burned %d claimed %d promised %d", oui, burned, claimed, promised)
			}
			if o.EscrowDC != uint64(burned-claimed) {
				t.Errorf("OUI %d at height %d: escrow %d, burned %d - claimed %d = %d", oui, at, o.EscrowDC, burned, claimed, burned-claimed)
			}
		}
	})

	t.Run("explorer API shows it", func(t *testing.T) {
		var epochs struct {
			Epochs []explorer.EpochInfo `json:"epochs"`
		}
		var s explorer.Status
		waitFor(t, "the explorer indexed the epoch", 30*time.Second, func() (bool, string) {
			getJSON(t, ep.Explorer+"/api/v1/status", &s)
			return s.LastEpoch != nil && *s.LastEpoch >= int64(epoch), fmt.Sprintf("indexed height %d", s.IndexedHeight)
		})
		if s.Hotspots != int64(len(w.Hotspots)) || s.Beacons == 0 || s.LastEpoch == nil || *s.LastEpoch < int64(epoch) || s.ChainID != d.ChainID() {
			t.Fatalf("explorer status %+v (last epoch %v)", s, s.LastEpoch)
		}
		getJSON(t, ep.Explorer+"/api/v1/epochs", &epochs)
		found := false
		for _, e := range epochs.Epochs {
			if e.Epoch == int64(epoch) {
				ce, err := c.Epoch(ctx, epoch)
				found = err == nil && e.Emission == int64(ce.EmissionUHXP) && e.EndHeight == ce.EndHeight
			}
		}
		if !found {
			t.Fatalf("explorer epochs lack epoch %d with the chain's emission", epoch)
		}
		var ouis struct {
			OUIs []explorer.OUI `json:"ouis"`
		}
		getJSON(t, ep.Explorer+"/api/v1/ouis", &ouis)
		used := int64(0)
		for _, o := range ouis.OUIs {
			used += o.UsedDC
		}
		if len(ouis.OUIs) != len(w.Companies) || used == 0 {
			t.Fatalf("explorer OUIs %+v", ouis)
		}
		for _, x := range all {
			if x.h.Kind != world.KindDishonest {
				continue
			}
			var det explorer.HotspotDetail
			getJSON(t, ep.Explorer+"/api/v1/hotspots/"+x.addr.String(), &det)
			if len(det.Witnessed) == 0 {
				t.Fatalf("explorer shows no witness reports of dishonest %s: %+v", x.h.Name, det)
			}
			for _, wr := range det.Witnessed {
				if wr.Valid || wr.Reason == "" {
					t.Fatalf("explorer: dishonest %s witness %+v", x.h.Name, wr)
				}
			}
		}
	})
}
