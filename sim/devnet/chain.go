package devnet

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/uber/h3-go/v4"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/app"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/node"
	"github.com/hexproof/hexproof/hotspot/agent"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/sim/world"
)

// PriceUUSD is the devnet's HXP price (micro-USD): the genesis price and
// the centre of the oracle's simulated feed.
const PriceUUSD = 1_000_000

// Funding of the devnet's accounts (micro-HXP).
const (
	companyFundUHXP = 5_000 * 1_000_000
	escrowBurnUHXP  = 2_000 * 1_000_000
	oracleFundUHXP  = 1_000 * 1_000_000
	// perHotspotUHXP pays the hotspot add and assert fees (5,000,000 DC at
	// about $1 per HXP) with room for the price to move.
	perHotspotUHXP = 60 * 1_000_000
)

// ChainParams are the devnet's chain parameters for cfg.
func ChainParams(cfg Config) client.Params {
	p := app.DevnetParams()
	p.EpochBlocks = cfg.EpochBlocks
	p.BeaconIntervalBlocks = cfg.BeaconIntervalBlocks
	if v := 4 * cfg.BeaconIntervalBlocks; p.EntropyValidityBlocks < v {
		p.EntropyValidityBlocks = v
	}
	return p
}

func (d *Devnet) chainHome() string { return d.path("chain") }

// prepareChain creates the validators' homes on a new devnet.
func (d *Devnet) prepareChain(st *state, reused bool) error {
	if !reused {
		st.ChainID = "hexproof-devnet-" + randomHex(3)
		base, err := freeBase(d.cfg.Validators, time.Now().UnixNano())
		if err != nil {
			return err
		}
		p := ChainParams(d.cfg)
		if _, err := node.Testnet(node.TestnetOptions{Out: d.chainHome(), ChainID: st.ChainID, Validators: d.cfg.Validators,
			BasePort: base, TimeoutCommit: d.cfg.BlockTime, Params: &p, PriceUUSD: PriceUUSD}); err != nil {
			return fmt.Errorf("create the validators: %w", err)
		}
		st.BasePort, st.Validators = base, d.cfg.Validators
	} else if st.Validators != d.cfg.Validators {
		d.log.Warn("the devnet keeps the validators it was created with", "validators", st.Validators, "asked", d.cfg.Validators)
	}
	d.mu.Lock()
	d.chainID = st.ChainID
	d.rpcs = nil
	for i := range st.Validators {
		d.rpcs = append(d.rpcs, fmt.Sprintf("http://127.0.0.1:%d", st.BasePort+10*i+1))
	}
	d.mu.Unlock()
	c, err := client.New(d.rpcs[0])
	if err != nil {
		return err
	}
	d.chain = c
	return nil
}

func (d *Devnet) chainArgv() ([]string, error) {
	return binaryArgv(d.cfg.ChainCommand, "chain")
}

// binaryArgv is how to run one of the project's binaries: the configured
// command, else the binary next to the devnet's (bin/chain, bin/router),
// else the devnet binary's own command of that name.
func binaryArgv(configured []string, name string) ([]string, error) {
	if len(configured) > 0 {
		return append([]string(nil), configured...), nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the %s binary: %w (set --%s-command)", name, err, name)
	}
	if bin := filepath.Join(filepath.Dir(exe), name); fileExists(bin) {
		return []string{bin}, nil
	}
	return []string{exe, name}, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func (d *Devnet) startValidators(ctx context.Context, g *errgroup.Group, st *state) error {
	argv, err := d.chainArgv()
	if err != nil {
		return err
	}
	priceURL := fmt.Sprintf("http://127.0.0.1:%d/api/v1/price", st.OracleHTTP)
	for i := range st.Validators {
		home := filepath.Join(d.chainHome(), fmt.Sprintf("node%d", i))
		v := &process{name: fmt.Sprintf("validator %d", i), logPath: filepath.Join(home, "node.log"), env: d.cfg.ChainEnv, log: d.log,
			argv: append(append([]string(nil), argv...), "start", "--home", home, "--price-url", priceURL, "--price-poll", "2s",
				"--snapshot-interval", "0", "--log-format", "json", "--log-level", "info")}
		d.validators = append(d.validators, v)
		g.Go(func() error { return v.Run(ctx) })
	}
	d.progress("validators started", "count", st.Validators, "command", argv[0], "logs", filepath.Join(d.chainHome(), "node*/node.log"))
	return nil
}

// waitChain waits for blocks to be committed.
func (d *Devnet) waitChain(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		b, err := d.chain.LatestBlock(cctx)
		cancel()
		if err == nil && b.Height >= 2 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the validators made no blocks within 90 s (last error: %v); see %s", err, filepath.Join(d.chainHome(), "node0/node.log"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// RPCClient returns a chain client of validator i.
func (d *Devnet) RPCClient(i int) (*client.Client, error) {
	return client.New(d.rpcs[i%len(d.rpcs)])
}

func keyFile(path string) (*identity.Key, error) {
	k, _, err := identity.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return k, nil
}

// HotspotKey is the identity of a world hotspot.
func HotspotKey(h world.Hotspot) (*identity.Key, error) {
	seed, err := hex.DecodeString(h.KeySeed)
	if err != nil {
		return nil, fmt.Errorf("hotspot %s key seed: %w", h.Name, err)
	}
	return identity.KeyFromSeed(seed)
}

// Cell is the res-12 H3 cell of a position, as the chain stores it.
func Cell(lat, lng float64) (uint64, error) {
	c, err := h3.LatLngToCell(h3.NewLatLng(lat, lng), 12)
	if err != nil {
		return 0, err
	}
	return uint64(c), nil
}

// send signs and broadcasts payload; a refusal is an error.
func send(ctx context.Context, s *client.Signer, p proto.Message, wait bool) (*client.TxResult, error) {
	res, err := s.Send(ctx, p, wait)
	if err != nil {
		return nil, fmt.Errorf("%T: %w", p, err)
	}
	if res.Code != client.CodeOK {
		return nil, fmt.Errorf("%T refused: code %d: %s", p, res.Code, res.Log)
	}
	return res, nil
}

func waitAll(ctx context.Context, c *client.Client, rs []*client.TxResult) error {
	for _, r := range rs {
		res, err := c.WaitTx(ctx, r.Hash)
		if err != nil {
			return fmt.Errorf("wait for tx %s: %w", r.Hash, err)
		}
		if res.Code != client.CodeOK {
			return fmt.Errorf("tx %s failed: code %d: %s", r.Hash, res.Code, res.Log)
		}
	}
	return nil
}

// setupChain funds the accounts, registers the companies' OUIs with their
// routers and DC escrow, and onboards and asserts every hotspot.
func (d *Devnet) setupChain(ctx context.Context, st *state, routerKeys map[string]*identity.Key) error {
	c := d.chain
	w := d.world
	faucetKey, err := identity.LoadKeyFile(filepath.Join(d.chainHome(), "keys", "faucet.json"))
	if err != nil {
		return fmt.Errorf("faucet key: %w", err)
	}
	owner, err := keyFile(d.path("keys", "owner.json"))
	if err != nil {
		return err
	}
	oracleKey, err := keyFile(d.path("keys", "oracle.json"))
	if err != nil {
		return err
	}
	faucet := c.NewSigner(faucetKey, 0)
	var pending []*client.TxResult
	transfer := func(to *identity.Key, amount uint64) error {
		r, err := send(ctx, faucet, &hexproofv1.Transfer{To: to.PublicKey(), Amount: amount}, false)
		if err == nil {
			pending = append(pending, r)
		}
		return err
	}
	if err := transfer(owner, uint64(len(w.Hotspots))*perHotspotUHXP+1_000_000_000); err != nil {
		return err
	}
	if err := transfer(oracleKey, oracleFundUHXP); err != nil {
		return err
	}
	companies := map[string]*identity.Key{}
	for _, co := range w.Companies {
		k, err := keyFile(d.path("keys", "company-"+co.Name+".json"))
		if err != nil {
			return err
		}
		companies[co.Name] = k
		if err := transfer(k, companyFundUHXP); err != nil {
			return err
		}
	}
	if err := waitAll(ctx, c, pending[len(pending)-1:]); err != nil {
		return err
	}
	d.progress("accounts funded", "owner", owner.Address(), "companies", len(companies))

	// DC for the owner's onboarding fees; OUIs.
	pending = pending[:0]
	ownerS := c.NewSigner(owner, 0)
	r, err := send(ctx, ownerS, &hexproofv1.BurnForDc{Amount: uint64(len(w.Hotspots)) * perHotspotUHXP, Target: &hexproofv1.BurnForDc_Account{Account: owner.PublicKey()}}, false)
	if err != nil {
		return err
	}
	pending = append(pending, r)
	signers := map[string]*client.Signer{}
	for _, co := range w.Companies {
		cfg, err := ouiConfig(co, companies[co.Name], routerKeys[co.Name], st.Routers[co.Name])
		if err != nil {
			return err
		}
		s := c.NewSigner(companies[co.Name], 0)
		signers[co.Name] = s
		r, err := send(ctx, s, &hexproofv1.OuiCreate{Config: cfg}, false)
		if err != nil {
			return fmt.Errorf("company %s: %w", co.Name, err)
		}
		pending = append(pending, r)
	}
	if err := waitAll(ctx, c, pending); err != nil {
		return err
	}
	ouis, err := c.OUIs(ctx)
	if err != nil {
		return fmt.Errorf("read the OUIs: %w", err)
	}
	pending = pending[:0]
	for _, co := range w.Companies {
		for _, o := range ouis {
			if o.Owner == companies[co.Name].Address() {
				st.OUIs[co.Name] = o.OUI
			}
		}
		n, ok := st.OUIs[co.Name]
		if !ok {
			return fmt.Errorf("company %s: its OUI is not on chain", co.Name)
		}
		r, err := send(ctx, signers[co.Name], &hexproofv1.BurnForDc{Amount: escrowBurnUHXP, Target: &hexproofv1.BurnForDc_Oui{Oui: n}}, false)
		if err != nil {
			return fmt.Errorf("company %s escrow: %w", co.Name, err)
		}
		pending = append(pending, r)
	}
	if err := waitAll(ctx, c, pending); err != nil {
		return err
	}
	d.progress("OUIs registered", "ouis", fmt.Sprint(st.OUIs))

	// Hotspots: add + assert, all from the owner's account.
	region, ok := agent.ParseRegion(w.City.Region)
	if !ok {
		return fmt.Errorf("world region %q is not a known LoRaWAN region", w.City.Region)
	}
	var last *client.TxResult
	for i, h := range w.Hotspots {
		hk, err := HotspotKey(h)
		if err != nil {
			return err
		}
		mode := hexproofv1.HotspotMode_HOTSPOT_MODE_FULL
		if h.Mode == world.ModeDataOnly {
			mode = hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY
		}
		add, err := client.SignHotspotAdd(hk, st.ChainID, owner.Address(), mode)
		if err != nil {
			return err
		}
		if _, err := send(ctx, ownerS, add, false); err != nil {
			return fmt.Errorf("hotspot %s: %w", h.Name, err)
		}
		cell, err := Cell(h.AssertedLat, h.AssertedLng)
		if err != nil {
			return fmt.Errorf("hotspot %s location: %w", h.Name, err)
		}
		if last, err = send(ctx, ownerS, &hexproofv1.AssertLocation{Hotspot: hk.PublicKey(), Location: cell, GainDdbi: h.GainDdbi(),
			ElevationM: int32(h.HeightM), Region: region}, false); err != nil {
			return fmt.Errorf("hotspot %s: %w", h.Name, err)
		}
		if (i+1)%50 == 0 {
			d.progress("onboarding hotspots", "sent", i+1, "of", len(w.Hotspots))
		}
	}
	if err := waitAll(ctx, c, []*client.TxResult{last}); err != nil {
		return err
	}
	hs, err := c.HotspotsByOwner(ctx, owner.Address())
	if err != nil {
		return fmt.Errorf("read the onboarded hotspots: %w", err)
	}
	asserted := 0
	for _, h := range hs {
		if h.Location != 0 {
			asserted++
		}
	}
	if asserted != len(w.Hotspots) {
		return fmt.Errorf("%d of %d hotspots onboarded and asserted", asserted, len(w.Hotspots))
	}
	d.progress("hotspots onboarded and asserted", "count", asserted)
	return nil
}

func ouiConfig(co world.Company, owner, router *identity.Key, routerPort int) (*hexproofv1.OuiConfig, error) {
	netID, err := strconv.ParseUint(co.NetID, 16, 32)
	if err != nil {
		return nil, fmt.Errorf("company %s net id %q: %w", co.Name, co.NetID, err)
	}
	start, err := client.ParseDevAddr(co.DevAddrStart)
	if err != nil {
		return nil, fmt.Errorf("company %s dev addr start: %w", co.Name, err)
	}
	join, err := client.ParseEUI(co.JoinEUI)
	if err != nil {
		return nil, fmt.Errorf("company %s join eui: %w", co.Name, err)
	}
	if co.DevAddrCount == 0 {
		return nil, errors.New("company " + co.Name + " has no DevAddr range")
	}
	return &hexproofv1.OuiConfig{
		Payer: owner.PublicKey(), NetId: uint32(netID),
		DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: start, End: start + co.DevAddrCount - 1}},
		EuiPairs:      []*hexproofv1.EuiPair{{JoinEui: join, DevEui: 0}},
		Routers:       []*hexproofv1.RouterEndpoint{{Endpoint: fmt.Sprintf("127.0.0.1:%d", routerPort), PublicKey: router.PublicKey()}},
		MaxCopies:     3,
	}, nil
}
