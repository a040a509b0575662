package bridge

import (
	"net/netip"
	"sync"
	"time"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

type gateway struct {
	id       string
	addr     netip.AddrPort
	version  uint8
	lastPull time.Time
}

// registry maps gateways to their downlink address (the source of their
// PULL_DATA).
type registry struct {
	mu  sync.Mutex
	gws map[gwmp.EUI64]*gateway
}

// maxGateways bounds the registry, so that PULL_DATA with made-up gateway
// ids cannot grow memory without end.
const maxGateways = 10000

// pull records a PULL_DATA; isNew is true when the gateway just came
// online, moved when its address changed; id is "" when the registry is
// full.
func (r *registry) pull(eui gwmp.EUI64, addr netip.AddrPort, version uint8, now time.Time) (id string, isNew, moved bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.gws[eui]
	if !ok {
		if len(r.gws) >= maxGateways {
			return "", false, false
		}
		g = &gateway{id: eui.String()}
		r.gws[eui] = g
	}
	moved = ok && g.addr != addr
	g.addr, g.version, g.lastPull = addr, version, now
	return g.id, !ok, moved
}

func (r *registry) get(eui gwmp.EUI64) (gateway, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.gws[eui]
	if !ok {
		return gateway{}, false
	}
	return *g, true
}

// expire removes the gateways last heard before cutoff.
func (r *registry) expire(cutoff time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for eui, g := range r.gws {
		if g.lastPull.Before(cutoff) {
			ids = append(ids, g.id)
			delete(r.gws, eui)
		}
	}
	return ids
}

func (r *registry) removeAll() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.gws))
	for _, g := range r.gws {
		ids = append(ids, g.id)
	}
	clear(r.gws)
	return ids
}
