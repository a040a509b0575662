package pktfwd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hexproof/hexproof/sim/gwmp"
)

// Config configures one forwarder.
type Config struct {
	GatewayEUI gwmp.EUI
	// Server is the GWMP server's UDP address (host:port).
	Server string
	// KeepaliveInterval between PULL_DATA; lora_pkt_fwd's default is 10 s.
	KeepaliveInterval time.Duration
	// StatInterval between status reports in PUSH_DATA; 0 is 30 s, a
	// negative value sends none.
	StatInterval time.Duration
	// MinTxLead is how long before its transmit time a downlink must
	// arrive (lora_pkt_fwd's just-in-time queue needs a few ms); 0 is 20 ms.
	MinTxLead time.Duration
	// MaxTxLead is how far ahead a downlink may be scheduled; 0 is 10 s.
	MaxTxLead time.Duration
	// TxOutcome, when set, decides the TX_ACK outcome of each downlink
	// instead of the timing rules (gwmp.TxNone, gwmp.TxTooLate, ...).
	TxOutcome func(Downlink) string
	// Lat, Lng, Alt reported in the status, if set.
	Lat, Lng float64
	Alt      int
	// Clock, when set, replaces time.Now.
	Clock func() time.Time
}

// Uplink is a frame the radio heard, to be pushed up.
type Uplink struct {
	PHYPayload  []byte
	FrequencyHz uint64
	DataRate    string // "SF7BW125"
	CodingRate  string // "4/5" when empty
	RSSI        float64
	SNR         float64
	Channel     int
	RFChain     int
	// Tmst is the counter value at the end of reception; 0 means now.
	Tmst uint32
	// Time, when set, is sent as the GPS time of the frame.
	Time time.Time
}

// Downlink is a PULL_RESP the forwarder received.
type Downlink struct {
	Token uint16
	TXPK  gwmp.TXPK
	// At is when the frame goes on air (now for imme).
	At time.Time
	// Outcome is the TX_ACK error sent back (gwmp.TxNone: transmitted).
	Outcome string
}

// Counters are the forwarder's statistics.
type Counters struct {
	PushData, PushAck, PullData, PullAck, PullResp, TxSent, TxRejected uint64
}

// Forwarder is one simulated packet forwarder.
type Forwarder struct {
	cfg    Config
	conn   net.PacketConn
	log    *slog.Logger
	onTx   func(Downlink)
	start  time.Time
	server net.Addr

	token    atomic.Uint32
	lastPull atomic.Int64 // unix nanos of the last PULL_ACK

	mu       sync.Mutex
	counters Counters
	rxnb     uint32 // frames pushed since the last stat
	dwnb     uint32
	txnb     uint32
	acked    uint32
}

// New returns a forwarder sending from conn (bound by the caller, e.g. to
// 127.0.0.1:0). It owns conn: Run closes it. onTx, when not nil, is called
// with every downlink transmitted (outcome NONE), from Run's goroutine,
// before the TX_ACK goes out.
func New(cfg Config, conn net.PacketConn, logger *slog.Logger, onTx func(Downlink)) (*Forwarder, error) {
	if cfg.Server == "" {
		return nil, errors.New("packet forwarder needs a server address (host:port)")
	}
	addr, err := net.ResolveUDPAddr("udp", cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("resolve GWMP server %q: %w", cfg.Server, err)
	}
	if cfg.KeepaliveInterval <= 0 {
		cfg.KeepaliveInterval = 10 * time.Second
	}
	if cfg.StatInterval == 0 {
		cfg.StatInterval = 30 * time.Second
	}
	if cfg.MinTxLead <= 0 {
		cfg.MinTxLead = 20 * time.Millisecond
	}
	if cfg.MaxTxLead <= 0 {
		cfg.MaxTxLead = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Forwarder{cfg: cfg, conn: conn, log: logger.With("gateway_eui", cfg.GatewayEUI.String()), onTx: onTx,
		start: cfg.Clock(), server: addr}
	f.token.Store(rand.Uint32())
	return f, nil
}

// EUI is the gateway's EUI.
func (f *Forwarder) EUI() gwmp.EUI { return f.cfg.GatewayEUI }

// Tmst is the concentrator counter at t.
func (f *Forwarder) Tmst(t time.Time) uint32 { return uint32(t.Sub(f.start).Microseconds()) }

// TimeOf is the time at which the counter reaches tmst, taking the one
// closest to now (the counter wraps every 71 minutes).
func (f *Forwarder) TimeOf(tmst uint32) time.Time {
	e := f.cfg.Clock().Sub(f.start).Microseconds()
	delta := int64(int32(tmst - uint32(e)))
	return f.start.Add(time.Duration(e+delta) * time.Microsecond)
}

// Counters returns a snapshot of the statistics.
func (f *Forwarder) Counters() Counters {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counters
}

// Connected reports whether the server acknowledged a PULL_DATA within the
// last three keepalive intervals.
func (f *Forwarder) Connected() bool {
	last := f.lastPull.Load()
	return last != 0 && f.cfg.Clock().Sub(time.Unix(0, last)) < 3*f.cfg.KeepaliveInterval
}

func (f *Forwarder) nextToken() uint16 { return uint16(f.token.Add(1)) }

// Send pushes one received frame up in PUSH_DATA. It is safe to call from
// any goroutine, also before Run.
func (f *Forwarder) Send(up Uplink) error {
	rx, err := f.rxpk(up)
	if err != nil {
		return err
	}
	p, err := gwmp.NewPushData(f.nextToken(), f.cfg.GatewayEUI, gwmp.PushDataPayload{RXPK: []gwmp.RXPK{rx}})
	if err != nil {
		return fmt.Errorf("encode PUSH_DATA: %w", err)
	}
	if _, err := f.conn.WriteTo(p.Marshal(), f.server); err != nil {
		return fmt.Errorf("send PUSH_DATA: %w", err)
	}
	f.mu.Lock()
	f.counters.PushData++
	f.rxnb++
	f.mu.Unlock()
	return nil
}

func (f *Forwarder) rxpk(up Uplink) (gwmp.RXPK, error) {
	if len(up.PHYPayload) == 0 || len(up.PHYPayload) > 255 {
		return gwmp.RXPK{}, fmt.Errorf("uplink of %d bytes: a LoRa frame has 1 to 255", len(up.PHYPayload))
	}
	if up.DataRate == "" || up.FrequencyHz == 0 {
		return gwmp.RXPK{}, errors.New("uplink needs a frequency and a data rate")
	}
	cr := up.CodingRate
	if cr == "" {
		cr = "4/5"
	}
	tmst := up.Tmst
	if tmst == 0 {
		tmst = f.Tmst(f.cfg.Clock())
	}
	rx := gwmp.RXPK{Tmst: tmst, Chan: up.Channel, RFCh: up.RFChain, Freq: float64(up.FrequencyHz) / 1e6, Stat: 1, Modu: "LORA",
		DatR: gwmp.DataRate{LoRa: up.DataRate}, CodR: cr, RSSI: int(roundHalfAway(up.RSSI)), LSNR: float64(int(up.SNR*10)) / 10,
		Size: len(up.PHYPayload), Data: append([]byte(nil), up.PHYPayload...)}
	if !up.Time.IsZero() {
		rx.Time = up.Time.UTC().Format(time.RFC3339Nano)
	}
	return rx, nil
}

func roundHalfAway(v float64) float64 {
	if v < 0 {
		return -float64(int64(-v + 0.5))
	}
	return float64(int64(v + 0.5))
}

// Run keeps the downlink path open and serves downlinks until ctx ends;
// then it closes the socket.
func (f *Forwarder) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		f.conn.Close()
	}()
	defer wg.Wait()

	wg.Add(1)
	go func() {
		defer wg.Done()
		f.timers(ctx)
	}()

	buf := make([]byte, 65535)
	for {
		n, from, err := f.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read GWMP: %w", err)
		}
		if !sameAddr(from, f.server) {
			f.log.Debug("datagram from a stranger ignored", "from", from.String())
			continue
		}
		p, err := gwmp.Unmarshal(buf[:n])
		if err != nil {
			f.log.Warn("bad GWMP datagram", "err", err)
			continue
		}
		f.handle(p)
	}
}

func sameAddr(a, b net.Addr) bool {
	ua, ok1 := a.(*net.UDPAddr)
	ub, ok2 := b.(*net.UDPAddr)
	if ok1 && ok2 {
		return ua.Port == ub.Port && ua.IP.Equal(ub.IP)
	}
	return a.String() == b.String()
}

func (f *Forwarder) timers(ctx context.Context) {
	f.pullData()
	keep := time.NewTicker(f.cfg.KeepaliveInterval)
	defer keep.Stop()
	var stat <-chan time.Time
	if f.cfg.StatInterval > 0 {
		t := time.NewTicker(f.cfg.StatInterval)
		defer t.Stop()
		stat = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-keep.C:
			f.pullData()
		case <-stat:
			f.sendStat()
		}
	}
}

func (f *Forwarder) pullData() {
	p := gwmp.Packet{Version: gwmp.Version2, Token: f.nextToken(), Type: gwmp.PullData, EUI: f.cfg.GatewayEUI}
	if _, err := f.conn.WriteTo(p.Marshal(), f.server); err != nil {
		f.log.Debug("send PULL_DATA", "err", err)
		return
	}
	f.mu.Lock()
	f.counters.PullData++
	f.mu.Unlock()
}

func (f *Forwarder) sendStat() {
	f.mu.Lock()
	st := gwmp.Stat{Time: f.cfg.Clock().UTC().Format("2006-01-02 15:04:05 MST"), Lati: f.cfg.Lat, Long: f.cfg.Lng, Alti: f.cfg.Alt,
		RXNb: f.rxnb, RXOK: f.rxnb, RXFW: f.rxnb, DWNb: f.dwnb, TXNb: f.txnb}
	if f.rxnb > 0 {
		st.ACKR = 100 * float64(f.acked) / float64(f.rxnb)
	}
	f.rxnb, f.dwnb, f.txnb, f.acked = 0, 0, 0, 0
	f.mu.Unlock()
	p, err := gwmp.NewPushData(f.nextToken(), f.cfg.GatewayEUI, gwmp.PushDataPayload{Stat: &st})
	if err != nil {
		return
	}
	if _, err := f.conn.WriteTo(p.Marshal(), f.server); err == nil {
		f.mu.Lock()
		f.counters.PushData++
		f.mu.Unlock()
	}
}

func (f *Forwarder) handle(p gwmp.Packet) {
	switch p.Type {
	case gwmp.PushAck:
		f.mu.Lock()
		f.counters.PushAck++
		f.acked++
		f.mu.Unlock()
	case gwmp.PullAck:
		f.lastPull.Store(f.cfg.Clock().UnixNano())
		f.mu.Lock()
		f.counters.PullAck++
		f.mu.Unlock()
	case gwmp.PullResp:
		f.pullResp(p)
	default:
		f.log.Debug("unexpected GWMP packet", "type", p.Type.String())
	}
}

func (f *Forwarder) pullResp(p gwmp.Packet) {
	f.mu.Lock()
	f.counters.PullResp++
	f.dwnb++
	f.mu.Unlock()
	txpk, err := gwmp.DecodePullResp(p)
	if err != nil {
		// lora_pkt_fwd drops an undecodable PULL_RESP without a TX_ACK.
		f.log.Warn("bad PULL_RESP", "err", err)
		return
	}
	d := Downlink{Token: p.Token, TXPK: txpk}
	now := f.cfg.Clock()
	switch {
	case txpk.Imme:
		d.At, d.Outcome = now, gwmp.TxNone
	case txpk.Tmst != nil:
		d.At = f.TimeOf(*txpk.Tmst)
		switch lead := d.At.Sub(now); {
		case lead < f.cfg.MinTxLead:
			d.Outcome = gwmp.TxTooLate
		case lead > f.cfg.MaxTxLead:
			d.Outcome = gwmp.TxTooEarly
		default:
			d.Outcome = gwmp.TxNone
		}
	default:
		d.Outcome = gwmp.TxGPSUnlocked
	}
	if f.cfg.TxOutcome != nil {
		d.Outcome = f.cfg.TxOutcome(d)
	}
	f.mu.Lock()
	if d.Outcome == gwmp.TxNone {
		f.counters.TxSent++
		f.txnb++
	} else {
		f.counters.TxRejected++
	}
	f.mu.Unlock()
	// The radio world learns of the frame (and the counters of it) before
	// the server learns of the outcome, so whoever waits for the TX_ACK
	// finds the frame delivered.
	if d.Outcome == gwmp.TxNone && f.onTx != nil {
		f.onTx(d)
	}
	ack := gwmp.NewTxAck(p.Token, f.cfg.GatewayEUI, d.Outcome)
	if _, err := f.conn.WriteTo(ack.Marshal(), f.server); err != nil {
		f.log.Debug("send TX_ACK", "err", err)
	}
	f.log.Debug("downlink", "token", p.Token, "outcome", d.Outcome, "at", d.At)
}
