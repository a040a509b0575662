package lns

import (
	"context"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/sim/joinkeys"
	"github.com/hexproof/hexproof/sim/sensor"
)

// DeviceKeys provisions one device for OTAA.
type DeviceKeys struct {
	DevEUI  lorawan.EUI64
	JoinEUI lorawan.EUI64
	AppKey  lorawan.AES128Key
}

// Config configures one network server.
type Config struct {
	// Company names the simulated IoT company; it is a segment of the MQTT
	// topics.
	Company string
	NetID   lorawan.NetID
	// DevAddrStart and DevAddrCount: the DevAddrs assigned at join (the
	// company's OUI range).
	DevAddrStart lorawan.DevAddr
	DevAddrCount uint32
	// TopicPrefix goes before every MQTT topic ("" in production; tests
	// use a unique one).
	TopicPrefix string
	Devices     []DeviceKeys
	// DedupWindow collects copies of one frame; 0 means 200 ms.
	DedupWindow time.Duration
	// RX1Delay (1 s) and JoinAcceptDelay (5 s); 0 means the default.
	RX1Delay        time.Duration
	JoinAcceptDelay time.Duration
	// RX2FrequencyHz (869 525 000) and RX2DataRate ("SF12BW125") for the
	// retry of a downlink refused in RX1; zero means EU868's.
	RX2FrequencyHz uint64
	RX2DataRate    string
	// TxPowerDBm of downlinks; 0 means 14.
	TxPowerDBm int
	// Clock, when set, replaces time.Now (received_at).
	Clock func() time.Time
}

// Publisher sends an MQTT message (see PahoPublisher).
type Publisher interface {
	Publish(topic string, payload []byte) error
}

// GatewayRx is one gateway's reception of an uplink.
type GatewayRx struct {
	GatewayID string  `json:"gateway_id"`
	RSSI      int     `json:"rssi"`
	SNR       float64 `json:"snr"`
	Tmst      uint32  `json:"tmst"`
}

// UplinkEvent is the JSON published for every accepted data uplink.
type UplinkEvent struct {
	Company     string          `json:"company"`
	DevEUI      string          `json:"dev_eui"`
	DevAddr     string          `json:"dev_addr"`
	FCnt        uint32          `json:"f_cnt"`
	FPort       uint8           `json:"f_port"`
	Confirmed   bool            `json:"confirmed"`
	Data        []byte          `json:"data"` // base64
	Decoded     *sensor.Reading `json:"decoded,omitempty"`
	DecodeError string          `json:"decode_error,omitempty"`
	DataRate    string          `json:"data_rate"`
	FrequencyHz uint64          `json:"frequency_hz"`
	Gateways    []GatewayRx     `json:"gateways"` // best first
	ReceivedAt  time.Time       `json:"received_at"`
}

// JoinEvent is the JSON published for every accepted join.
type JoinEvent struct {
	Company  string      `json:"company"`
	DevEUI   string      `json:"dev_eui"`
	JoinEUI  string      `json:"join_eui"`
	DevAddr  string      `json:"dev_addr"`
	Gateways []GatewayRx `json:"gateways"`
	JoinedAt time.Time   `json:"joined_at"`
}

// Stats count what the server did.
type Stats struct {
	Copies, Frames, Duplicates    uint64 // rxpk received, distinct frames, extra copies
	Joins, JoinsRejected          uint64
	Uplinks, Confirmed            uint64
	MICFailures, Replays, Unknown uint64
	Published, PublishErrors      uint64
	Downlinks, TxAcked, TxRefused uint64
	RX2Retries                    uint64
}

// Session is a device's current state (for tests and tools).
type Session struct {
	DevAddr          lorawan.DevAddr
	NwkSKey, AppSKey lorawan.AES128Key
	FCntUp           uint32
	NFCntDown        uint32
	Joined           bool
}

type device struct {
	keys      DeviceKeys
	nonces    map[lorawan.DevNonce]bool
	joined    bool
	devAddr   lorawan.DevAddr
	nwkSKey   lorawan.AES128Key
	appSKey   lorawan.AES128Key
	fCntUp    uint32
	haveUp    bool
	nFCntDown uint32
}

type gateway struct {
	pullAddr net.Addr // where PULL_RESP goes (the PULL_DATA source)
	version  byte
}

type rxCopy struct {
	gw gwmp.EUI64
	rx gwmp.RXPK
}

type pending struct {
	copies []rxCopy
	timer  *time.Timer
}

type downlink struct {
	gw      gwmp.EUI64
	txpk    gwmp.TXPK
	rx2     bool
	rx2Tmst uint32
	sentAt  time.Time
}

// Server is one company's network server.
type Server struct {
	cfg  Config
	conn net.PacketConn
	pub  Publisher
	log  *slog.Logger

	mu        sync.Mutex
	devices   map[lorawan.EUI64]*device
	byAddr    map[lorawan.DevAddr]*device
	gateways  map[gwmp.EUI64]*gateway
	pending   map[string]*pending
	downlinks map[uint16]*downlink
	nextAddr  uint32
	joinNonce lorawan.JoinNonce
	stats     Stats
	closed    bool
	wg        sync.WaitGroup
}

// New returns a server answering on conn (bound by the caller); Run owns
// and closes it.
func New(cfg Config, conn net.PacketConn, pub Publisher, logger *slog.Logger) (*Server, error) {
	if cfg.Company == "" || strings.ContainsAny(cfg.Company, "/+#") {
		return nil, fmt.Errorf("company %q: need a name without '/', '+' or '#' (it is an MQTT topic segment)", cfg.Company)
	}
	if cfg.DevAddrCount == 0 {
		return nil, errors.New("network server needs a DevAddr range: set DevAddrStart and a positive DevAddrCount")
	}
	if pub == nil {
		return nil, errors.New("network server needs an MQTT publisher")
	}
	if cfg.DedupWindow <= 0 {
		cfg.DedupWindow = 200 * time.Millisecond
	}
	if cfg.RX1Delay <= 0 {
		cfg.RX1Delay = time.Second
	}
	if cfg.JoinAcceptDelay <= 0 {
		cfg.JoinAcceptDelay = 5 * time.Second
	}
	if cfg.RX2FrequencyHz == 0 {
		cfg.RX2FrequencyHz = 869_525_000
	}
	if cfg.RX2DataRate == "" {
		cfg.RX2DataRate = "SF12BW125"
	}
	if cfg.TxPowerDBm == 0 {
		cfg.TxPowerDBm = 14
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, conn: conn, pub: pub, log: logger.With("company", cfg.Company),
		devices: map[lorawan.EUI64]*device{}, byAddr: map[lorawan.DevAddr]*device{}, gateways: map[gwmp.EUI64]*gateway{},
		pending: map[string]*pending{}, downlinks: map[uint16]*downlink{}, joinNonce: 1}
	for _, d := range cfg.Devices {
		s.AddDevice(d)
	}
	return s, nil
}

// AddDevice provisions (or re-provisions) a device.
func (s *Server) AddDevice(k DeviceKeys) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.devices[k.DevEUI]; ok && old.joined {
		delete(s.byAddr, old.devAddr)
	}
	s.devices[k.DevEUI] = &device{keys: k, nonces: map[lorawan.DevNonce]bool{}}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Session returns a device's session.
func (s *Server) Session(devEUI lorawan.EUI64) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[devEUI]
	if !ok {
		return Session{}, false
	}
	return Session{DevAddr: d.devAddr, NwkSKey: d.nwkSKey, AppSKey: d.appSKey, FCntUp: d.fCntUp, NFCntDown: d.nFCntDown, Joined: d.joined}, true
}

// Topic is the MQTT topic of a device event ("up" or "join").
func (s *Server) Topic(devEUI lorawan.EUI64, event string) string {
	return fmt.Sprintf("%sapplication/%s/device/%s/event/%s", s.cfg.TopicPrefix, s.cfg.Company, devEUI, event)
}

// Run serves GWMP until ctx ends, then closes the socket and waits for
// frames in their dedup window to be dropped.
func (s *Server) Run(ctx context.Context) error {
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		s.conn.Close()
	}()
	defer func() {
		close(stop)
		s.mu.Lock()
		s.closed = true
		for k, p := range s.pending {
			if p.timer.Stop() {
				s.wg.Done()
			}
			delete(s.pending, k)
		}
		s.mu.Unlock()
		s.wg.Wait()
	}()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read GWMP: %w", err)
		}
		if err := s.handle(buf[:n], from); err != nil {
			s.log.Debug("bad GWMP datagram", "from", from.String(), "err", err)
		}
	}
}

func (s *Server) send(p encoding.BinaryMarshaler, to net.Addr) {
	b, err := p.MarshalBinary()
	if err != nil {
		s.log.Error("encode GWMP", "err", err)
		return
	}
	if _, err := s.conn.WriteTo(b, to); err != nil {
		s.log.Debug("send GWMP", "type", gwmp.Type(b[3]).String(), "err", err)
	}
}

func (s *Server) handle(b []byte, from net.Addr) error {
	h, err := gwmp.ParseHeader(b)
	if err != nil {
		return err
	}
	switch h.Type {
	case gwmp.TypePullData:
		var p gwmp.PullData
		if err := p.UnmarshalBinary(b); err != nil {
			return err
		}
		s.mu.Lock()
		s.gateways[p.GatewayID] = &gateway{pullAddr: from, version: p.Version}
		s.mu.Unlock()
		s.send(gwmp.Ack{Version: p.Version, Token: p.Token, Type: gwmp.TypePullAck}, from)
	case gwmp.TypePushData:
		if len(b) <= 12 { // no JSON: not acknowledged
			return gwmp.ErrShort
		}
		s.send(gwmp.Ack{Version: h.Version, Token: h.Token, Type: gwmp.TypePushAck}, from)
		var p gwmp.PushData
		err := p.UnmarshalBinary(b)
		if err == nil {
			err = p.Payload.CheckSizes()
		}
		if err != nil {
			return fmt.Errorf("push_data from gateway %s: %w", p.GatewayID, err)
		}
		for _, rx := range p.Payload.RXPK {
			if rx.Stat != 1 || rx.Modu != "LORA" {
				continue
			}
			s.addCopy(rxCopy{gw: p.GatewayID, rx: rx})
		}
	case gwmp.TypeTxAck:
		var p gwmp.TxAck
		if err := p.UnmarshalBinary(b); err != nil {
			return err
		}
		s.txAck(p)
	}
	return nil
}

func (s *Server) addCopy(c rxCopy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.stats.Copies++
	key := string(c.rx.Data)
	if p, ok := s.pending[key]; ok {
		p.copies = append(p.copies, c)
		s.stats.Duplicates++
		return
	}
	s.stats.Frames++
	p := &pending{copies: []rxCopy{c}}
	s.wg.Add(1)
	p.timer = time.AfterFunc(s.cfg.DedupWindow, func() {
		defer s.wg.Done()
		s.mu.Lock()
		if s.pending[key] != p {
			s.mu.Unlock()
			return
		}
		delete(s.pending, key)
		s.mu.Unlock()
		s.process(p.copies)
	})
	s.pending[key] = p
}

// snr is the copy's SNR; 0 when the gateway reported none.
func snr(rx gwmp.RXPK) float64 {
	if rx.LSNR == nil {
		return 0
	}
	return *rx.LSNR
}

// best orders copies best first (SNR, then RSSI) and returns the
// gateway receptions for the event.
func best(copies []rxCopy) []GatewayRx {
	sort.SliceStable(copies, func(i, j int) bool {
		if a, b := snr(copies[i].rx), snr(copies[j].rx); a != b {
			return a > b
		}
		return copies[i].rx.RSSI > copies[j].rx.RSSI
	})
	out := make([]GatewayRx, len(copies))
	for i, c := range copies {
		out[i] = GatewayRx{GatewayID: c.gw.String(), RSSI: int(c.rx.RSSI), SNR: snr(c.rx), Tmst: c.rx.Tmst}
	}
	return out
}

func (s *Server) process(copies []rxCopy) {
	gws := best(copies)
	var phy lorawan.PHYPayload
	if err := phy.UnmarshalBinary(copies[0].rx.Data); err != nil {
		s.count(func(st *Stats) { st.Unknown++ })
		return
	}
	switch phy.MHDR.MType {
	case lorawan.JoinRequest:
		s.join(phy, copies, gws)
	case lorawan.UnconfirmedDataUp, lorawan.ConfirmedDataUp:
		s.data(phy, copies, gws)
	default:
		s.count(func(st *Stats) { st.Unknown++ })
	}
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func (s *Server) join(phy lorawan.PHYPayload, copies []rxCopy, gws []GatewayRx) {
	jr, ok := phy.MACPayload.(*lorawan.JoinRequestPayload)
	if !ok {
		s.count(func(st *Stats) { st.JoinsRejected++ })
		return
	}
	s.mu.Lock()
	d, ok := s.devices[jr.DevEUI]
	if !ok || d.keys.JoinEUI != jr.JoinEUI {
		s.stats.JoinsRejected++
		s.mu.Unlock()
		s.log.Debug("join from unknown device", "dev_eui", jr.DevEUI.String())
		return
	}
	if ok, err := phy.ValidateUplinkJoinMIC(d.keys.AppKey); err != nil || !ok {
		s.stats.JoinsRejected++
		s.stats.MICFailures++
		s.mu.Unlock()
		return
	}
	if d.nonces[jr.DevNonce] {
		s.stats.JoinsRejected++
		s.stats.Replays++
		s.mu.Unlock()
		s.log.Debug("join with a used DevNonce", "dev_eui", jr.DevEUI.String(), "dev_nonce", jr.DevNonce)
		return
	}
	d.nonces[jr.DevNonce] = true
	addr, err := s.allocAddr(d)
	if err != nil {
		s.stats.JoinsRejected++
		s.mu.Unlock()
		s.log.Warn("join refused", "dev_eui", jr.DevEUI.String(), "err", err)
		return
	}
	jn := s.joinNonce
	s.joinNonce = (s.joinNonce + 1) % (1 << 24)
	nwk, app, err := joinkeys.SessionKeys(d.keys.AppKey, jn, s.cfg.NetID, jr.DevNonce)
	if err != nil {
		s.mu.Unlock()
		return
	}
	if d.joined {
		delete(s.byAddr, d.devAddr)
	}
	d.joined, d.devAddr, d.nwkSKey, d.appSKey = true, addr, nwk, app
	d.fCntUp, d.haveUp, d.nFCntDown = 0, false, 0
	s.byAddr[addr] = d
	s.stats.Joins++
	s.mu.Unlock()

	accept := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: lorawan.JoinAccept, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinAcceptPayload{JoinNonce: jn, HomeNetID: s.cfg.NetID, DevAddr: addr,
			DLSettings: lorawan.DLSettings{RX2DataRate: 0, RX1DROffset: 0}, RXDelay: uint8(s.cfg.RX1Delay / time.Second)},
	}
	if err := accept.SetDownlinkJoinMIC(lorawan.JoinRequestType, jr.JoinEUI, jr.DevNonce, d.keys.AppKey); err != nil {
		s.log.Error("join accept MIC", "err", err)
		return
	}
	if err := accept.EncryptJoinAcceptPayload(d.keys.AppKey); err != nil {
		s.log.Error("encrypt join accept", "err", err)
		return
	}
	b, err := accept.MarshalBinary()
	if err != nil {
		s.log.Error("encode join accept", "err", err)
		return
	}
	s.downlink(copies, b, s.cfg.JoinAcceptDelay)
	ev := JoinEvent{Company: s.cfg.Company, DevEUI: jr.DevEUI.String(), JoinEUI: jr.JoinEUI.String(), DevAddr: addr.String(),
		Gateways: gws, JoinedAt: s.cfg.Clock().UTC()}
	s.publish(s.Topic(jr.DevEUI, "join"), ev)
	s.log.Info("device joined", "dev_eui", jr.DevEUI.String(), "dev_addr", addr.String())
}

// allocAddr picks the next free DevAddr of the range (caller holds mu).
func (s *Server) allocAddr(d *device) (lorawan.DevAddr, error) {
	start := binary.BigEndian.Uint32(s.cfg.DevAddrStart[:])
	for i := uint32(0); i < s.cfg.DevAddrCount; i++ {
		var a lorawan.DevAddr
		binary.BigEndian.PutUint32(a[:], start+(s.nextAddr+i)%s.cfg.DevAddrCount)
		if owner, used := s.byAddr[a]; !used || owner == d {
			s.nextAddr = (s.nextAddr + i + 1) % s.cfg.DevAddrCount
			return a, nil
		}
	}
	return lorawan.DevAddr{}, fmt.Errorf("all %d DevAddrs in use", s.cfg.DevAddrCount)
}

func (s *Server) data(phy lorawan.PHYPayload, copies []rxCopy, gws []GatewayRx) {
	mac, ok := phy.MACPayload.(*lorawan.MACPayload)
	if !ok {
		s.count(func(st *Stats) { st.Unknown++ })
		return
	}
	s.mu.Lock()
	d, ok := s.byAddr[mac.FHDR.DevAddr]
	if !ok {
		s.stats.Unknown++
		s.mu.Unlock()
		return
	}
	full := fullFCnt(d.fCntUp, d.haveUp, uint16(mac.FHDR.FCnt))
	mac.FHDR.FCnt = full
	if ok, err := phy.ValidateUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, d.nwkSKey, d.nwkSKey); err != nil || !ok {
		s.stats.MICFailures++
		s.mu.Unlock()
		return
	}
	if d.haveUp && full <= d.fCntUp {
		s.stats.Replays++
		s.mu.Unlock()
		return
	}
	d.fCntUp, d.haveUp = full, true
	confirmed := phy.MHDR.MType == lorawan.ConfirmedDataUp
	s.stats.Uplinks++
	if confirmed {
		s.stats.Confirmed++
	}
	devEUI, devAddr, nwk, app := d.keys.DevEUI, d.devAddr, d.nwkSKey, d.appSKey
	var ackFCnt uint32
	if confirmed {
		ackFCnt = d.nFCntDown
		d.nFCntDown++
	}
	s.mu.Unlock()

	ev := UplinkEvent{Company: s.cfg.Company, DevEUI: devEUI.String(), DevAddr: devAddr.String(), FCnt: full, Confirmed: confirmed,
		DataRate: copies[0].rx.DatR.LoRa, FrequencyHz: uint64(copies[0].rx.Freq*1e6 + 0.5), Gateways: gws, ReceivedAt: s.cfg.Clock().UTC()}
	if mac.FPort != nil {
		ev.FPort = *mac.FPort
		key := app
		if *mac.FPort == 0 {
			key = nwk
		}
		if err := phy.DecryptFRMPayload(key); err != nil {
			s.log.Debug("decrypt uplink", "dev_eui", devEUI.String(), "err", err)
		} else if len(mac.FRMPayload) > 0 {
			if dp, ok := mac.FRMPayload[0].(*lorawan.DataPayload); ok {
				ev.Data = dp.Bytes
			}
		}
		if *mac.FPort == sensor.FPort {
			if r, err := sensor.Decode(ev.Data); err != nil {
				ev.DecodeError = err.Error()
			} else {
				ev.Decoded = &r
			}
		}
	}
	if confirmed {
		ack := lorawan.PHYPayload{
			MHDR:       lorawan.MHDR{MType: lorawan.UnconfirmedDataDown, Major: lorawan.LoRaWANR1},
			MACPayload: &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: devAddr, FCtrl: lorawan.FCtrl{ACK: true}, FCnt: ackFCnt}},
		}
		if err := ack.SetDownlinkDataMIC(lorawan.LoRaWAN1_0, 0, nwk); err == nil {
			if b, err := ack.MarshalBinary(); err == nil {
				s.downlink(copies, b, s.cfg.RX1Delay)
			}
		}
	}
	if mac.FPort != nil && *mac.FPort > 0 {
		s.publish(s.Topic(devEUI, "up"), ev)
	}
}

// downlink sends phy delay after the uplink (RX1: same frequency and
// data rate) through the best gateway with a downlink path; copies are
// ordered best first.
func (s *Server) downlink(copies []rxCopy, phy []byte, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range copies {
		gw, ok := s.gateways[c.gw]
		if !ok {
			continue
		}
		tmst := c.rx.Tmst + uint32(delay/time.Microsecond)
		tx := gwmp.TXPK{Tmst: &tmst, Freq: c.rx.Freq, Powe: int16(s.cfg.TxPowerDBm), Modu: "LORA", DatR: c.rx.DatR, CodR: "4/5",
			IPol: true, Data: phy}
		rx2 := tmst + 1_000_000
		s.sendTXPK(c.gw, gw, tx, &downlink{gw: c.gw, txpk: tx, rx2Tmst: rx2})
		return
	}
	s.log.Warn("no gateway to send a downlink through (none sent PULL_DATA)")
}

// sendTXPK sends a PULL_RESP and remembers it until its TX_ACK (caller
// holds mu).
func (s *Server) sendTXPK(eui gwmp.EUI64, gw *gateway, tx gwmp.TXPK, dl *downlink) {
	now := s.cfg.Clock()
	for tok, old := range s.downlinks {
		if now.Sub(old.sentAt) > 30*time.Second {
			delete(s.downlinks, tok) // gateways on protocol v1 never TX_ACK
		}
	}
	token := newToken()
	for s.downlinks[token] != nil {
		token++
	}
	tx.Size = uint16(len(tx.Data))
	p := gwmp.PullResp{Version: gw.version, Token: token, Payload: gwmp.PullRespPayload{TXPK: tx}}
	dl.sentAt = now
	s.downlinks[token] = dl
	s.stats.Downlinks++
	s.send(p, gw.pullAddr)
	s.log.Debug("downlink", "gateway", eui.String(), "token", token, "tmst", *tx.Tmst, "rx2", dl.rx2)
}

func (s *Server) txAck(a gwmp.TxAck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dl, ok := s.downlinks[a.Token]
	if !ok {
		return
	}
	delete(s.downlinks, a.Token)
	if a.Outcome() == gwmp.TxAckNone {
		s.stats.TxAcked++
		return
	}
	s.stats.TxRefused++
	s.log.Info("downlink refused by gateway", "gateway", dl.gw.String(), "error", a.Outcome(), "rx2", dl.rx2)
	gw, ok := s.gateways[dl.gw]
	if dl.rx2 || !ok {
		return
	}
	tx := dl.txpk
	tmst := dl.rx2Tmst
	tx.Tmst = &tmst
	tx.Freq = float64(s.cfg.RX2FrequencyHz) / 1e6
	tx.DatR = gwmp.DatR{LoRa: s.cfg.RX2DataRate}
	s.stats.RX2Retries++
	s.sendTXPK(dl.gw, gw, tx, &downlink{gw: dl.gw, txpk: tx, rx2: true})
}

func (s *Server) publish(topic string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	if err := s.pub.Publish(topic, b); err != nil {
		s.count(func(st *Stats) { st.PublishErrors++ })
		s.log.Warn("publish", "topic", topic, "err", err)
		return
	}
	s.count(func(st *Stats) { st.Published++ })
}

func fullFCnt(last uint32, have bool, low uint16) uint32 {
	if !have {
		return uint32(low)
	}
	c := last&0xffff0000 | uint32(low)
	if c < last {
		c += 1 << 16
	}
	return c
}

func newToken() uint16 { return uint16(rand.Uint32()) }
