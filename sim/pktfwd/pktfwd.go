package pktfwd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

// Config configures one forwarder.
type Config struct {
	GatewayEUI gwmp.EUI64
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
	// instead of the timing rules (gwmp.TxAckNone, gwmp.TxAckTooLate, ...).
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
	// Outcome is the TX_ACK error sent back (gwmp.TxAckNone: transmitted).
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
func (f *Forwarder) EUI() gwmp.EUI64 { return f.cfg.GatewayEUI }

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
	b, err := gwmp.PushData{Version: gwmp.Version2, Token: f.nextToken(), GatewayID: f.cfg.GatewayEUI,
		Payload: gwmp.PushDataPayload{RXPK: []gwmp.RXPK{rx}}}.MarshalBinary()
	if err != nil {
		return fmt.Errorf("encode PUSH_DATA: %w", err)
	}
	if _, err := f.conn.WriteTo(b, f.server); err != nil {
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
	lsnr := float64(int(up.SNR*10)) / 10
	rx := gwmp.RXPK{Tmst: tmst, Chan: uint8(up.Channel), RFCh: uint8(up.RFChain), Freq: float64(up.FrequencyHz) / 1e6, Stat: 1, Modu: "LORA",
		DatR: gwmp.DatR{LoRa: up.DataRate}, CodR: cr, RSSI: int16(max(min(roundHalfAway(up.RSSI), math.MaxInt16), math.MinInt16)), LSNR: &lsnr,
		Size: uint16(len(up.PHYPayload)), Data: append([]byte(nil), up.PHYPayload...)}
	if !up.Time.IsZero() {
		t := gwmp.CompactTime(up.Time)
		rx.Time = &t
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
		h, err := gwmp.ParseHeader(buf[:n])
		if err != nil {
			f.log.Warn("bad GWMP datagram", "err", err)
			continue
		}
		f.handle(h, buf[:n])
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
	b, _ := gwmp.PullData{Version: gwmp.Version2, Token: f.nextToken(), GatewayID: f.cfg.GatewayEUI}.MarshalBinary()
	if _, err := f.conn.WriteTo(b, f.server); err != nil {
		f.log.Debug("send PULL_DATA", "err", err)
		return
	}
	f.mu.Lock()
	f.counters.PullData++
	f.mu.Unlock()
}

func (f *Forwarder) sendStat() {
	f.mu.Lock()
	var ackr float64
	if f.rxnb > 0 {
		ackr = 100 * float64(f.acked) / float64(f.rxnb)
	}
	st := gwmp.Stat{Time: gwmp.StatTime(f.cfg.Clock()), RXNb: f.rxnb, RXOK: f.rxnb, RXFW: f.rxnb, ACKR: &ackr, DWNb: f.dwnb, TXNb: f.txnb}
	f.rxnb, f.dwnb, f.txnb, f.acked = 0, 0, 0, 0
	f.mu.Unlock()
	if f.cfg.Lat != 0 || f.cfg.Lng != 0 {
		lat, lng := f.cfg.Lat, f.cfg.Lng
		st.Lati, st.Long = &lat, &lng
	}
	if f.cfg.Alt != 0 {
		alt := int32(f.cfg.Alt)
		st.Alti = &alt
	}
	b, err := gwmp.PushData{Version: gwmp.Version2, Token: f.nextToken(), GatewayID: f.cfg.GatewayEUI, Payload: gwmp.PushDataPayload{Stat: &st}}.MarshalBinary()
	if err != nil {
		f.log.Error("encode stat", "err", err)
		return
	}
	if _, err := f.conn.WriteTo(b, f.server); err == nil {
		f.mu.Lock()
		f.counters.PushData++
		f.mu.Unlock()
	}
}

func (f *Forwarder) handle(h gwmp.Header, b []byte) {
	switch h.Type {
	case gwmp.TypePushAck:
		f.mu.Lock()
		f.counters.PushAck++
		f.acked++
		f.mu.Unlock()
	case gwmp.TypePullAck:
		f.lastPull.Store(f.cfg.Clock().UnixNano())
		f.mu.Lock()
		f.counters.PullAck++
		f.mu.Unlock()
	case gwmp.TypePullResp:
		f.pullResp(b)
	default:
		f.log.Debug("unexpected GWMP packet", "type", h.Type.String())
	}
}

// decodePullResp decodes a PULL_RESP and refuses, as lora_pkt_fwd does, a
// txpk whose size and data differ or that has no time to be sent at.
func decodePullResp(b []byte) (gwmp.PullResp, error) {
	var p gwmp.PullResp
	if err := p.UnmarshalBinary(b); err != nil {
		return p, err
	}
	t := &p.Payload.TXPK
	if err := t.CheckSize(); err != nil {
		return p, err
	}
	if !t.Imme && t.Tmst == nil && t.Tmms == nil {
		return p, errors.New("txpk has neither imme, tmst nor tmms")
	}
	return p, nil
}

func (f *Forwarder) pullResp(b []byte) {
	f.mu.Lock()
	f.counters.PullResp++
	f.dwnb++
	f.mu.Unlock()
	p, err := decodePullResp(b)
	if err != nil {
		// lora_pkt_fwd drops an undecodable PULL_RESP without a TX_ACK.
		f.log.Warn("bad PULL_RESP", "err", err)
		return
	}
	txpk := p.Payload.TXPK
	d := Downlink{Token: p.Token, TXPK: txpk}
	now := f.cfg.Clock()
	switch {
	case txpk.Imme:
		d.At, d.Outcome = now, gwmp.TxAckNone
	case txpk.Tmst != nil:
		d.At = f.TimeOf(*txpk.Tmst)
		switch lead := d.At.Sub(now); {
		case lead < f.cfg.MinTxLead:
			d.Outcome = gwmp.TxAckTooLate
		case lead > f.cfg.MaxTxLead:
			d.Outcome = gwmp.TxAckTooEarly
		default:
			d.Outcome = gwmp.TxAckNone
		}
	default:
		d.Outcome = gwmp.TxAckGPSUnlocked
	}
	if f.cfg.TxOutcome != nil {
		d.Outcome = f.cfg.TxOutcome(d)
	}
	f.mu.Lock()
	if d.Outcome == gwmp.TxAckNone {
		f.counters.TxSent++
		f.txnb++
	} else {
		f.counters.TxRejected++
	}
	f.mu.Unlock()
	// The radio world learns of the frame (and the counters of it) before
	// the server learns of the outcome, so whoever waits for the TX_ACK
	// finds the frame delivered.
	if d.Outcome == gwmp.TxAckNone && f.onTx != nil {
		f.onTx(d)
	}
	ack, _ := gwmp.NewTxAck(p.Token, f.cfg.GatewayEUI, d.Outcome).MarshalBinary()
	if _, err := f.conn.WriteTo(ack, f.server); err != nil {
		f.log.Debug("send TX_ACK", "err", err)
	}
	f.log.Debug("downlink", "token", p.Token, "outcome", d.Outcome, "at", d.At)
}
