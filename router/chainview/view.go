package chainview

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// ErrNotFound is returned by a Source for a hotspot or OUI the chain does
// not know.
var ErrNotFound = errors.New("not found on chain")

// ErrNoData is returned while the view has never reached the chain.
var ErrNoData = errors.New("no chain data yet")

// Status is the chain's identity and clock.
type Status struct {
	ChainID string
	Height  int64
	Epoch   uint64
}

// OUI is one OUI as the chain sees it.
type OUI struct {
	ID     uint64
	Config *hexproofv1.OuiConfig
	// EscrowDC is the DC left in the OUI's escrow.
	EscrowDC uint64
}

// Hotspot is an onboarded hotspot.
type Hotspot struct {
	Owner []byte
	Mode  hexproofv1.HotspotMode
}

// Source reads the chain. chain/client's adapter implements it; tests use
// an in-memory chain.
type Source interface {
	Status(ctx context.Context) (Status, error)
	OUI(ctx context.Context, id uint64) (OUI, error)
	// Hotspot returns ErrNotFound for a key that is not onboarded.
	Hotspot(ctx context.Context, pub []byte) (Hotspot, error)
	// VoucherPaid returns the DC the chain has paid on the voucher of an
	// OUI, hotspot and epoch (0 when never claimed).
	VoucherPaid(ctx context.Context, oui uint64, hotspot []byte, epoch uint64) (uint64, error)
}

// VoucherPaid asks the chain what it paid on a voucher.
func (v *View) VoucherPaid(ctx context.Context, oui uint64, hotspot []byte, epoch uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	return v.src.VoucherPaid(ctx, oui, hotspot, epoch)
}

// Config tunes the view.
type Config struct {
	// OUIs the router serves.
	OUIs []uint64
	// RouterKey is this router's public key; Refresh warns when an OUI
	// does not list it.
	RouterKey []byte
	// Refresh is the period of status and OUI refreshes.
	Refresh time.Duration
	// HotspotTTL is how long a hotspot found on chain is trusted without
	// asking again; HotspotMissTTL the same for a hotspot not found.
	HotspotTTL, HotspotMissTTL time.Duration
	// Timeout bounds one chain query.
	Timeout time.Duration
}

// Snapshot is one consistent refresh of status and OUIs.
type Snapshot struct {
	Status    Status
	OUIs      []OUI
	FetchedAt time.Time
}

type hotspotEntry struct {
	h       Hotspot
	found   bool
	fetched time.Time
}

// View caches a Source. Start it with Run.
type View struct {
	cfg    Config
	src    Source
	log    *slog.Logger
	now    func() time.Time
	snap   atomic.Pointer[Snapshot]
	notify func(*Snapshot)

	mu       sync.Mutex
	hotspots map[[32]byte]hotspotEntry
}

// New returns a view; onRefresh (may be nil) is called after each
// successful refresh, from Run's goroutine.
func New(cfg Config, src Source, logger *slog.Logger, onRefresh func(*Snapshot)) *View {
	if cfg.Refresh <= 0 {
		cfg.Refresh = 30 * time.Second
	}
	if cfg.HotspotTTL <= 0 {
		cfg.HotspotTTL = 10 * time.Minute
	}
	if cfg.HotspotMissTTL <= 0 {
		cfg.HotspotMissTTL = 30 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	return &View{cfg: cfg, src: src, log: logger, now: time.Now, notify: onRefresh, hotspots: map[[32]byte]hotspotEntry{}}
}

// Snapshot returns the last good refresh, or nil before the first one.
func (v *View) Snapshot() *Snapshot { return v.snap.Load() }

// Refresh reads status and every served OUI once. On error the previous
// snapshot stays in place.
func (v *View) Refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	st, err := v.src.Status(ctx)
	if err != nil {
		return fmt.Errorf("read chain status: %w", err)
	}
	s := &Snapshot{Status: st, FetchedAt: v.now()}
	for _, id := range v.cfg.OUIs {
		o, err := v.src.OUI(ctx, id)
		if errors.Is(err, ErrNotFound) {
			v.log.Warn("served oui not on chain; register it or fix --ouis", "oui", id, "chain_id", st.ChainID)
			continue
		}
		if err != nil {
			return fmt.Errorf("read oui %d: %w", id, err)
		}
		if len(v.cfg.RouterKey) > 0 && !listsRouter(o.Config, v.cfg.RouterKey) {
			v.log.Warn("oui does not list this router's key; hotspots' vouchers from it will not be paid", "oui", id)
		}
		s.OUIs = append(s.OUIs, o)
	}
	v.snap.Store(s)
	if v.notify != nil {
		v.notify(s)
	}
	return nil
}

func listsRouter(c *hexproofv1.OuiConfig, key []byte) bool {
	for _, r := range c.GetRouters() {
		if string(r.GetPublicKey()) == string(key) {
			return true
		}
	}
	return false
}

// Run refreshes every Refresh period until ctx ends. It retries quickly
// (every second) until the first success.
func (v *View) Run(ctx context.Context) error {
	failing := false
	for {
		err := v.Refresh(ctx)
		switch {
		case err != nil && !failing:
			if v.snap.Load() != nil {
				v.log.Warn("chain unreachable; serving cached data", "err", err)
			} else {
				v.log.Warn("chain unreachable; retrying", "err", err)
			}
			failing = true
		case err == nil && failing:
			v.log.Info("chain reachable again")
			failing = false
		}
		wait := v.cfg.Refresh
		if v.snap.Load() == nil {
			wait = min(wait, time.Second)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Hotspot tells whether pub is onboarded, from the cache when fresh. When
// the chain is unreachable a previously found hotspot stays accepted.
func (v *View) Hotspot(ctx context.Context, pub []byte) (Hotspot, bool, error) {
	var k [32]byte
	if len(pub) != len(k) {
		return Hotspot{}, false, nil
	}
	copy(k[:], pub)
	now := v.now()
	v.mu.Lock()
	e, cached := v.hotspots[k]
	v.mu.Unlock()
	if cached {
		ttl := v.cfg.HotspotMissTTL
		if e.found {
			ttl = v.cfg.HotspotTTL
		}
		if now.Sub(e.fetched) < ttl {
			return e.h, e.found, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	h, err := v.src.Hotspot(ctx, pub)
	switch {
	case err == nil:
		e = hotspotEntry{h: h, found: true, fetched: now}
	case errors.Is(err, ErrNotFound):
		e = hotspotEntry{fetched: now}
	default:
		if cached && e.found {
			return e.h, true, nil
		}
		return Hotspot{}, false, fmt.Errorf("look up hotspot: %w", err)
	}
	v.mu.Lock()
	if len(v.hotspots) > 1_000_000 {
		clear(v.hotspots) // bounded; refilled on demand
	}
	v.hotspots[k] = e
	v.mu.Unlock()
	return e.h, e.found, nil
}
