package poc

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/hotspot/queue"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Params are the chain parameters PoC needs.
type Params struct {
	BeaconIntervalBlocks  uint64
	EntropyValidityBlocks uint64
}

// Block is a committed block.
type Block struct {
	Height uint64
	Hash   []byte
}

// Chain is what PoC reads from the chain.
type Chain interface {
	Params(ctx context.Context) (Params, error)
	LatestBlock(ctx context.Context) (Block, error)
}

// Site is where and how the hotspot radiates, as asserted on chain (or
// configured).
type Site struct {
	Region   hexproofv1.Region
	GainDdbi int32
	// DataOnly hotspots neither beacon nor witness.
	DataOnly bool
	// LastBeaconHeight is the entropy height of the last beacon the chain
	// accepted; it guards the interval when the local state was lost.
	LastBeaconHeight uint64
}

// SiteFunc returns the current site; ok is false while it is unknown (not
// onboarded or location not asserted).
type SiteFunc func() (Site, bool)

// Transmitter sends a frame through the bridge and waits for its tx ack.
type Transmitter interface {
	Transmit(ctx context.Context, phy []byte, w *hexproofv1.DownlinkWindow) (hexproofv1.TxAckStatus, error)
}

// Sink stores a signed report record durably for every oracle.
type Sink interface {
	Enqueue(kind string, rec []byte) error
}

// Encoder turns reports into queue records.
type Encoder struct {
	Beacon  func(*hexproofv1.BeaconReport) ([]byte, error)
	Witness func(*hexproofv1.WitnessReport) ([]byte, error)
}

// Config of the PoC engine.
type Config struct {
	Key *identity.Key
	// StatePath persists the last beacon so a restart never beacons twice in
	// one interval.
	StatePath string
	// PollInterval is how often the chain head is read (default 5 s).
	PollInterval time.Duration
	// WitnessDedup is how long a heard beacon payload is remembered (default 10 min).
	WitnessDedup time.Duration
	// RetryDelay is the pause after a beacon the gateway did not transmit
	// (default 1 min).
	RetryDelay time.Duration
}

// BeaconInfo describes the last beacon for the status API.
type BeaconInfo struct {
	At            time.Time `json:"at"`
	EntropyHeight uint64    `json:"entropy_height"`
	FrequencyHz   uint64    `json:"frequency_hz"`
	Datarate      string    `json:"datarate"`
	TxPowerDBm    int32     `json:"tx_power_dbm"`
	// Ack is the bridge's verdict ("OK", "TOO_LATE", ...).
	Ack string `json:"ack"`
	// ID is the beacon id the chain indexes receipts by (hex SHA-256 of the
	// signed report), empty when the transmission failed.
	ID string `json:"id,omitempty"`
}

// WitnessInfo describes one witness report for the status API.
type WitnessInfo struct {
	At          time.Time `json:"at"`
	Payload     string    `json:"payload"`
	FrequencyHz uint64    `json:"frequency_hz"`
	Datarate    string    `json:"datarate"`
	RssiDbm     int32     `json:"rssi_dbm"`
	SnrCb       int32     `json:"snr_cb"`
}

// Counters of PoC activity.
type Counters struct {
	Beacons        uint64 `json:"beacons"`
	BeaconFailures uint64 `json:"beacon_failures"`
	Witnesses      uint64 `json:"witnesses"`
	IgnoredOwn     uint64 `json:"ignored_own"`
	IgnoredRepeat  uint64 `json:"ignored_repeat"`
	IgnoredNoSite  uint64 `json:"ignored_no_site"`
}

// Engine runs PoC.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	chain Chain
	site  SiteFunc
	tx    Transmitter
	sink  Sink
	enc   Encoder

	mu        sync.Mutex
	state     state
	own       map[string]time.Time
	heard     map[string]time.Time
	last      *BeaconInfo
	witnesses []WitnessInfo
	counters  Counters
	chainOK   bool
	head      Block
	params    Params
	retryAt   time.Time
}

type state struct {
	LastInterval      uint64 `json:"last_interval"`
	LastEntropyHeight uint64 `json:"last_entropy_height"`
}

const recentWitnesses = 20

// New builds the engine; Run starts beaconing.
func New(cfg Config, log *slog.Logger, chain Chain, site SiteFunc, tx Transmitter, sink Sink, enc Encoder) (*Engine, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.WitnessDedup <= 0 {
		cfg.WitnessDedup = 10 * time.Minute
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = time.Minute
	}
	e := &Engine{cfg: cfg, log: log, chain: chain, site: site, tx: tx, sink: sink, enc: enc,
		own: map[string]time.Time{}, heard: map[string]time.Time{}}
	if cfg.StatePath != "" {
		b, err := os.ReadFile(cfg.StatePath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read beacon state: %w", err)
		default:
			if err := json.Unmarshal(b, &e.state); err != nil {
				return nil, fmt.Errorf("parse beacon state %s: %w (delete it to start over)", cfg.StatePath, err)
			}
		}
	}
	return e, nil
}

// Slot is the block offset within beacon interval idx at which hotspot
// beacons: a hash of its key and the interval, so hotspots spread over the
// interval and nobody can predict a slot without the key.
func Slot(hotspot []byte, idx, interval uint64) uint64 {
	if interval == 0 {
		return 0
	}
	h := sha256.New()
	h.Write([]byte("hexproof/beacon-slot/v1\x00"))
	h.Write(hotspot)
	h.Write(binary.BigEndian.AppendUint64(nil, idx))
	return binary.BigEndian.Uint64(h.Sum(nil)[:8]) % interval
}

// Due reports whether a hotspot should beacon at height: it is past its slot
// in the current interval, has not beaconed in this interval, and at least
// one interval passed since its last entropy height.
func Due(hotspot []byte, height, interval, lastInterval, lastEntropy uint64) bool {
	if interval == 0 {
		return false
	}
	idx := height / interval
	if lastEntropy != 0 && (idx <= lastInterval || height < lastEntropy+interval) {
		return false
	}
	return height >= idx*interval+Slot(hotspot, idx, interval)
}

// Run polls the chain head and beacons when due, until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTicker(e.cfg.PollInterval)
	defer t.Stop()
	for {
		e.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (e *Engine) tick(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := e.chain.Params(cctx)
	if err == nil {
		var b Block
		b, err = e.chain.LatestBlock(cctx)
		e.mu.Lock()
		e.params, e.head = p, b
		e.mu.Unlock()
	}
	e.mu.Lock()
	e.chainOK = err == nil
	st := e.state
	e.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("read chain head for beacons", "err", err)
		}
		return
	}
	site, ok := e.site()
	if !ok || site.DataOnly {
		return
	}
	e.mu.Lock()
	b, retryAt := e.head, e.retryAt
	e.mu.Unlock()
	if time.Now().Before(retryAt) {
		return
	}
	last := max(st.LastEntropyHeight, site.LastBeaconHeight)
	lastIdx := st.LastInterval
	if p.BeaconIntervalBlocks > 0 && site.LastBeaconHeight > st.LastEntropyHeight {
		lastIdx = max(lastIdx, site.LastBeaconHeight/p.BeaconIntervalBlocks)
	}
	if !Due(e.cfg.Key.PublicKey(), b.Height, p.BeaconIntervalBlocks, lastIdx, last) {
		return
	}
	if err := e.Beacon(ctx, b, site, p.BeaconIntervalBlocks); err != nil && ctx.Err() == nil {
		e.log.Warn("beacon", "err", err)
	}
}

// Beacon transmits the beacon of entropy block b now.
func (e *Engine) Beacon(ctx context.Context, b Block, site Site, interval uint64) error {
	bc, err := beacon.Derive(b.Hash, e.cfg.Key.PublicKey(), site.Region)
	if err != nil {
		return fmt.Errorf("derive beacon: %w", err)
	}
	power := beacon.TxPowerDBm(site.Region, site.GainDdbi)
	// Record the interval before transmitting: a crash after the
	// transmission must not lead to a second beacon in the same interval.
	e.mu.Lock()
	prev := e.state
	if interval > 0 {
		e.state.LastInterval = b.Height / interval
	}
	e.state.LastEntropyHeight = b.Height
	st := e.state
	e.own[string(bc.Payload)] = time.Now()
	e.mu.Unlock()
	if err := e.saveState(st); err != nil {
		return err
	}
	w := &hexproofv1.DownlinkWindow{FrequencyHz: bc.FrequencyHz, Datarate: bc.DataRate, PowerDbm: power, Immediate: true, CodingRate: "4/5"}
	status, err := e.tx.Transmit(ctx, beacon.Frame(bc.Payload), w)
	info := &BeaconInfo{At: time.Now(), EntropyHeight: b.Height, FrequencyHz: bc.FrequencyHz, Datarate: bc.DataRate, TxPowerDBm: power,
		Ack: ackName(status)}
	if err != nil || status != hexproofv1.TxAckStatus_TX_ACK_STATUS_OK {
		if err != nil {
			info.Ack = "error: " + err.Error()
		}
		e.mu.Lock()
		e.last = info
		e.counters.BeaconFailures++
		e.retryAt = time.Now().Add(e.cfg.RetryDelay)
		// The gateway refused it or never got it: nothing went on air, so
		// the interval is still free. A timeout is different: the frame may
		// have gone out, and a second beacon in the interval is invalid.
		rollback := status != hexproofv1.TxAckStatus_TX_ACK_STATUS_TIMEOUT
		if rollback {
			e.state = prev
		}
		e.mu.Unlock()
		if rollback {
			if serr := e.saveState(prev); serr != nil {
				return serr
			}
		}
		return fmt.Errorf("beacon not transmitted (ack %s): %v", info.Ack, err)
	}
	r := &hexproofv1.BeaconReport{
		Hotspot: e.cfg.Key.PublicKey(), EntropyHeight: b.Height, Entropy: b.Hash, Payload: bc.Payload,
		FrequencyHz: bc.FrequencyHz, Datarate: bc.DataRate, TxPowerDbm: power, TransmittedAtMs: uint64(info.At.UnixMilli()),
	}
	if err := e.cfg.Key.SignMessage(identity.DomainBeacon, r); err != nil {
		return fmt.Errorf("sign beacon report: %w", err)
	}
	id, err := BeaconID(r)
	if err != nil {
		return err
	}
	info.ID = hex.EncodeToString(id)
	rec, err := e.enc.Beacon(r)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.last = info
	e.counters.Beacons++
	e.mu.Unlock()
	e.log.Info("beacon transmitted", "entropy_height", b.Height, "frequency_hz", bc.FrequencyHz, "datarate", bc.DataRate, "tx_power_dbm", power, "id", info.ID)
	return e.sink.Enqueue("beacon", rec)
}

// BeaconID is the id the chain indexes a beacon by: SHA-256 of the
// deterministic encoding of the signed report (chain/client.BeaconID).
func BeaconID(r *hexproofv1.BeaconReport) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode beacon report: %w", err)
	}
	h := sha256.Sum256(b)
	return h[:], nil
}

func ackName(s hexproofv1.TxAckStatus) string {
	n := s.String()
	if len(n) > len("TX_ACK_STATUS_") {
		return n[len("TX_ACK_STATUS_"):]
	}
	return n
}

func (e *Engine) saveState(st state) error {
	if e.cfg.StatePath == "" {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := queue.WriteFileSync(e.cfg.StatePath, b, 0o600); err != nil {
		return fmt.Errorf("save beacon state: %w", err)
	}
	return nil
}

// Heard handles a beacon frame's payload received by this hotspot's radio.
// It reports whether a witness report was queued.
func (e *Engine) Heard(payload []byte, meta *hexproofv1.RadioMeta) (bool, error) {
	now := time.Now()
	site, ok := e.site()
	e.mu.Lock()
	e.expire(now)
	key := string(payload)
	switch {
	case !ok || site.DataOnly:
		e.counters.IgnoredNoSite++
		e.mu.Unlock()
		return false, nil
	case !e.own[key].IsZero():
		e.counters.IgnoredOwn++
		e.mu.Unlock()
		return false, nil
	case !e.heard[key].IsZero():
		e.counters.IgnoredRepeat++
		e.mu.Unlock()
		return false, nil
	}
	e.heard[key] = now
	e.mu.Unlock()

	m := proto.Clone(meta).(*hexproofv1.RadioMeta)
	m.Region = site.Region
	r := &hexproofv1.WitnessReport{Hotspot: e.cfg.Key.PublicKey(), Payload: append([]byte(nil), payload...), Radio: m}
	if err := e.cfg.Key.SignMessage(identity.DomainWitness, r); err != nil {
		return false, fmt.Errorf("sign witness report: %w", err)
	}
	rec, err := e.enc.Witness(r)
	if err != nil {
		return false, err
	}
	if err := e.sink.Enqueue("witness", rec); err != nil {
		return false, err
	}
	e.mu.Lock()
	e.counters.Witnesses++
	e.witnesses = append(e.witnesses, WitnessInfo{At: now, Payload: hex.EncodeToString(payload), FrequencyHz: m.GetFrequencyHz(),
		Datarate: m.GetDatarate(), RssiDbm: m.GetRssiDbm(), SnrCb: m.GetSnrCb()})
	if len(e.witnesses) > recentWitnesses {
		e.witnesses = e.witnesses[len(e.witnesses)-recentWitnesses:]
	}
	e.mu.Unlock()
	return true, nil
}

func (e *Engine) expire(now time.Time) {
	for k, t := range e.heard {
		if now.Sub(t) > e.cfg.WitnessDedup {
			delete(e.heard, k)
		}
	}
	for k, t := range e.own {
		if now.Sub(t) > e.cfg.WitnessDedup {
			delete(e.own, k)
		}
	}
}

// Snapshot is PoC state for the status API.
type Snapshot struct {
	ChainOK    bool          `json:"chain_ok"`
	Height     uint64        `json:"height"`
	Interval   uint64        `json:"beacon_interval_blocks"`
	LastBeacon *BeaconInfo   `json:"last_beacon,omitempty"`
	Witnesses  []WitnessInfo `json:"recent_witnesses"`
	Counters   Counters      `json:"counters"`
}

// Snapshot copies the current state.
func (e *Engine) Snapshot() Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Snapshot{ChainOK: e.chainOK, Height: e.head.Height, Interval: e.params.BeaconIntervalBlocks, Counters: e.counters,
		Witnesses: append([]WitnessInfo(nil), e.witnesses...)}
	if e.last != nil {
		c := *e.last
		s.LastBeacon = &c
	}
	return s
}
