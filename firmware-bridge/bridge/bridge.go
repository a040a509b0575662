package bridge

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"
	"google.golang.org/protobuf/proto"

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
	pc      *ipv4.PacketConn // batch I/O (recvmmsg/sendmmsg) on IPv4 sockets; nil otherwise
	in, out [6]prometheus.Counter
	reg     registry
	down    scheduler
	stats   statsBook
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
	if isInet4(conn) {
		// Only on AF_INET: x/net's batch calls marshal IPv4 addresses,
		// which a dual-stack AF_INET6 socket would refuse.
		b.pc = ipv4.NewPacketConn(conn)
	}
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
			b.work(ch)
		}()
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		if b.pc != nil {
			b.readBatch()
		} else {
			b.read()
		}
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
		b.dispatch(buf[:k], addr, n)
	}
}

// dispatch copies a datagram and queues it for its worker, or drops it.
func (b *Bridge) dispatch(p []byte, addr netip.AddrPort, n uint32) {
	b.queue(datagram{b: append(make([]byte, 0, len(p)), p...), addr: addr}, n)
}

// queue hands a datagram (whose bytes it owns) to its worker, or drops it.
func (b *Bridge) queue(d datagram, n uint32) {
	addr := d.addr
	select {
	case b.workers[shard(addr)%n] <- d:
	default:
		b.m.UDPDropped.Inc()
		b.logLimited("udp_queue_full", "udp queue full, datagram dropped", "addr", addr.String())
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
			b.stats.tx(d.eui, d.frame.Items[i], s)
		}
	}
	b.pub.PublishEvent(d.id, "ack", &gw.DownlinkTxAck{
		GatewayId:        d.id,
		DownlinkId:       d.frame.DownlinkId,
		DownlinkIdLegacy: d.frame.DownlinkIdLegacy,
		Items:            items,
	})
}
