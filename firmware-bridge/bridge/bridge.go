package bridge

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/firmware-bridge/convert"
	"github.com/hexproof/hexproof/firmware-bridge/filter"
	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/firmware-bridge/metrics"
)

// Publisher is where events and states go (the MQTT integration). Both
// calls must not block.
type Publisher interface {
	PublishEvent(gatewayID, event string, msg proto.Message) bool
	SetGatewayState(gatewayID string, online bool)
}

// Config configures the bridge.
type Config struct {
	Workers       int           // datagram workers (default 2)
	QueueSize     int           // datagrams queued per worker (default 2048)
	GatewayExpiry time.Duration // forget a gateway's downlink path after this long without PULL_DATA
	TxAckTimeout  time.Duration // give up waiting for a TX_ACK after this long
	SkipCRCCheck  bool          // forward uplinks whose CRC is bad or absent
	Filter        filter.Filter
}

// Bridge is the UDP side.
type Bridge struct {
	cfg  Config
	log  *slog.Logger
	conn *net.UDPConn
	pub  Publisher
	m    *metrics.Metrics

	workers []chan datagram
	in, out [6]prometheus.Counter
	reg     registry
	down    scheduler
	limit   logLimiter
}

type datagram struct {
	b    []byte
	addr netip.AddrPort
}

// New builds a bridge on conn (which Run closes when it returns).
func New(cfg Config, logger *slog.Logger, conn *net.UDPConn, pub Publisher, m *metrics.Metrics) *Bridge {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 2048
	}
	if cfg.GatewayExpiry <= 0 {
		cfg.GatewayExpiry = 5 * time.Minute
	}
	if cfg.TxAckTimeout <= 0 {
		cfg.TxAckTimeout = 3 * time.Second
	}
	if m == nil {
		m = metrics.New()
	}
	b := &Bridge{cfg: cfg, log: logger, conn: conn, pub: pub, m: m}
	for t := gwmp.TypePushData; t <= gwmp.TypeTxAck; t++ {
		b.in[t] = m.UDPIn.WithLabelValues(t.String())
		b.out[t] = m.UDPOut.WithLabelValues(t.String())
	}
	b.reg.gws = map[gwmp.EUI64]*gateway{}
	b.down.pending = map[pendingKey]*downlink{}
	b.limit.last = map[string]time.Time{}
	b.limit.suppressed = map[string]int{}
	return b
}

// Run serves until ctx ends, then closes the socket, finishes the queued
// datagrams and reports every known gateway OFFLINE.
func (b *Bridge) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	b.workers = make([]chan datagram, b.cfg.Workers)
	for i := range b.workers {
		ch := make(chan datagram, b.cfg.QueueSize)
		b.workers[i] = ch
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range ch {
				b.handle(d)
			}
		}()
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		b.read()
	}()
	janitorDone := make(chan struct{})
	stopJanitor := make(chan struct{})
	go func() {
		defer close(janitorDone)
		b.janitor(stopJanitor)
	}()

	<-ctx.Done()
	b.conn.Close()
	<-readerDone
	for _, ch := range b.workers {
		close(ch)
	}
	wg.Wait()
	close(stopJanitor)
	<-janitorDone
	b.down.stopAll()
	for _, id := range b.reg.removeAll() {
		b.pub.SetGatewayState(id, false)
	}
	b.m.Gateways.Set(0)
	return nil
}

// read is the only reader of the socket; it copies each datagram out and
// hands it to a worker without ever waiting.
func (b *Bridge) read() {
	buf := make([]byte, 65536)
	n := uint32(len(b.workers))
	for {
		k, addr, err := b.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			b.logLimited("udp_read", "udp read", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if k > gwmp.MaxDatagram {
			b.m.ParseErrors.WithLabelValues("oversized").Inc()
			b.logLimited("oversized", "oversized datagram dropped", "addr", addr.String(), "bytes", k)
			continue
		}
		d := datagram{b: append(make([]byte, 0, k), buf[:k]...), addr: addr}
		w := b.workers[shard(addr)%n]
		select {
		case w <- d:
		default:
			b.m.UDPDropped.Inc()
			b.logLimited("udp_queue_full", "udp queue full, datagram dropped", "addr", addr.String())
		}
	}
}

func shard(a netip.AddrPort) uint32 {
	ip := a.Addr().As16()
	return uint32(a.Port())*31 + uint32(ip[15]) + uint32(ip[14])<<8
}

func (b *Bridge) send(addr netip.AddrPort, t gwmp.Type, p []byte) error {
	if _, err := b.conn.WriteToUDPAddrPort(p, addr); err != nil {
		b.logLimited("udp_write", "udp write", "addr", addr.String(), "type", t.String(), "err", err)
		return err
	}
	b.out[t].Inc()
	return nil
}

func (b *Bridge) parseError(d datagram, reason string, err error) {
	b.m.ParseErrors.WithLabelValues(reason).Inc()
	b.logLimited("parse_"+reason, "bad datagram", "addr", d.addr.String(), "reason", reason, "err", err, "bytes", len(d.b))
}

func (b *Bridge) handle(d datagram) {
	h, err := gwmp.ParseHeader(d.b)
	if err != nil {
		reason := "malformed"
		switch {
		case errors.Is(err, gwmp.ErrShort):
			reason = "truncated"
		case errors.Is(err, gwmp.ErrVersion):
			reason = "version"
		case errors.Is(err, gwmp.ErrUnknownType):
			reason = "unknown_type"
		case errors.Is(err, gwmp.ErrTooLarge):
			reason = "oversized"
		}
		b.parseError(d, reason, err)
		return
	}
	b.in[h.Type].Inc()
	switch h.Type {
	case gwmp.TypePushData:
		b.handlePushData(d)
	case gwmp.TypePullData:
		b.handlePullData(d)
	case gwmp.TypeTxAck:
		b.handleTxAck(d)
	default:
		b.parseError(d, "unexpected_type", errors.New("gateways send only push_data, pull_data and tx_ack; got "+h.Type.String()))
	}
}

func (b *Bridge) handlePushData(d datagram) {
	var p gwmp.PushData
	if err := p.UnmarshalBinary(d.b); err != nil {
		b.parseError(d, reasonOf(err), err)
		return
	}
	ack, _ := gwmp.Ack{Version: p.Version, Token: p.Token, Type: gwmp.TypePushAck}.MarshalBinary()
	_ = b.send(d.addr, gwmp.TypePushAck, ack) // logged and counted inside

	id := p.GatewayID.String()
	for i := range p.Payload.RXPK {
		rx := &p.Payload.RXPK[i]
		if !b.cfg.SkipCRCCheck && rx.Stat != 1 {
			b.m.UplinksDropped.WithLabelValues("crc").Inc()
			continue
		}
		if !b.cfg.Filter.Allow(rx.Data) {
			b.m.UplinksDropped.WithLabelValues("filter").Inc()
			continue
		}
		frames, err := convert.UplinkFrames(id, rx, rand.Uint32)
		if err != nil {
			b.m.UplinksDropped.WithLabelValues("invalid").Inc()
			b.logLimited("rxpk_invalid", "rxpk not forwarded", "gateway_id", id, "err", err)
			continue
		}
		for _, f := range frames {
			b.pub.PublishEvent(id, "up", f)
		}
	}
	if st := p.Payload.Stat; st != nil {
		b.pub.PublishEvent(id, "stats", convert.GatewayStats(id, st))
	}
}

func reasonOf(err error) string {
	if errors.Is(err, gwmp.ErrShort) {
		return "truncated"
	}
	return "malformed"
}

func (b *Bridge) handlePullData(d datagram) {
	var p gwmp.PullData
	if err := p.UnmarshalBinary(d.b); err != nil {
		b.parseError(d, reasonOf(err), err)
		return
	}
	ack, _ := gwmp.Ack{Version: p.Version, Token: p.Token, Type: gwmp.TypePullAck}.MarshalBinary()
	_ = b.send(d.addr, gwmp.TypePullAck, ack)
	id, isNew, moved := b.reg.pull(p.GatewayID, d.addr, p.Version, time.Now())
	if isNew {
		b.m.Gateways.Inc()
		b.log.Info("gateway online", "gateway_id", id, "addr", d.addr.String(), "protocol_version", p.Version)
		b.pub.SetGatewayState(id, true)
	} else if moved {
		b.log.Info("gateway address changed", "gateway_id", id, "addr", d.addr.String())
	}
}

// janitor expires gateways whose PULL_DATA stopped.
func (b *Bridge) janitor(stop <-chan struct{}) {
	every := min(max(b.cfg.GatewayExpiry/4, 10*time.Millisecond), 5*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			for _, id := range b.reg.expire(now.Add(-b.cfg.GatewayExpiry)) {
				b.m.Gateways.Dec()
				b.log.Info("gateway offline: no pull_data", "gateway_id", id, "expiry", b.cfg.GatewayExpiry.String())
				b.pub.SetGatewayState(id, false)
			}
		}
	}
}

// logLimiter lets one log line per key through every 10 seconds and
// counts the rest.
type logLimiter struct {
	mu         sync.Mutex
	last       map[string]time.Time
	suppressed map[string]int
}

const logEvery = 10 * time.Second

func (b *Bridge) logLimited(key, msg string, args ...any) {
	l := &b.limit
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.last[key]) < logEvery {
		l.suppressed[key]++
		l.mu.Unlock()
		return
	}
	l.last[key] = now
	n := l.suppressed[key]
	l.suppressed[key] = 0
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	b.log.Warn(msg, args...)
}

// GatewayAddr returns the downlink address of a gateway, if it is online.
func (b *Bridge) GatewayAddr(id gwmp.EUI64) (netip.AddrPort, bool) {
	g, ok := b.reg.get(id)
	return g.addr, ok
}

// publishAck sends the DownlinkTxAck of a finished downlink.
func (b *Bridge) publishAck(d *downlink) {
	items := make([]*gw.DownlinkTxAckItem, len(d.statuses))
	for i, s := range d.statuses {
		items[i] = &gw.DownlinkTxAckItem{Status: s}
		if s != gw.TxAckStatus_IGNORED {
			b.m.AckStatus.WithLabelValues(s.String()).Inc()
		}
	}
	b.pub.PublishEvent(d.id, "ack", &gw.DownlinkTxAck{
		GatewayId:        d.id,
		DownlinkId:       d.frame.DownlinkId,
		DownlinkIdLegacy: d.frame.DownlinkIdLegacy,
		Items:            items,
	})
}
