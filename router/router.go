package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/chainview"
	"github.com/hexproof/hexproof/router/dc"
	"github.com/hexproof/hexproof/router/dedup"
	"github.com/hexproof/hexproof/router/metrics"
	"github.com/hexproof/hexproof/router/route"
	"github.com/hexproof/hexproof/router/stream"
	"github.com/hexproof/hexproof/router/verify"
	"github.com/hexproof/hexproof/router/vgw"
)

// Deps are what a Router needs besides its Config.
type Deps struct {
	// Key is the router's identity; it signs challenges' answers and
	// vouchers.
	Key *identity.Key
	// Chain is where chain data comes from.
	Chain chainview.Source
	// Listener is where the gRPC service listens (tests pass 127.0.0.1:0).
	Listener net.Listener
	// MetricsListener serves /metrics when not nil.
	MetricsListener net.Listener
	// Registry receives the metrics (a new one when nil).
	Registry *prometheus.Registry
}

// state is what the latest chain refresh implies for routing.
type state struct {
	chainID string
	epoch   uint64
	table   *route.Table
	ouis    []uint64
}

// Router is the packet router.
type Router struct {
	cfg   Config
	log   *slog.Logger
	deps  Deps
	key   *identity.Key
	m     *metrics.Metrics
	reg   *prometheus.Registry
	view  *chainview.View
	meter *dc.Meter
	dedup *dedup.Cache
	keys  *verify.Keys
	batch *verify.Batcher
	gws   *vgw.Manager
	srv   *stream.Server
	grpc  *grpc.Server
	st    atomic.Pointer[state]

	ouiLabels sync.Map // uint64 -> string

	downID  atomic.Uint64
	downMu  sync.Mutex
	pending map[uint64]*pendingDown

	signedMu sync.Mutex
	signed   map[[32]byte]map[dc.Key]*hexproofv1.Voucher
}

type pendingDown struct {
	gw      *vgw.Gateway
	token   uint16
	target  [32]byte
	hasRX2  bool
	created time.Time
	last    hexproofv1.TxAckStatus
}

// New builds a router; it opens the voucher counters file but starts
// nothing.
func New(cfg Config, logger *slog.Logger, deps Deps) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Key == nil || deps.Chain == nil || deps.Listener == nil {
		return nil, errors.New("router: Key, Chain and Listener are required")
	}
	meter, err := dc.Open(cfg.VoucherFile())
	if err != nil {
		return nil, err
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	r := &Router{
		cfg: cfg, log: logger, deps: deps, key: deps.Key, m: metrics.New(reg), reg: reg, meter: meter,
		dedup:   dedup.New(dedup.Config{Window: cfg.DedupWindow, TTL: cfg.DedupTTL, MaxEntries: cfg.DedupMaxEntries}),
		keys:    verify.NewKeys(2 * max(cfg.MaxStreams, 1000)),
		pending: map[uint64]*pendingDown{},
		signed:  map[[32]byte]map[dc.Key]*hexproofv1.Voucher{},
	}
	r.batch = verify.NewBatcher(r.keys, 0)
	r.view = chainview.New(chainview.Config{OUIs: cfg.OUIs, RouterKey: deps.Key.PublicKey(), Refresh: cfg.ChainRefresh}, deps.Chain, logger, r.applySnapshot)
	r.gws = vgw.New(vgw.Config{Keepalive: cfg.Keepalive, Idle: cfg.GatewayIdle}, logger, r, func(n int) { r.m.VirtualGateways.Set(float64(n)) })
	scfg := stream.Config{MaxStreams: cfg.MaxStreams, MaxMessageBytes: cfg.MaxMessageBytes, RatePerSecond: cfg.RateLimit, RateBurst: cfg.RateBurst}
	r.srv = stream.New(scfg, deps.Key, r, r, logger, r.m)
	opts := stream.ServerOptions(scfg)
	if cfg.TLSCert != "" {
		creds, err := credentials.NewServerTLSFromFile(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		opts = append(opts, grpc.Creds(creds))
	}
	r.grpc = grpc.NewServer(opts...)
	hexproofv1.RegisterRouterServiceServer(r.grpc, r.srv)
	return r, nil
}

// Addr is the gRPC listener's address.
func (r *Router) Addr() net.Addr { return r.deps.Listener.Addr() }

// Metrics returns the router's metrics (tests and benchmarks read them).
func (r *Router) Metrics() *metrics.Metrics { return r.m }

// Meter returns the DC meter.
func (r *Router) Meter() *dc.Meter { return r.meter }

// Run serves until ctx ends, then stops the streams, closes the virtual
// gateways and persists and signs the last vouchers.
func (r *Router) Run(ctx context.Context) error {
	// A first synchronous refresh so the router can accept sessions at
	// once when the chain is up; Run keeps retrying when it is not.
	if err := r.view.Refresh(ctx); err != nil {
		r.log.Warn("chain not reachable at start; refusing sessions until it is", "err", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return r.view.Run(gctx) })
	g.Go(func() error { return r.gws.Run(gctx) })
	g.Go(func() error { return r.batch.Run(gctx) })
	g.Go(func() error {
		if err := r.grpc.Serve(r.deps.Listener); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("serve grpc: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		r.grpc.Stop()
		return nil
	})
	g.Go(func() error { return r.voucherLoop(gctx) })
	g.Go(func() error { return r.sweepLoop(gctx) })
	g.Go(func() error { return r.claimsLoop(gctx) })
	if ml := r.deps.MetricsListener; ml != nil {
		hs := &http.Server{Handler: r.metricsMux(), ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := hs.Serve(ml); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve metrics: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			return hs.Close()
		})
	}
	r.log.Info("router running", "listen", r.Addr().String(), "router", r.key.Address().String(), "ouis", fmt.Sprint(r.cfg.OUIs))
	err := g.Wait()
	if ferr := r.flushVouchers(); ferr != nil {
		err = errors.Join(err, ferr)
	}
	r.log.Info("router stopped", "err", err)
	return err
}

func (r *Router) metricsMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if r.st.Load() == nil {
			http.Error(w, "no chain data yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// applySnapshot installs a chain refresh: routes, escrow, epoch.
func (r *Router) applySnapshot(s *chainview.Snapshot) {
	var ouis []route.OUI
	var ids []uint64
	for _, o := range s.OUIs {
		if _, ok := r.cfg.LNS[o.ID]; !ok {
			continue
		}
		ouis = append(ouis, route.OUI{ID: o.ID, Config: o.Config})
		ids = append(ids, o.ID)
		r.meter.SetEscrow(o.ID, o.EscrowDC)
	}
	prev := r.st.Load()
	r.st.Store(&state{chainID: s.Status.ChainID, epoch: s.Status.Epoch, table: route.NewTable(ouis), ouis: ids})
	if prev != nil && prev.epoch != s.Status.Epoch {
		r.log.Info("new epoch", "epoch", s.Status.Epoch)
	}
}

// Admit implements stream.Admitter.
func (r *Router) Admit(ctx context.Context, init *hexproofv1.SessionInit) ([]uint64, error) {
	st := r.st.Load()
	if st == nil {
		return nil, &stream.Refusal{Label: "chain_unavailable", Code: codes.Unavailable, Reason: "router has no chain data yet (its chain node is unreachable); retry in a minute"}
	}
	if init.GetChainId() != st.chainID {
		return nil, &stream.Refusal{Label: "chain_id", Code: codes.FailedPrecondition,
			Reason: fmt.Sprintf("hotspot is on chain %q but this router serves chain %q; fix the hotspot's chain id or router address", init.GetChainId(), st.chainID)}
	}
	_, found, err := r.view.Hotspot(ctx, init.GetHotspot())
	if err != nil {
		return nil, &stream.Refusal{Label: "chain_unavailable", Code: codes.Unavailable, Reason: "router cannot reach the chain to check the hotspot; retry in a minute"}
	}
	if !found {
		a, _ := identity.AddressFromBytes(init.GetHotspot())
		return nil, &stream.Refusal{Label: "not_onboarded", Code: codes.PermissionDenied,
			Reason: fmt.Sprintf("hotspot %s is not onboarded on chain %s; onboard it (HotspotAdd) and reconnect", a, st.chainID)}
	}
	return st.ouis, nil
}

// Opened implements stream.Handler: resend the hotspot's latest vouchers.
func (r *Router) Opened(s *stream.Session) {
	r.signedMu.Lock()
	var vs []*hexproofv1.Voucher
	for _, v := range r.signed[s.Hotspot] {
		vs = append(vs, v)
	}
	r.signedMu.Unlock()
	if len(vs) == 0 {
		// After a restart: sign what was persisted.
		st := r.st.Load()
		if st == nil {
			return
		}
		for _, c := range r.meter.Persisted(s.Hotspot) {
			if v := r.signVoucher(st.chainID, c); v != nil {
				vs = append(vs, v)
			}
		}
	}
	for _, v := range vs {
		s.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Voucher{Voucher: v}})
	}
}

// Closed implements stream.Handler: forget what only a live session needs.
func (r *Router) Closed(s *stream.Session) {
	if r.srv.Session(s.Hotspot) != nil {
		return // a newer session of the hotspot is live
	}
	r.keys.Forget(s.Hotspot)
	r.signedMu.Lock()
	delete(r.signed, s.Hotspot)
	r.signedMu.Unlock()
}

func (r *Router) drop(reason string) {
	r.m.UplinksDropped.WithLabelValues(reason).Inc()
}

// Uplink implements stream.Handler: route, dedup, verify, pay, deliver.
func (r *Router) Uplink(s *stream.Session, up *hexproofv1.Uplink, received time.Time) {
	if reason := r.uplink(s.Hotspot, up, received, &s.Region); reason != "" {
		r.drop(reason)
	}
}

// uplink handles one uplink and returns why it was not bought ("" when it
// was). region (nil in tests) gets the region of a verified uplink before
// it is delivered, so the downlink answering it finds it.
func (r *Router) uplink(hotspot [32]byte, up *hexproofv1.Uplink, received time.Time, region *atomic.Int32) string {
	st := r.st.Load()
	if st == nil {
		return "no_chain_data"
	}
	if !bytes.Equal(up.GetHotspot(), hotspot[:]) {
		return "hotspot_mismatch"
	}
	radio := up.GetRadio()
	if radio == nil {
		return "bad_uplink"
	}
	f, err := route.Parse(up.GetPhyPayload())
	if err != nil {
		return labelOf(err)
	}
	oui, err := st.table.Lookup(f)
	if err != nil {
		return labelOf(err)
	}
	ocfg := st.table.Config(oui)
	maxCopies := max(1, int(ocfg.GetMaxCopies()))
	key := string(up.GetPhyPayload())
	cp := dedup.Copy{Hotspot: hotspot, RSSI: radio.GetRssiDbm(), SNR: radio.GetSnrCb(), Tmst: radio.GetTmst()}
	// Copies that can't be bought nor improve the downlink are dropped
	// before the (costly) signature check: they change nothing.
	if matters, why := r.dedup.Matters(key, cp, maxCopies, received); !matters {
		return why.String()
	}
	if !r.batch.Uplink(hotspot, up) {
		return "bad_signature"
	}
	if region != nil {
		region.Store(int32(radio.GetRegion()))
	}
	outcome, _ := r.dedup.Offer(key, cp, maxCopies, received)
	if outcome != dedup.Buy {
		return outcome.String()
	}
	gw, err := r.gws.Get(hotspot, r.cfg.LNS[oui])
	if err != nil {
		r.dedup.Unbuy(key, hotspot)
		r.log.Warn("virtual gateway", "err", err)
		return "lns_unreachable"
	}
	cost := dc.Cost(len(up.GetPhyPayload()), f.Kind == route.KindJoin, ocfg.GetFreeJoins())
	epoch := max(st.epoch, r.meter.MaxEpoch())
	if err := r.meter.Buy(dc.Key{OUI: oui, Hotspot: hotspot, Epoch: epoch}, cost); err != nil {
		r.dedup.Unbuy(key, hotspot)
		return labelOf(err)
	}
	lsnr := float64(radio.GetSnrCb()) / 10
	rx := gwmp.RXPK{
		Tmst: radio.GetTmst(), Freq: float64(radio.GetFrequencyHz()) / 1e6, Stat: 1, Modu: "LORA",
		DatR: gwmp.DatR{LoRa: radio.GetDatarate()}, CodR: "4/5", RSSI: clampInt16(radio.GetRssiDbm()), LSNR: &lsnr,
		Size: uint16(len(up.GetPhyPayload())), Data: up.GetPhyPayload(),
	}
	if ms := radio.GetReceivedAtMs(); ms > 0 {
		t := gwmp.CompactTime(time.UnixMilli(int64(ms)))
		rx.Time = &t
	}
	if err := gw.Push(rx, key); err != nil {
		// Paid but not delivered: the LNS was unreachable for one datagram.
		// The counter can't go back (a voucher may already carry it).
		r.log.Warn("deliver uplink", "err", err)
		return "lns_send_error"
	}
	r.m.UplinksBought.WithLabelValues(r.ouiLabel(oui)).Inc()
	if cost > 0 {
		r.m.DCPromised.WithLabelValues(r.ouiLabel(oui)).Add(float64(cost))
	}
	r.m.UplinkLatency.Observe(time.Since(received).Seconds())
	return ""
}

func labelOf(err error) string {
	for _, e := range []error{route.ErrBadFrame, route.ErrNotUplink, route.ErrUnsupported, route.ErrNoRoute, dc.ErrNoCredit, dc.ErrUnknownOUI} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "error"
}

func (r *Router) ouiLabel(oui uint64) string {
	if s, ok := r.ouiLabels.Load(oui); ok {
		return s.(string)
	}
	s := strconv.FormatUint(oui, 10)
	r.ouiLabels.Store(oui, s)
	return s
}

// clampInt16 fits a hotspot-reported RSSI into the rxpk's range (dBm
// values far outside it are nonsense anyway).
func clampInt16(v int32) int16 {
	return int16(min(max(v, math.MinInt16), math.MaxInt16))
}
