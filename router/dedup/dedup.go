package dedup

import (
	"hash/maphash"
	"sync"
	"time"
)

// Copy is one hotspot's reception of a frame.
type Copy struct {
	Hotspot [32]byte
	RSSI    int32 // dBm
	SNR     int32 // centibels
	Tmst    uint32
}

// better reports whether c was heard better than o: stronger RSSI, then
// better SNR.
func (c Copy) better(o Copy) bool {
	if c.RSSI != o.RSSI {
		return c.RSSI > o.RSSI
	}
	return c.SNR > o.SNR
}

// Outcome is what Offer decided for a copy.
type Outcome uint8

// Outcomes of Offer.
const (
	// Buy: the copy is one of the first max_copies from distinct hotspots.
	Buy Outcome = iota + 1
	// Duplicate: enough copies were bought (or this hotspot's copy was).
	Duplicate
	// Late: the copy came after the dedup window but too soon to be a
	// retransmission by the device.
	Late
)

func (o Outcome) String() string {
	switch o {
	case Buy:
		return "buy"
	case Duplicate:
		return "duplicate"
	case Late:
		return "late"
	}
	return "unknown"
}

// Config bounds the cache.
type Config struct {
	// Window is how long after the first copy other copies count as copies
	// (200 ms in ChirpStack and The Things Stack).
	Window time.Duration
	// Retransmit is the age after which identical bytes are a new frame
	// (a device retransmits after its RX windows, 1 s at the earliest).
	Retransmit time.Duration
	// TTL is how long a frame's best hotspot stays known, for downlinks
	// (join accepts go out 5-6 s after the join request).
	TTL time.Duration
	// MaxEntries bounds memory; the oldest frames go first.
	MaxEntries int
}

// DefaultConfig is the configuration the router uses unless told otherwise.
var DefaultConfig = Config{Window: 200 * time.Millisecond, Retransmit: time.Second, TTL: 10 * time.Second, MaxEntries: 200_000}

const shards = 32

type entry struct {
	first  time.Time
	bought [][32]byte
	best   Copy
	gen    uint64
}

type queued struct {
	key string
	gen uint64
	at  time.Time
}

type shard struct {
	mu      sync.Mutex
	entries map[string]*entry
	fifo    []queued // insertion order; head at fifoHead
	head    int
	gen     uint64
}

// Cache is the dedup state. It is safe for concurrent use.
type Cache struct {
	cfg    Config
	seed   maphash.Seed
	shards [shards]shard
	max    int // per shard
}

// New returns an empty cache; zero fields of cfg take DefaultConfig's.
func New(cfg Config) *Cache {
	if cfg.Window <= 0 {
		cfg.Window = DefaultConfig.Window
	}
	if cfg.Retransmit < cfg.Window {
		cfg.Retransmit = max(DefaultConfig.Retransmit, cfg.Window)
	}
	if cfg.TTL < cfg.Retransmit {
		cfg.TTL = max(DefaultConfig.TTL, cfg.Retransmit)
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultConfig.MaxEntries
	}
	c := &Cache{cfg: cfg, seed: maphash.MakeSeed(), max: max(1, cfg.MaxEntries/shards)}
	for i := range c.shards {
		c.shards[i].entries = map[string]*entry{}
	}
	return c
}

func (c *Cache) shard(key string) *shard {
	return &c.shards[maphash.String(c.seed, key)%shards]
}

// expire drops entries older than TTL and, when full, the oldest ones.
func (s *shard) expire(now time.Time, ttl time.Duration, max int) {
	for s.head < len(s.fifo) {
		q := s.fifo[s.head]
		if len(s.entries) < max && now.Sub(q.at) < ttl {
			break
		}
		if e, ok := s.entries[q.key]; ok && e.gen == q.gen {
			delete(s.entries, q.key)
		}
		s.fifo[s.head] = queued{}
		s.head++
	}
	if s.head > 1024 && s.head*2 > len(s.fifo) {
		s.fifo = append(s.fifo[:0], s.fifo[s.head:]...)
		s.head = 0
	}
}

// Matters reports, without changing anything, whether Offer could do
// anything with cp: buy it or make it the best copy. When it could not, it
// also says why (Duplicate or Late). The router skips the signature check
// of copies that don't matter; they are dropped unread.
func (c *Cache) Matters(key string, cp Copy, maxCopies int, now time.Time) (bool, Outcome) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return true, 0
	}
	age := now.Sub(e.first)
	if age >= c.cfg.Retransmit {
		return true, 0
	}
	if age >= c.cfg.Window {
		return false, Late
	}
	if cp.better(e.best) || (len(e.bought) < maxCopies && !e.has(cp.Hotspot)) {
		return true, 0
	}
	return false, Duplicate
}

func (e *entry) has(h [32]byte) bool {
	for _, b := range e.bought {
		if b == h {
			return true
		}
	}
	return false
}

// Offer records cp for the frame key and says whether to buy it.
// first is true for the first copy of a frame.
func (c *Cache) Offer(key string, cp Copy, maxCopies int, now time.Time) (o Outcome, first bool) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if ok && now.Sub(e.first) >= c.cfg.Retransmit {
		ok = false // the device sent the same bytes again: a new frame
	}
	if !ok {
		s.expire(now, c.cfg.TTL, c.max)
		s.gen++
		e = &entry{first: now, best: cp, gen: s.gen}
		s.entries[key] = e
		s.fifo = append(s.fifo, queued{key: key, gen: s.gen, at: now})
		if maxCopies < 1 {
			return Duplicate, true
		}
		e.bought = append(make([][32]byte, 0, min(maxCopies, 8)), cp.Hotspot)
		return Buy, true
	}
	if now.Sub(e.first) >= c.cfg.Window {
		return Late, false
	}
	if cp.better(e.best) {
		e.best = cp
	}
	if len(e.bought) < maxCopies && !e.has(cp.Hotspot) {
		e.bought = append(e.bought, cp.Hotspot)
		return Buy, false
	}
	return Duplicate, false
}

// Unbuy gives back a copy Offer bought (the router could not pay for it).
func (c *Cache) Unbuy(key string, hotspot [32]byte) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return
	}
	for i, b := range e.bought {
		if b == hotspot {
			e.bought = append(e.bought[:i], e.bought[i+1:]...)
			return
		}
	}
}

// Best returns the best-heard copy of a frame still in the cache.
func (c *Cache) Best(key string, now time.Time) (Copy, bool) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || now.Sub(e.first) >= c.cfg.TTL {
		return Copy{}, false
	}
	return e.best, true
}

// Len returns the number of frames held.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}
