package price

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Quote is a price observation: micro-USD per whole HXP.
type Quote struct {
	PriceUUSD uint64    `json:"price_uusd"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Source yields the current quote of one upstream.
type Source interface {
	Name() string
	Fetch(ctx context.Context, now time.Time) (Quote, error)
}

// Static is a fixed price, always fresh (single-box installs, tests).
type Static struct{ PriceUUSD uint64 }

// Name implements Source.
func (s Static) Name() string { return "static" }

// Fetch implements Source.
func (s Static) Fetch(_ context.Context, now time.Time) (Quote, error) {
	if s.PriceUUSD == 0 {
		return Quote{}, errors.New("static price is 0: set a positive price")
	}
	return Quote{PriceUUSD: s.PriceUUSD, UpdatedAt: now}, nil
}

// Simulated is the devnet feed: a deterministic price per time bucket, the
// same on every machine that uses the same seed, so all devnet validators
// vote the same price without talking to each other. The price moves within
// +-MaxSwingPct of Base from one bucket to the next.
type Simulated struct {
	Seed        string
	Base        uint64
	Bucket      time.Duration
	MaxSwingPct uint64
}

// Name implements Source.
func (s Simulated) Name() string { return "simulated" }

// At returns the quote of the bucket containing t.
func (s Simulated) At(t time.Time) Quote {
	bucket := s.Bucket
	if bucket <= 0 {
		bucket = time.Minute
	}
	idx := t.UnixNano() / int64(bucket)
	if t.UnixNano() < 0 && t.UnixNano()%int64(bucket) != 0 {
		idx--
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(idx))
	h := sha256.Sum256(append([]byte("hexproof/price-sim/v1\x00"+s.Seed+"\x00"), b[:]...))
	swing := s.MaxSwingPct
	if swing > 100 {
		swing = 100
	}
	// r in [0, 2*swing*100] basis points, centred on Base.
	span := 2*swing*100 + 1
	r := binary.BigEndian.Uint64(h[:8]) % span
	p := s.Base * (10000 - swing*100 + r) / 10000
	if p == 0 {
		p = 1
	}
	return Quote{PriceUUSD: p, UpdatedAt: time.Unix(0, idx*int64(bucket)).UTC()}
}

// Fetch implements Source.
func (s Simulated) Fetch(_ context.Context, now time.Time) (Quote, error) {
	if s.Base == 0 {
		return Quote{}, errors.New("simulated price base is 0: set a positive base")
	}
	return s.At(now), nil
}

// HTTPJSON reads a price from a JSON document at URL. Field is a dot path to
// a number (e.g. "data.price"); Scale multiplies it into micro-USD (1e6 when
// the upstream gives USD, 1 when it gives micro-USD). TimeField, when set, is
// a dot path to the upstream's own timestamp (RFC 3339 string or Unix
// seconds), so an upstream that stopped updating is seen as stale.
type HTTPJSON struct {
	URL       string
	Field     string
	Scale     float64
	TimeField string
	Client    *http.Client
}

// Name implements Source.
func (s HTTPJSON) Name() string { return "http " + s.URL }

// Fetch implements Source.
func (s HTTPJSON) Fetch(ctx context.Context, now time.Time) (Quote, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return Quote{}, fmt.Errorf("price upstream request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return Quote{}, fmt.Errorf("price upstream %s: %w", s.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Quote{}, fmt.Errorf("price upstream %s: status %s", s.URL, resp.Status)
	}
	var doc any
	dec := json.NewDecoder(io.LimitReader(resp.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return Quote{}, fmt.Errorf("price upstream %s: decode JSON: %w", s.URL, err)
	}
	return s.parse(doc, now)
}

func (s HTTPJSON) parse(doc any, now time.Time) (Quote, error) {
	v, err := lookupPath(doc, s.Field)
	if err != nil {
		return Quote{}, fmt.Errorf("price field %q: %w", s.Field, err)
	}
	f, err := number(v)
	if err != nil {
		return Quote{}, fmt.Errorf("price field %q: %w", s.Field, err)
	}
	scale := s.Scale
	if scale == 0 {
		scale = 1
	}
	p := math.Round(f * scale)
	if !(p >= 1) || p > math.MaxInt64 {
		return Quote{}, fmt.Errorf("price field %q: %v scaled by %v is not a positive price", s.Field, f, scale)
	}
	q := Quote{PriceUUSD: uint64(p), UpdatedAt: now}
	if s.TimeField != "" {
		tv, err := lookupPath(doc, s.TimeField)
		if err != nil {
			return Quote{}, fmt.Errorf("price time field %q: %w", s.TimeField, err)
		}
		switch x := tv.(type) {
		case string:
			ts, err := time.Parse(time.RFC3339, x)
			if err != nil {
				return Quote{}, fmt.Errorf("price time field %q: want RFC 3339: %w", s.TimeField, err)
			}
			q.UpdatedAt = ts
		default:
			sec, err := number(x)
			if err != nil {
				return Quote{}, fmt.Errorf("price time field %q: %w", s.TimeField, err)
			}
			q.UpdatedAt = time.Unix(int64(sec), 0)
		}
	}
	return q, nil
}

func lookupPath(doc any, path string) (any, error) {
	cur := doc
	if path == "" {
		return cur, nil
	}
	for _, part := range strings.Split(path, ".") {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[part]
			if !ok {
				return nil, fmt.Errorf("no key %q", part)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("no index %q", part)
			}
			cur = x[i]
		default:
			return nil, fmt.Errorf("cannot descend into %T at %q", cur, part)
		}
	}
	return cur, nil
}

func number(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case string:
		return strconv.ParseFloat(x, 64)
	case float64:
		return x, nil
	default:
		return 0, fmt.Errorf("%T is not a number", v)
	}
}

// Config configures a Feed.
type Config struct {
	// Poll is how often sources are fetched.
	Poll time.Duration
	// MaxAge: a quote older than this (by its UpdatedAt) is stale and not served.
	MaxAge time.Duration
}

// Feed polls its sources and serves the median of the fresh quotes.
type Feed struct {
	cfg     Config
	log     *slog.Logger
	sources []Source
	now     func() time.Time

	mu     sync.Mutex
	quotes map[int]Quote
}

// New returns a feed over sources; it fetches nothing until Run.
func New(cfg Config, logger *slog.Logger, now func() time.Time, sources ...Source) (*Feed, error) {
	if len(sources) == 0 {
		return nil, errors.New("price feed: no source configured: set a static price, an HTTP upstream or the simulated feed")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 10 * time.Second
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 5 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Feed{cfg: cfg, log: logger, sources: sources, now: now, quotes: map[int]Quote{}}, nil
}

// Run polls every source until ctx ends.
func (f *Feed) Run(ctx context.Context) error {
	t := time.NewTicker(f.cfg.Poll)
	defer t.Stop()
	for {
		f.Poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll fetches every source once and keeps the quotes that succeeded. A
// source that fails keeps its previous quote, which goes stale by itself.
func (f *Feed) Poll(ctx context.Context) {
	for i, s := range f.sources {
		fctx, cancel := context.WithTimeout(ctx, f.cfg.Poll)
		q, err := s.Fetch(fctx, f.now())
		cancel()
		if err != nil {
			f.log.Warn("price source failed", "source", s.Name(), "err", err)
			continue
		}
		f.mu.Lock()
		f.quotes[i] = q
		f.mu.Unlock()
	}
}

// ErrStale is returned by Current when no source has a fresh quote.
var ErrStale = errors.New("no fresh price")

// Current returns the median of the fresh quotes (the lower median for an
// even count, so the answer is always a price some source gave), dated by the
// oldest of them.
func (f *Feed) Current() (Quote, error) {
	now := f.now()
	f.mu.Lock()
	var fresh []Quote
	for _, q := range f.quotes {
		if age := now.Sub(q.UpdatedAt); age <= f.cfg.MaxAge && age >= -f.cfg.MaxAge {
			fresh = append(fresh, q)
		}
	}
	f.mu.Unlock()
	if len(fresh) == 0 {
		return Quote{}, ErrStale
	}
	slices.SortFunc(fresh, func(a, b Quote) int {
		switch {
		case a.PriceUUSD < b.PriceUUSD:
			return -1
		case a.PriceUUSD > b.PriceUUSD:
			return 1
		}
		return 0
	})
	out := fresh[(len(fresh)-1)/2]
	for _, q := range fresh {
		if q.UpdatedAt.Before(out.UpdatedAt) {
			out.UpdatedAt = q.UpdatedAt
		}
	}
	return out, nil
}

// Handler serves GET /api/v1/price: {"price_uusd": N, "updated_at": RFC3339},
// or 503 {"error": ...} when the price is stale.
func (f *Feed) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		q, err := f.Current()
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "no fresh price from any source"})
			return
		}
		_ = json.NewEncoder(w).Encode(struct {
			PriceUUSD uint64 `json:"price_uusd"`
			UpdatedAt string `json:"updated_at"`
		}{q.PriceUUSD, q.UpdatedAt.UTC().Format(time.RFC3339)})
	})
}
