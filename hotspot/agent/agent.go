package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"golang.org/x/sync/errgroup"

	"github.com/hexproof/hexproof/hotspot/backoff"
	"github.com/hexproof/hexproof/hotspot/bridgemqtt"
	"github.com/hexproof/hexproof/hotspot/frame"
	"github.com/hexproof/hexproof/hotspot/oracleconn"
	"github.com/hexproof/hexproof/hotspot/poc"
	"github.com/hexproof/hexproof/hotspot/queue"
	"github.com/hexproof/hexproof/hotspot/radio"
	"github.com/hexproof/hexproof/hotspot/routerconn"
	"github.com/hexproof/hexproof/hotspot/routing"
	"github.com/hexproof/hexproof/hotspot/status"
	"github.com/hexproof/hexproof/hotspot/vouchers"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Chain is everything the agent reads from or sends to the chain.
type Chain interface {
	ChainID(ctx context.Context) (string, error)
	poc.Chain
	routing.Source
	vouchers.Chain
	// Hotspot returns the on-chain record; Onboarded is false when the
	// chain does not know the hotspot.
	Hotspot(ctx context.Context, addr identity.Address) (status.Hotspot, error)
	Rewards(ctx context.Context, addr identity.Address) ([]status.Reward, error)
	PocHistory(ctx context.Context, addr identity.Address, limit int) ([]status.PocEntry, error)
}

// Config of the agent.
type Config struct {
	Key     *identity.Key
	Version string
	// DataDir holds the queues, voucher store, routing cache and state.
	DataDir string
	// ChainID, when set, is used instead of asking the chain.
	ChainID string
	Bridge  bridgemqtt.Config
	// Oracles are PocIngestService endpoints; every report goes to each.
	Oracles []string
	// QueueSize bounds each oracle's outbox (records).
	QueueSize int
	// VoucherMax bounds the voucher store.
	VoucherMax int
	// Region and GainDdbi override the asserted site when Region is set
	// (for gateways whose assertion is pending, and for tests).
	Region   hexproofv1.Region
	GainDdbi int32

	RoutingRefresh time.Duration
	PocPoll        time.Duration
	// BeaconRetry is the pause after a beacon the gateway did not send.
	BeaconRetry   time.Duration
	InfoRefresh   time.Duration
	ClaimInterval time.Duration
	// DownlinkAckTimeout is how long the bridge has to ack a downlink.
	DownlinkAckTimeout time.Duration
	// UplinkBuffer bounds uplinks waiting to be routed.
	UplinkBuffer int
}

func (c *Config) defaults() {
	if c.QueueSize <= 0 {
		c.QueueSize = 10000
	}
	if c.VoucherMax <= 0 {
		c.VoucherMax = 10000
	}
	if c.RoutingRefresh <= 0 {
		c.RoutingRefresh = 5 * time.Minute
	}
	if c.PocPoll <= 0 {
		c.PocPoll = 5 * time.Second
	}
	if c.InfoRefresh <= 0 {
		c.InfoRefresh = time.Minute
	}
	if c.ClaimInterval <= 0 {
		c.ClaimInterval = 5 * time.Minute
	}
	if c.DownlinkAckTimeout <= 0 {
		c.DownlinkAckTimeout = 10 * time.Second
	}
	if c.UplinkBuffer <= 0 {
		c.UplinkBuffer = 1024
	}
}

// Agent is the hotspot agent.
type Agent struct {
	cfg      Config
	log      *slog.Logger
	chain    Chain
	statusLn net.Listener

	bridge   *bridgemqtt.Client
	routes   *routing.Cache
	routersP atomic.Pointer[routerconn.Pool]
	poc      *poc.Engine
	senders  []*oracleconn.Sender
	vouch    *vouchers.Store

	chainID atomic.Value // string
	upCh    chan *gw.UplinkFrame
	witCh   chan witness
	seq     atomic.Uint64
	dlID    atomic.Uint32

	pmu     sync.Mutex
	pending map[uint32]*pendingDownlink

	smu       sync.Mutex
	hotspot   status.Hotspot
	rewards   []status.Reward
	history   []status.PocEntry
	chainOK   bool
	chainErr  string
	chainLast time.Time

	ctr counters
}

type counters struct {
	uplinks, crcFailed, forwarded, unroutable, dropped, beaconsHeard atomic.Uint64
	downlinks, downlinksOK, ackTimeouts, vouchersOK, vouchersBad     atomic.Uint64
}

type witness struct {
	payload []byte
	meta    *hexproofv1.RadioMeta
}

type pendingDownlink struct {
	router   string
	routerID uint64
	result   chan *gw.DownlinkTxAck
	timer    *time.Timer
}

// New builds the agent. statusLn (may be nil) serves the status API.
func New(cfg Config, log *slog.Logger, chain Chain, statusLn net.Listener) (*Agent, error) {
	cfg.defaults()
	if cfg.Key == nil {
		return nil, errors.New("hotspot key missing; run `hotspot keys generate --key PATH` and pass --key")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("data directory is empty; set --data-dir")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	a := &Agent{
		cfg: cfg, log: log, chain: chain, statusLn: statusLn,
		upCh: make(chan *gw.UplinkFrame, cfg.UplinkBuffer), witCh: make(chan witness, 64),
		pending: map[uint32]*pendingDownlink{},
	}
	a.chainID.Store(cfg.ChainID)
	var err error
	if a.bridge, err = bridgemqtt.New(cfg.Bridge, log.With("component", "bridge"), bridgeHandler{a}); err != nil {
		return nil, err
	}
	if a.routes, err = routing.NewCache(filepath.Join(cfg.DataDir, "routing.json"), chain, cfg.RoutingRefresh, log.With("component", "routing")); err != nil {
		return nil, err
	}
	for _, ep := range cfg.Oracles {
		q, err := queue.Open(filepath.Join(cfg.DataDir, "queue", "oracle-"+dirName(ep)), cfg.QueueSize)
		if err != nil {
			return nil, err
		}
		s, err := oracleconn.New(ep, q, log.With("component", "oracle"))
		if err != nil {
			return nil, err
		}
		a.senders = append(a.senders, s)
	}
	if a.vouch, err = vouchers.Open(filepath.Join(cfg.DataDir, "vouchers"), cfg.VoucherMax); err != nil {
		return nil, err
	}
	a.poc, err = poc.New(poc.Config{Key: cfg.Key, StatePath: filepath.Join(cfg.DataDir, "beacon-state.json"), PollInterval: cfg.PocPoll, RetryDelay: cfg.BeaconRetry},
		log.With("component", "poc"), chain, a.site, a, a,
		poc.Encoder{Beacon: oracleconn.EncodeBeacon, Witness: oracleconn.EncodeWitness})
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(cfg.DataDir, "hotspot.json")); err == nil {
		if err := json.Unmarshal(b, &a.hotspot); err != nil {
			// Only a cache of the chain's answer: the next refresh rewrites it.
			log.Warn("ignoring unreadable hotspot cache", "path", filepath.Join(cfg.DataDir, "hotspot.json"), "err", err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(cfg.DataDir, "chain-id")); err == nil && cfg.ChainID == "" {
		a.chainID.Store(strings.TrimSpace(string(b)))
	}
	return a, nil
}

// dirName makes an endpoint safe as a directory name, keeping it readable.
func dirName(ep string) string {
	var b strings.Builder
	for _, r := range ep {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	h := sha256.Sum256([]byte(ep))
	return b.String() + "-" + hex.EncodeToString(h[:4])
}

// ChainID returns the chain id in use ("" until known).
func (a *Agent) ChainID() string { s, _ := a.chainID.Load().(string); return s }

// routers is the router pool; it exists once Run has started.
func (a *Agent) routers() *routerconn.Pool { return a.routersP.Load() }

// Run runs the agent until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.resolveChainID(ctx); err != nil {
		return err
	}
	a.routersP.Store(routerconn.New(routerconn.Config{Key: a.cfg.Key, ChainID: a.ChainID(), AgentVersion: a.cfg.Version},
		a.log.With("component", "router"), routerHandler{a}))
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.bridge.Run(ctx) })
	g.Go(func() error { return a.routes.Run(ctx) })
	g.Go(func() error { return a.routers().Run(ctx) })
	g.Go(func() error { a.syncRouters(ctx); return nil })
	g.Go(func() error { return a.poc.Run(ctx) })
	g.Go(func() error { a.uplinkLoop(ctx); return nil })
	g.Go(func() error { a.witnessLoop(ctx); return nil })
	g.Go(func() error { a.infoLoop(ctx); return nil })
	g.Go(func() error {
		return vouchers.Run(ctx, a.vouch, a.chain, a.cfg.ClaimInterval, a.log.With("component", "vouchers"))
	})
	for _, s := range a.senders {
		g.Go(func() error { return s.Run(ctx) })
	}
	if a.statusLn != nil {
		srv := status.New(a.statusLn, a.Status, a.Metrics, a.log)
		g.Go(func() error { return srv.Run(ctx) })
	}
	if len(a.senders) == 0 {
		a.log.Warn("no oracle configured: beacon and witness reports will be discarded (set --oracle)")
	}
	a.log.Info("hotspot agent running", "address", a.cfg.Key.Address().String(), "chain_id", a.ChainID(), "oracles", len(a.senders))
	return g.Wait()
}

// resolveChainID asks the chain when the id is neither configured nor
// remembered; the answer is remembered so a restart during a chain outage
// still opens router sessions.
func (a *Agent) resolveChainID(ctx context.Context) error {
	if a.ChainID() != "" {
		return nil
	}
	bo := backoff.Backoff{Min: time.Second, Max: 30 * time.Second}
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		id, err := a.chain.ChainID(cctx)
		cancel()
		if err == nil && id != "" {
			a.chainID.Store(id)
			if err := queue.WriteFileSync(filepath.Join(a.cfg.DataDir, "chain-id"), []byte(id+"\n"), 0o600); err != nil {
				a.log.Warn("remember chain id", "err", err)
			}
			return nil
		}
		a.log.Warn("waiting for the chain to learn its chain id (or set --chain-id)", "err", err)
		if !bo.Sleep(ctx) {
			return ctx.Err()
		}
	}
}

func (a *Agent) syncRouters(ctx context.Context) {
	for {
		seen := map[string]bool{}
		var peers []routerconn.Peer
		for _, o := range a.routes.Table().OUIs() {
			for _, r := range o.Config.GetRouters() {
				if !seen[r.GetEndpoint()] {
					seen[r.GetEndpoint()] = true
					peers = append(peers, routerconn.Peer{Endpoint: r.GetEndpoint(), PublicKey: r.GetPublicKey()})
				}
			}
		}
		a.routers().Sync(peers)
		select {
		case <-ctx.Done():
			return
		case <-a.routes.Changed():
		}
	}
}

type bridgeHandler struct{ a *Agent }

func (h bridgeHandler) Uplink(f *gw.UplinkFrame) {
	select {
	case h.a.upCh <- f:
	default:
		h.a.ctr.uplinks.Add(1)
		h.a.ctr.dropped.Add(1)
	}
}

func (h bridgeHandler) TxAck(ack *gw.DownlinkTxAck) { h.a.onAck(ack) }

func (a *Agent) uplinkLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-a.upCh:
			a.handleUplink(f)
		}
	}
}

func (a *Agent) handleUplink(f *gw.UplinkFrame) {
	a.ctr.uplinks.Add(1)
	if radio.CRCFailed(f) {
		a.ctr.crcFailed.Add(1)
		return
	}
	site, _ := a.site()
	meta, ok := radio.UplinkMeta(f, site.Region, uint64(time.Now().UnixMilli()))
	if !ok {
		a.ctr.unroutable.Add(1)
		return
	}
	info, err := frame.Classify(f.GetPhyPayload())
	if err != nil {
		a.ctr.unroutable.Add(1)
		return
	}
	if info.Kind == frame.Beacon {
		a.ctr.beaconsHeard.Add(1)
		select {
		case a.witCh <- witness{payload: info.Payload, meta: meta}:
		default:
			a.log.Warn("witness backlog full; beacon dropped")
		}
		return
	}
	routes := a.routes.Table().Lookup(info)
	if len(routes) == 0 {
		a.ctr.unroutable.Add(1)
		return
	}
	up := &hexproofv1.Uplink{Hotspot: a.cfg.Key.PublicKey(), PhyPayload: f.GetPhyPayload(), Radio: meta, Seq: a.seq.Add(1)}
	if err := a.cfg.Key.SignMessage(identity.DomainUplink, up); err != nil {
		a.log.Error("sign uplink", "err", err)
		return
	}
	sent := false
	for _, r := range routes {
		ep := a.pickRouter(r)
		if ep == "" {
			continue
		}
		if err := a.routers().SendUplink(ep, up); err != nil {
			a.log.Debug("uplink not sent", "oui", r.OUI, "err", err)
			continue
		}
		sent = true
	}
	if sent {
		a.ctr.forwarded.Add(1)
	} else {
		a.ctr.dropped.Add(1)
	}
}

// pickRouter sends an OUI's frame to one of its routers: the first with a
// live session, so a down router's OUI still gets its packets.
func (a *Agent) pickRouter(r routing.Route) string {
	for _, rt := range r.Routers {
		if a.routers().Connected(rt.GetEndpoint()) {
			return rt.GetEndpoint()
		}
	}
	if len(r.Routers) > 0 {
		return r.Routers[0].GetEndpoint()
	}
	return ""
}

func (a *Agent) witnessLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-a.witCh:
			if _, err := a.poc.Heard(w.payload, w.meta); err != nil {
				a.log.Error("witness report", "err", err)
			}
		}
	}
}

// Enqueue stores a report record in every oracle's outbox (poc.Sink).
func (a *Agent) Enqueue(kind string, rec []byte) error {
	if len(a.senders) == 0 {
		a.log.Warn("no oracle configured; report discarded (set --oracle)", "kind", kind)
		return nil
	}
	var errs []error
	for _, s := range a.senders {
		if err := s.Queue().Put(rec); err != nil {
			errs = append(errs, fmt.Errorf("queue %s report for %s: %w", kind, s.Endpoint(), err))
		}
	}
	return errors.Join(errs...)
}

type routerHandler struct{ a *Agent }

func (h routerHandler) Downlink(from routerconn.Peer, d *hexproofv1.Downlink) {
	h.a.onDownlink(from, d)
}

func (h routerHandler) Voucher(from routerconn.Peer, v *hexproofv1.Voucher) {
	a := h.a
	if err := vouchers.Verify(v, from.PublicKey, a.cfg.Key.PublicKey(), a.ChainID()); err != nil {
		a.ctr.vouchersBad.Add(1)
		a.log.Warn("rejecting voucher", "router", from.Endpoint, "err", err)
		return
	}
	if _, err := a.vouch.Put(v); err != nil {
		a.log.Error("store voucher", "err", err)
		return
	}
	a.ctr.vouchersOK.Add(1)
}

func (a *Agent) onDownlink(from routerconn.Peer, d *hexproofv1.Downlink) {
	a.ctr.downlinks.Add(1)
	ack := func(s hexproofv1.TxAckStatus) {
		if err := a.routers().SendTxAck(from.Endpoint, &hexproofv1.TxAck{DownlinkId: d.GetId(), Status: s}); err != nil {
			a.log.Debug("tx ack not sent", "err", err)
		}
	}
	var items []*gw.DownlinkFrameItem
	for _, w := range []*hexproofv1.DownlinkWindow{d.GetRx1(), d.GetRx2()} {
		if w == nil {
			continue
		}
		it, err := radio.DownlinkItem(d.GetPhyPayload(), w)
		if err != nil {
			a.log.Warn("bad downlink window from router", "router", from.Endpoint, "err", err)
			continue
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		ack(hexproofv1.TxAckStatus_TX_ACK_STATUS_INTERNAL_ERROR)
		return
	}
	id, p := a.addPending(from.Endpoint, d.GetId(), nil)
	if err := a.bridge.SendDownlink(context.Background(), &gw.DownlinkFrame{DownlinkId: id, Items: items}); err != nil {
		a.log.Warn("downlink to bridge", "err", err)
		if a.takePending(id) == p {
			ack(hexproofv1.TxAckStatus_TX_ACK_STATUS_INTERNAL_ERROR)
		}
	}
}

func (a *Agent) addPending(router string, routerID uint64, result chan *gw.DownlinkTxAck) (uint32, *pendingDownlink) {
	id := a.dlID.Add(1)
	if id == 0 {
		id = a.dlID.Add(1)
	}
	p := &pendingDownlink{router: router, routerID: routerID, result: result}
	a.pmu.Lock()
	defer a.pmu.Unlock()
	a.pending[id] = p
	p.timer = time.AfterFunc(a.cfg.DownlinkAckTimeout, func() {
		if a.takePending(id) != p {
			return
		}
		a.ctr.ackTimeouts.Add(1)
		if p.result != nil {
			p.result <- nil // Transmit reports the timeout
			return
		}
		if p.router != "" {
			if err := a.routers().SendTxAck(p.router, &hexproofv1.TxAck{DownlinkId: p.routerID, Status: hexproofv1.TxAckStatus_TX_ACK_STATUS_TIMEOUT}); err != nil {
				a.log.Debug("tx ack timeout not reported to router", "router", p.router, "err", err)
			}
		}
	})
	return id, p
}

func (a *Agent) takePending(id uint32) *pendingDownlink {
	a.pmu.Lock()
	defer a.pmu.Unlock()
	p := a.pending[id]
	delete(a.pending, id)
	if p != nil && p.timer != nil {
		p.timer.Stop()
	}
	return p
}

func (a *Agent) onAck(ack *gw.DownlinkTxAck) {
	p := a.takePending(ack.GetDownlinkId())
	if p == nil {
		return
	}
	if p.result != nil {
		p.result <- ack
		return
	}
	s, w := radio.AckResult(ack)
	if s == hexproofv1.TxAckStatus_TX_ACK_STATUS_OK {
		a.ctr.downlinksOK.Add(1)
	}
	if err := a.routers().SendTxAck(p.router, &hexproofv1.TxAck{DownlinkId: p.routerID, Status: s, Window: w}); err != nil {
		a.log.Debug("tx ack not sent", "err", err)
	}
}

// Transmit sends one frame through the bridge and waits for its ack
// (poc.Transmitter).
func (a *Agent) Transmit(ctx context.Context, phy []byte, w *hexproofv1.DownlinkWindow) (hexproofv1.TxAckStatus, error) {
	it, err := radio.DownlinkItem(phy, w)
	if err != nil {
		return 0, err
	}
	res := make(chan *gw.DownlinkTxAck, 1)
	id, _ := a.addPending("", 0, res)
	if err := a.bridge.SendDownlink(ctx, &gw.DownlinkFrame{DownlinkId: id, Items: []*gw.DownlinkFrameItem{it}}); err != nil {
		a.takePending(id)
		return 0, err
	}
	// The bridge's ack, or nil from the pending entry's timer.
	select {
	case ack := <-res:
		if ack == nil {
			return hexproofv1.TxAckStatus_TX_ACK_STATUS_TIMEOUT, nil
		}
		s, _ := radio.AckResult(ack)
		return s, nil
	case <-ctx.Done():
		a.takePending(id)
		return 0, ctx.Err()
	}
}

// site is where the hotspot radiates: the configured override, else the
// asserted on-chain site.
func (a *Agent) site() (poc.Site, bool) {
	a.smu.Lock()
	h := a.hotspot
	a.smu.Unlock()
	if a.cfg.Region != hexproofv1.Region_REGION_UNSPECIFIED {
		return poc.Site{Region: a.cfg.Region, GainDdbi: a.cfg.GainDdbi, LastBeaconHeight: h.LastBeaconHeight}, true
	}
	r, ok := ParseRegion(h.Region)
	if !h.Onboarded || h.Location == "" || !ok {
		return poc.Site{}, false
	}
	return poc.Site{Region: r, GainDdbi: h.GainDdbi, DataOnly: h.Mode == "data_only", LastBeaconHeight: h.LastBeaconHeight}, true
}

// ParseRegion parses "EU868" (or "REGION_EU868").
func ParseRegion(s string) (hexproofv1.Region, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(s, "REGION_") {
		s = "REGION_" + s
	}
	v, ok := hexproofv1.Region_value[s]
	if !ok || v == 0 {
		return 0, false
	}
	return hexproofv1.Region(v), true
}

func (a *Agent) infoLoop(ctx context.Context) {
	addr := a.cfg.Key.Address()
	for {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		h, err := a.chain.Hotspot(cctx, addr)
		var rw []status.Reward
		var hist []status.PocEntry
		if err == nil && h.Onboarded {
			// Rewards and history are views; their failure is not an outage.
			rw, _ = a.chain.Rewards(cctx, addr)
			hist, _ = a.chain.PocHistory(cctx, addr, 20)
		}
		cancel()
		a.smu.Lock()
		a.chainOK = err == nil
		if err != nil {
			a.chainErr = err.Error()
		} else {
			a.chainErr, a.chainLast = "", time.Now()
			changed := a.hotspot != h
			a.hotspot, a.rewards, a.history = h, rw, hist
			if changed {
				if b, err := json.Marshal(h); err == nil {
					if err := queue.WriteFileSync(filepath.Join(a.cfg.DataDir, "hotspot.json"), b, 0o600); err != nil {
						a.log.Warn("write hotspot cache", "err", err)
					}
				}
			}
		}
		a.smu.Unlock()
		t := time.NewTimer(a.cfg.InfoRefresh)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Status builds the /status document.
func (a *Agent) Status() status.Status {
	ps := a.poc.Snapshot()
	st := status.Status{
		Version: a.cfg.Version, Address: a.cfg.Key.Address().String(), Now: time.Now(),
		Bridge: status.Bridge{GatewayID: a.bridge.GatewayID(), MQTTConnected: a.bridge.Connected(), BridgeOnline: a.bridge.BridgeOnline(), LastEvent: a.bridge.LastEvent()},
		PoC:    ps,
		Packets: status.Packets{Uplinks: a.ctr.uplinks.Load(), CRCFailed: a.ctr.crcFailed.Load(), Forwarded: a.ctr.forwarded.Load(),
			Unroutable: a.ctr.unroutable.Load(), Dropped: a.ctr.dropped.Load(), Beacons: a.ctr.beaconsHeard.Load(),
			Downlinks: a.ctr.downlinks.Load(), DownlinksOK: a.ctr.downlinksOK.Load()},
		Queues:  status.Queues{Oracles: map[string]int{}, Vouchers: a.vouch.Len()},
		Routing: status.Routing{OUIs: a.routes.Table().Len(), Refreshed: a.routes.Refreshed()},
	}
	if r := a.routersP.Load(); r != nil {
		st.Routers = r.Status()
	}
	for _, s := range a.senders {
		ost := s.Status()
		st.Oracles = append(st.Oracles, ost)
		st.Queues.Oracles[s.Endpoint()] = ost.Queued
	}
	a.smu.Lock()
	h := a.hotspot
	st.Hotspot = &h
	st.Rewards, st.History = a.rewards, a.history
	st.Chain = status.Chain{Connected: a.chainOK && ps.ChainOK, ChainID: a.ChainID(), Height: ps.Height, LastOK: a.chainLast, LastError: a.chainErr}
	a.smu.Unlock()
	return st
}

// Metrics returns the /metrics samples.
func (a *Agent) Metrics() []status.Metric {
	var ms []status.Metric
	counter := func(name, help string, v uint64) {
		ms = append(ms, status.Metric{Name: "hotspot_" + name, Help: help, Type: "counter", Value: float64(v)})
	}
	gauge := func(name, help, labels string, v float64) {
		ms = append(ms, status.Metric{Name: "hotspot_" + name, Help: help, Type: "gauge", Labels: labels, Value: v})
	}
	c := &a.ctr
	counter("uplinks_total", "Uplinks received from the bridge.", c.uplinks.Load())
	counter("uplinks_crc_failed_total", "Uplinks dropped for a bad CRC.", c.crcFailed.Load())
	counter("uplinks_forwarded_total", "Uplinks sent to at least one router.", c.forwarded.Load())
	counter("uplinks_unroutable_total", "Uplinks no OUI wants (or malformed).", c.unroutable.Load())
	counter("uplinks_dropped_total", "Routable uplinks not sent (router down or slow, backlog full).", c.dropped.Load())
	counter("beacons_heard_total", "Beacon frames received.", c.beaconsHeard.Load())
	counter("downlinks_total", "Downlinks received from routers.", c.downlinks.Load())
	counter("downlinks_ok_total", "Downlinks the gateway transmitted.", c.downlinksOK.Load())
	counter("downlink_ack_timeouts_total", "Downlinks the bridge never acked.", c.ackTimeouts.Load())
	counter("vouchers_total", "Valid vouchers received.", c.vouchersOK.Load())
	counter("vouchers_invalid_total", "Invalid vouchers rejected.", c.vouchersBad.Load())
	pc := a.poc.Snapshot().Counters
	counter("beacons_sent_total", "Beacons transmitted with a good ack.", pc.Beacons)
	counter("beacon_failures_total", "Beacons the gateway did not transmit.", pc.BeaconFailures)
	counter("witness_reports_total", "Witness reports queued.", pc.Witnesses)
	gauge("mqtt_connected", "1 when the MQTT broker connection is up.", "", b2f(a.bridge.Connected()))
	gauge("bridge_online", "1 when the bridge reports its gateway online.", "", b2f(a.bridge.BridgeOnline()))
	if p := a.routers(); p != nil {
		for _, r := range p.Status() {
			gauge("router_connected", "1 when the router session is up.", status.Label("router", r.Endpoint), b2f(r.Connected))
		}
	}
	for _, s := range a.senders {
		gauge("oracle_queue_depth", "Reports waiting for the oracle.", status.Label("oracle", s.Endpoint()), float64(s.Queue().Len()))
	}
	gauge("voucher_store_depth", "Vouchers waiting to be claimed.", "", float64(a.vouch.Len()))
	gauge("routing_ouis", "OUIs in the cached routing table.", "", float64(a.routes.Table().Len()))
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	ms = append(ms,
		status.Metric{Name: "go_goroutines", Help: "Goroutines.", Type: "gauge", Value: float64(runtime.NumGoroutine())},
		status.Metric{Name: "go_memstats_heap_inuse_bytes", Help: "Heap bytes in use.", Type: "gauge", Value: float64(mem.HeapInuse)},
		status.Metric{Name: "go_memstats_sys_bytes", Help: "Bytes obtained from the OS.", Type: "gauge", Value: float64(mem.Sys)})
	return ms
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
