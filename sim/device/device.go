package device

import (
	"errors"
	"fmt"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/hexproof/hexproof/sim/internal/detrand"
	"github.com/hexproof/hexproof/sim/joinkeys"
	"github.com/hexproof/hexproof/sim/sensor"
)

// Config configures a device.
type Config struct {
	DevEUI  lorawan.EUI64
	JoinEUI lorawan.EUI64
	AppKey  lorawan.AES128Key
	// FPort of the sensor readings; 0 means sensor.FPort.
	FPort uint8
	// UplinkInterval between readings; 0 means 1 minute.
	UplinkInterval time.Duration
	// ConfirmedEvery: every n-th uplink is confirmed; 0 means none.
	ConfirmedEvery int
	// JoinRetry: a join request without accept is repeated after this;
	// 0 means 10 s.
	JoinRetry time.Duration
	// RX1Delay is RECEIVE_DELAY1 (1 s; RX2 one second later); JoinDelay is
	// JOIN_ACCEPT_DELAY1 (5 s). Zero means the LoRaWAN defaults.
	RX1Delay  time.Duration
	JoinDelay time.Duration
	// WindowTolerance is how far from a window's start a downlink may be
	// and still be received; 0 means 20 ms.
	WindowTolerance time.Duration
	// DevNonce is the first DevNonce to use (LoRaWAN 1.0.4 counts up from 0).
	DevNonce uint16
	// Seed makes the device's readings and channel choices its own; 0
	// derives it from DevEUI.
	Seed uint64
	// Channels the device hops over, in Hz; empty means EU868's three
	// default channels (868.1, 868.3, 868.5 MHz).
	Channels []uint64
	// DataRate of its uplinks, e.g. "SF7BW125"; empty means SF7BW125.
	DataRate string
}

// EU868DefaultChannels are the three channels every EU868 device knows.
func EU868DefaultChannels() []uint64 { return []uint64{868_100_000, 868_300_000, 868_500_000} }

// Kind says what a frame is.
type Kind int

// Frame kinds.
const (
	KindJoinRequest Kind = iota + 1
	KindData
)

func (k Kind) String() string {
	switch k {
	case KindJoinRequest:
		return "join_request"
	case KindData:
		return "data"
	}
	return "unknown"
}

// Frame is an uplink the device sends.
type Frame struct {
	PHYPayload []byte
	Kind       Kind
	Confirmed  bool
	FCnt       uint32
	DevNonce   uint16
	// FrequencyHz and DataRate to send it on: a channel drawn from the
	// device's seed and the frame (the same frame, the same channel).
	FrequencyHz uint64
	DataRate    string
}

// EventKind says what a downlink did.
type EventKind int

// Downlink outcomes.
const (
	EventJoined EventKind = iota + 1
	EventAck
	EventData
)

// Event is the outcome of a downlink the device accepted.
type Event struct {
	Kind    EventKind
	DevAddr lorawan.DevAddr
	FCnt    uint32 // downlink frame counter
	Ack     bool
	FPort   *uint8
	Data    []byte // decrypted FRMPayload
}

// Errors of HandleDownlink.
var (
	ErrNotForMe      = errors.New("downlink is not for this device")
	ErrOutsideWindow = errors.New("downlink outside the receive windows")
	ErrReplay        = errors.New("downlink frame counter replayed")
)

// Stats count what the device did.
type Stats struct {
	JoinRequests, Joins                int
	Uplinks, Confirmed, Acked, Unacked int
	Downlinks, Rejected                int
}

// Device is one simulated end device. It is not safe for concurrent use.
type Device struct {
	cfg Config

	devNonce    uint16
	joinPending bool
	joinSentAt  time.Time
	joinNonce   lorawan.DevNonce

	joined    bool
	devAddr   lorawan.DevAddr
	nwkSKey   lorawan.AES128Key
	appSKey   lorawan.AES128Key
	fCntUp    uint32
	fCntDown  uint32
	haveDown  bool
	nextUp    time.Time
	lastKind  Kind
	ackWanted bool

	stats Stats
}

// New returns a device that has not joined yet.
func New(cfg Config) *Device {
	if cfg.FPort == 0 {
		cfg.FPort = sensor.FPort
	}
	if cfg.UplinkInterval <= 0 {
		cfg.UplinkInterval = time.Minute
	}
	if cfg.JoinRetry <= 0 {
		cfg.JoinRetry = 10 * time.Second
	}
	if cfg.RX1Delay <= 0 {
		cfg.RX1Delay = time.Second
	}
	if cfg.JoinDelay <= 0 {
		cfg.JoinDelay = 5 * time.Second
	}
	if cfg.WindowTolerance <= 0 {
		cfg.WindowTolerance = 20 * time.Millisecond
	}
	if cfg.Seed == 0 {
		var s uint64
		for _, b := range cfg.DevEUI {
			s = s<<8 | uint64(b)
		}
		cfg.Seed = detrand.Mix(s)
	}
	if len(cfg.Channels) == 0 {
		cfg.Channels = EU868DefaultChannels()
	}
	if cfg.DataRate == "" {
		cfg.DataRate = "SF7BW125"
	}
	return &Device{cfg: cfg, devNonce: cfg.DevNonce}
}

// radio fills in the frame's channel and data rate.
func (d *Device) radio(f *Frame) {
	h := detrand.Hash(d.cfg.Seed, uint64(f.Kind), uint64(f.DevNonce), uint64(f.FCnt))
	f.FrequencyHz = d.cfg.Channels[h%uint64(len(d.cfg.Channels))]
	f.DataRate = d.cfg.DataRate
}

// DevEUI is the device's EUI.
func (d *Device) DevEUI() lorawan.EUI64 { return d.cfg.DevEUI }

// Joined reports whether a join accept was received.
func (d *Device) Joined() bool { return d.joined }

// DevAddr is the address assigned at join.
func (d *Device) DevAddr() lorawan.DevAddr { return d.devAddr }

// SessionKeys are the keys derived at join (for tests and tools).
func (d *Device) SessionKeys() (nwkSKey, appSKey lorawan.AES128Key) { return d.nwkSKey, d.appSKey }

// FCntUp is the frame counter of the next uplink.
func (d *Device) FCntUp() uint32 { return d.fCntUp }

// Stats returns the device's counters.
func (d *Device) Stats() Stats { return d.stats }

// AwaitingAck reports whether the last uplink was confirmed and is not
// acknowledged yet.
func (d *Device) AwaitingAck() bool { return d.ackWanted }

// Step returns the frame the device sends at now, if any: a join request
// until joined (repeated every JoinRetry), then a sensor reading every
// UplinkInterval (the first right after the join).
func (d *Device) Step(now time.Time) (Frame, bool) {
	if !d.joined {
		if d.joinPending && now.Sub(d.joinSentAt) < d.cfg.JoinRetry {
			return Frame{}, false
		}
		f, err := d.JoinRequest(now)
		return f, err == nil
	}
	if now.Before(d.nextUp) {
		return Frame{}, false
	}
	hour := float64(now.UTC().Hour()) + float64(now.UTC().Minute())/60
	payload := sensor.Encode(sensor.Sample(d.cfg.Seed, d.fCntUp, hour))
	confirmed := d.cfg.ConfirmedEvery > 0 && int(d.fCntUp%uint32(d.cfg.ConfirmedEvery)) == d.cfg.ConfirmedEvery-1
	f, err := d.Uplink(payload, confirmed)
	if err != nil {
		return Frame{}, false
	}
	d.nextUp = now.Add(d.cfg.UplinkInterval)
	return f, true
}

// JoinRequest builds a join request with the next DevNonce.
func (d *Device) JoinRequest(now time.Time) (Frame, error) {
	nonce := lorawan.DevNonce(d.devNonce)
	phy := lorawan.PHYPayload{
		MHDR:       lorawan.MHDR{MType: lorawan.JoinRequest, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinRequestPayload{JoinEUI: d.cfg.JoinEUI, DevEUI: d.cfg.DevEUI, DevNonce: nonce},
	}
	if err := phy.SetUplinkJoinMIC(d.cfg.AppKey); err != nil {
		return Frame{}, fmt.Errorf("join request MIC: %w", err)
	}
	b, err := phy.MarshalBinary()
	if err != nil {
		return Frame{}, fmt.Errorf("encode join request: %w", err)
	}
	d.devNonce++
	d.joinPending, d.joinSentAt, d.joinNonce = true, now, nonce
	d.lastKind = KindJoinRequest
	d.stats.JoinRequests++
	f := Frame{PHYPayload: b, Kind: KindJoinRequest, DevNonce: uint16(nonce)}
	d.radio(&f)
	return f, nil
}

// Uplink builds a data uplink carrying payload on the configured FPort.
func (d *Device) Uplink(payload []byte, confirmed bool) (Frame, error) {
	if !d.joined {
		return Frame{}, errors.New("device has not joined")
	}
	mtype := lorawan.UnconfirmedDataUp
	if confirmed {
		mtype = lorawan.ConfirmedDataUp
	}
	fport := d.cfg.FPort
	phy := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: mtype, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{
			FHDR:       lorawan.FHDR{DevAddr: d.devAddr, FCnt: d.fCntUp},
			FPort:      &fport,
			FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: append([]byte(nil), payload...)}},
		},
	}
	if err := phy.EncryptFRMPayload(d.appSKey); err != nil {
		return Frame{}, fmt.Errorf("encrypt payload: %w", err)
	}
	if err := phy.SetUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, d.nwkSKey, d.nwkSKey); err != nil {
		return Frame{}, fmt.Errorf("uplink MIC: %w", err)
	}
	b, err := phy.MarshalBinary()
	if err != nil {
		return Frame{}, fmt.Errorf("encode uplink: %w", err)
	}
	if d.ackWanted {
		d.stats.Unacked++
	}
	f := Frame{PHYPayload: b, Kind: KindData, Confirmed: confirmed, FCnt: d.fCntUp}
	d.radio(&f)
	d.fCntUp++
	d.ackWanted = confirmed
	d.lastKind = KindData
	d.stats.Uplinks++
	if confirmed {
		d.stats.Confirmed++
	}
	return f, nil
}

// inWindow reports whether delay is within tolerance of the RX1 or RX2
// start for the device's last uplink.
func (d *Device) inWindow(delay time.Duration, rx1 time.Duration) bool {
	tol := d.cfg.WindowTolerance
	for _, w := range []time.Duration{rx1, rx1 + time.Second} {
		if delay >= w-tol && delay <= w+tol {
			return true
		}
	}
	return false
}

// HandleDownlink processes a frame the device's radio received delay
// after the end of its last uplink. Frames for other devices, outside the
// receive windows, with a bad MIC or a replayed counter are refused with
// an error and change nothing.
func (d *Device) HandleDownlink(phyBytes []byte, delay time.Duration) (Event, error) {
	ev, err := d.handle(phyBytes, delay)
	if err != nil {
		d.stats.Rejected++
		return ev, err
	}
	d.stats.Downlinks++
	return ev, nil
}

func (d *Device) handle(phyBytes []byte, delay time.Duration) (Event, error) {
	var phy lorawan.PHYPayload
	if err := phy.UnmarshalBinary(phyBytes); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrNotForMe, err)
	}
	switch phy.MHDR.MType {
	case lorawan.JoinAccept:
		return d.joinAccept(phy, delay)
	case lorawan.UnconfirmedDataDown, lorawan.ConfirmedDataDown:
		return d.dataDown(phy, delay)
	}
	return Event{}, fmt.Errorf("%w: message type %v", ErrNotForMe, phy.MHDR.MType)
}

func (d *Device) joinAccept(phy lorawan.PHYPayload, delay time.Duration) (Event, error) {
	if !d.joinPending || d.lastKind != KindJoinRequest {
		return Event{}, fmt.Errorf("%w: no join request pending", ErrNotForMe)
	}
	if !d.inWindow(delay, d.cfg.JoinDelay) {
		return Event{}, fmt.Errorf("%w: %v after the join request", ErrOutsideWindow, delay)
	}
	if err := phy.DecryptJoinAcceptPayload(d.cfg.AppKey); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrNotForMe, err)
	}
	ok, err := phy.ValidateDownlinkJoinMIC(lorawan.JoinRequestType, d.cfg.JoinEUI, d.joinNonce, d.cfg.AppKey)
	if err != nil || !ok {
		return Event{}, fmt.Errorf("%w: join accept MIC", ErrNotForMe)
	}
	ja, ok := phy.MACPayload.(*lorawan.JoinAcceptPayload)
	if !ok {
		return Event{}, fmt.Errorf("%w: join accept payload", ErrNotForMe)
	}
	nwk, app, err := joinkeys.SessionKeys(d.cfg.AppKey, ja.JoinNonce, ja.HomeNetID, d.joinNonce)
	if err != nil {
		return Event{}, err
	}
	d.joined, d.joinPending = true, false
	d.devAddr, d.nwkSKey, d.appSKey = ja.DevAddr, nwk, app
	d.fCntUp, d.fCntDown, d.haveDown, d.ackWanted = 0, 0, false, false
	d.nextUp = time.Time{}
	d.stats.Joins++
	return Event{Kind: EventJoined, DevAddr: ja.DevAddr}, nil
}

func (d *Device) dataDown(phy lorawan.PHYPayload, delay time.Duration) (Event, error) {
	mac, ok := phy.MACPayload.(*lorawan.MACPayload)
	if !ok || !d.joined || mac.FHDR.DevAddr != d.devAddr {
		return Event{}, ErrNotForMe
	}
	if d.lastKind != KindData || !d.inWindow(delay, d.cfg.RX1Delay) {
		return Event{}, fmt.Errorf("%w: %v after the uplink", ErrOutsideWindow, delay)
	}
	full := FullFCnt(d.fCntDown, d.haveDown, uint16(mac.FHDR.FCnt))
	mac.FHDR.FCnt = full
	ok, err := phy.ValidateDownlinkDataMIC(lorawan.LoRaWAN1_0, 0, d.nwkSKey)
	if err != nil || !ok {
		return Event{}, fmt.Errorf("%w: MIC", ErrNotForMe)
	}
	if d.haveDown && full <= d.fCntDown {
		return Event{}, fmt.Errorf("%w: %d after %d", ErrReplay, full, d.fCntDown)
	}
	d.fCntDown, d.haveDown = full, true
	ev := Event{Kind: EventData, DevAddr: d.devAddr, FCnt: full, Ack: mac.FHDR.FCtrl.ACK, FPort: mac.FPort}
	if mac.FPort != nil && len(mac.FRMPayload) > 0 {
		key := d.appSKey
		if *mac.FPort == 0 {
			key = d.nwkSKey
		}
		if err := phy.DecryptFRMPayload(key); err != nil {
			return Event{}, fmt.Errorf("decrypt downlink: %w", err)
		}
		if dp, ok := mac.FRMPayload[0].(*lorawan.DataPayload); ok {
			ev.Data = dp.Bytes
		}
	}
	if ev.Ack {
		if d.ackWanted {
			d.ackWanted = false
			d.stats.Acked++
		}
		ev.Kind = EventAck
	}
	return ev, nil
}

// FullFCnt reconstructs a 32-bit frame counter from the 16 bits on the
// air and the last counter seen (have says whether there was one).
func FullFCnt(last uint32, have bool, low uint16) uint32 {
	if !have {
		return uint32(low)
	}
	c := last&0xffff0000 | uint32(low)
	if c < last {
		c += 1 << 16
	}
	return c
}
