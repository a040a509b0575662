package vgw

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

// EUI is the gateway EUI of a hotspot's virtual gateways: the first eight
// bytes of SHA-256("hexproof/gateway-eui/v1" || public key). It is stable,
// so the LNS keeps the gateway's history across router restarts.
func EUI(hotspot [32]byte) uint64 {
	h := sha256.New()
	h.Write([]byte("hexproof/gateway-eui/v1"))
	h.Write(hotspot[:])
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// Handler receives the LNS's downlinks.
type Handler interface {
	// PullResp is called from the gateway's read loop; it must not block.
	PullResp(g *Gateway, token uint16, dl Downlink, received time.Time)
}

// Config tunes the gateways.
type Config struct {
	// Keepalive is the PULL_DATA period (lora_pkt_fwd's default is 10 s).
	Keepalive time.Duration
	// Stat is the period of the stat PUSH_DATA (lora_pkt_fwd: 30 s).
	Stat time.Duration
	// Idle closes a gateway without uplinks for this long.
	Idle time.Duration
}

type key struct {
	hotspot [32]byte
	lns     string
}

// Manager owns the gateways.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	handler Handler
	onCount func(int)

	mu     sync.Mutex
	gws    map[key]*Gateway
	closed bool
	wg     sync.WaitGroup
}

// New returns a manager; onCount (may be nil) gets the number of open
// gateways whenever it changes.
func New(cfg Config, logger *slog.Logger, h Handler, onCount func(int)) *Manager {
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = 10 * time.Second
	}
	if cfg.Stat <= 0 {
		cfg.Stat = 30 * time.Second
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 10 * time.Minute
	}
	if onCount == nil {
		onCount = func(int) {}
	}
	return &Manager{cfg: cfg, log: logger, handler: h, onCount: onCount, gws: map[key]*Gateway{}}
}

// ErrClosed is returned by Get after Run ended.
var ErrClosed = errors.New("virtual gateways closed")

// Get returns the hotspot's gateway towards lns (host:port), opening it
// (socket, first PULL_DATA, read loop) if needed.
func (m *Manager) Get(hotspot [32]byte, lns string) (*Gateway, error) {
	k := key{hotspot, lns}
	m.mu.Lock()
	if g := m.gws[k]; g != nil {
		m.mu.Unlock()
		return g, nil
	}
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	m.mu.Unlock()

	addr, err := net.ResolveUDPAddr("udp", lns)
	if err != nil {
		return nil, fmt.Errorf("resolve lns %s: %w", lns, err)
	}
	conn, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		return nil, fmt.Errorf("open gateway socket to %s: %w", lns, err)
	}
	g := &Gateway{m: m, k: k, conn: conn, eui: EUI(hotspot), Hotspot: hotspot, LNS: lns}
	binary.BigEndian.PutUint64(g.gwID[:], g.eui)
	g.lastUp.Store(time.Now().UnixNano())

	m.mu.Lock()
	if other := m.gws[k]; other != nil || m.closed {
		m.mu.Unlock()
		conn.Close()
		if other != nil {
			return other, nil
		}
		return nil, ErrClosed
	}
	m.gws[k] = g
	n := len(m.gws)
	m.wg.Add(1)
	m.mu.Unlock()
	m.onCount(n)

	g.pullData()
	go func() {
		defer m.wg.Done()
		g.readLoop()
	}()
	m.log.Debug("virtual gateway opened", "gateway_eui", fmt.Sprintf("%016x", g.eui), "lns", lns, "local", conn.LocalAddr().String())
	return g, nil
}

// Run keeps the gateways alive until ctx ends, then closes them all.
func (m *Manager) Run(ctx context.Context) error {
	keep := time.NewTicker(m.cfg.Keepalive)
	defer keep.Stop()
	stat := time.NewTicker(m.cfg.Stat)
	defer stat.Stop()
	for {
		select {
		case <-ctx.Done():
			m.mu.Lock()
			m.closed = true
			all := m.gws
			m.gws = map[key]*Gateway{}
			m.mu.Unlock()
			for _, g := range all {
				g.conn.Close()
			}
			m.wg.Wait()
			m.onCount(0)
			return nil
		case now := <-keep.C:
			for _, g := range m.snapshot() {
				if now.Sub(time.Unix(0, g.lastUp.Load())) > m.cfg.Idle {
					m.remove(g)
					continue
				}
				g.pullData()
			}
		case now := <-stat.C:
			for _, g := range m.snapshot() {
				g.sendStat(now)
			}
		}
	}
}

func (m *Manager) snapshot() []*Gateway {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Gateway, 0, len(m.gws))
	for _, g := range m.gws {
		out = append(out, g)
	}
	return out
}

func (m *Manager) remove(g *Gateway) {
	m.mu.Lock()
	if m.gws[g.k] == g {
		delete(m.gws, g.k)
	}
	n := len(m.gws)
	m.mu.Unlock()
	g.conn.Close()
	m.onCount(n)
	m.log.Debug("virtual gateway closed (idle)", "gateway_eui", fmt.Sprintf("%016x", g.eui), "lns", g.LNS)
}

// Gateway is one virtual gateway: one hotspot towards one LNS.
type Gateway struct {
	m       *Manager
	k       key
	conn    *net.UDPConn
	eui     uint64
	gwID    gwmp.EUI64 // eui as sent on the wire
	Hotspot [32]byte
	LNS     string

	token  atomic.Uint32
	lastUp atomic.Int64 // unix nanos of the last uplink
	rxNb   atomic.Uint32
	txNb   atomic.Uint32
	dwNb   atomic.Uint32

	mu sync.Mutex
	// recent covers more than the longest RX window (16 s) at the
	// per-hotspot rate limit (25/s would need 400; 256 covers 10 s).
	recent [256]recentUp
	next   int
}

type recentUp struct {
	tmst uint32
	key  string
	set  bool
}

// EUI returns the gateway EUI.
func (g *Gateway) EUI() uint64 { return g.eui }

// LocalAddr is the gateway socket's address (tests).
func (g *Gateway) LocalAddr() net.Addr { return g.conn.LocalAddr() }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Push sends one uplink to the LNS. frameKey identifies the frame so a
// downlink for it can be matched later (FindUplink).
func (g *Gateway) Push(rx gwmp.RXPK, frameKey string) error {
	g.lastUp.Store(time.Now().UnixNano())
	g.rxNb.Add(1)
	g.mu.Lock()
	g.recent[g.next] = recentUp{tmst: rx.Tmst, key: frameKey, set: true}
	g.next = (g.next + 1) % len(g.recent)
	g.mu.Unlock()

	bp := bufPool.Get().(*[]byte)
	p := gwmp.PushData{Version: gwmp.Version2, Token: uint16(g.token.Add(1)), GatewayID: g.gwID,
		Payload: gwmp.PushDataPayload{RXPK: []gwmp.RXPK{rx}}}
	b, err := p.AppendBinary((*bp)[:0])
	if err != nil {
		bufPool.Put(bp)
		return fmt.Errorf("encode push data: %w", err)
	}
	_, err = g.conn.Write(b)
	*bp = b
	bufPool.Put(bp)
	if err != nil {
		return fmt.Errorf("push data to %s: %w", g.LNS, err)
	}
	return nil
}

// FindUplink finds the recent uplink a downlink scheduled at txTmst
// answers: the LNS schedules RX windows a whole number of seconds (1 to
// 16) after the uplink's tmst. It returns the frame key and that delay.
func (g *Gateway) FindUplink(txTmst uint32) (string, uint32, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := 1; i <= len(g.recent); i++ {
		r := g.recent[(g.next-i+len(g.recent))%len(g.recent)]
		if !r.set {
			break
		}
		d := txTmst - r.tmst
		if d >= 1_000_000 && d <= 16_000_000 && d%1_000_000 == 0 {
			return r.key, d, true
		}
	}
	return "", 0, false
}

// TxAck reports a downlink's fate to the LNS; errStr is a gwmp.TxAck* value.
func (g *Gateway) TxAck(token uint16, errStr string) error {
	if errStr == gwmp.TxAckNone {
		g.txNb.Add(1)
	}
	var buf [96]byte
	b, err := gwmp.NewTxAck(token, g.gwID, errStr).AppendBinary(buf[:0])
	if err != nil {
		return fmt.Errorf("encode tx ack: %w", err)
	}
	_, err = g.conn.Write(b)
	return err
}

func (g *Gateway) pullData() {
	var buf [12]byte
	b, _ := gwmp.PullData{Version: gwmp.Version2, Token: uint16(g.token.Add(1)), GatewayID: g.gwID}.AppendBinary(buf[:0])
	if _, err := g.conn.Write(b); err != nil {
		g.m.log.Debug("pull data", "lns", g.LNS, "err", err)
	}
}

func (g *Gateway) sendStat(now time.Time) {
	rx := g.rxNb.Swap(0)
	ackr := 100.0
	st := &gwmp.Stat{Time: gwmp.StatTime(now), RXNb: rx, RXOK: rx, RXFW: rx, ACKR: &ackr, DWNb: g.dwNb.Swap(0), TXNb: g.txNb.Swap(0)}
	b, err := gwmp.PushData{Version: gwmp.Version2, Token: uint16(g.token.Add(1)), GatewayID: g.gwID,
		Payload: gwmp.PushDataPayload{Stat: st}}.MarshalBinary()
	if err != nil {
		g.m.log.Error("encode stat", "err", err)
		return
	}
	if _, err := g.conn.Write(b); err != nil {
		g.m.log.Debug("stat", "lns", g.LNS, "err", err)
	}
}

func (g *Gateway) readLoop() {
	buf := make([]byte, 65535)
	for {
		n, err := g.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// ICMP port unreachable while the LNS is down: keep reading.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		now := time.Now()
		h, err := gwmp.ParseHeader(buf[:n])
		if err != nil {
			g.m.log.Debug("bad datagram from lns", "lns", g.LNS, "err", err)
			continue
		}
		switch h.Type {
		case gwmp.TypePushAck, gwmp.TypePullAck:
		case gwmp.TypePullResp:
			token, dl, err := ParsePullResp(buf[:n])
			if err != nil {
				g.m.log.Warn("bad PULL_RESP from lns", "lns", g.LNS, "err", err)
				continue
			}
			g.dwNb.Add(1)
			g.m.handler.PullResp(g, token, dl, now)
		}
	}
}
