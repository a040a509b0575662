package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// StaticPrice is a fixed price source (micro-USD per HXP).
type StaticPrice uint64

// PriceUUSD implements app.PriceSource.
func (p StaticPrice) PriceUUSD() (uint64, bool) { return uint64(p), p > 0 }

// HTTPPrice polls a URL answering {"price_uusd": N} (the oracle's
// GET /api/v1/price). A value older than maxAge is not used: the validator
// then sends an empty vote extension rather than a stale price.
type HTTPPrice struct {
	url    string
	every  time.Duration
	maxAge time.Duration
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	price uint64
	at    time.Time
}

// NewHTTPPrice returns a poller of url; call Run to start polling.
func NewHTTPPrice(url string, every, maxAge time.Duration, logger *slog.Logger) *HTTPPrice {
	return &HTTPPrice{url: url, every: every, maxAge: maxAge, client: &http.Client{Timeout: 5 * time.Second}, log: logger, now: time.Now}
}

// PriceUUSD implements app.PriceSource.
func (p *HTTPPrice) PriceUUSD() (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.price == 0 || p.now().Sub(p.at) > p.maxAge {
		return 0, false
	}
	return p.price, true
}

// Run polls until ctx ends.
func (p *HTTPPrice) Run(ctx context.Context) error {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		if err := p.poll(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("price source unavailable; voting without a price", "url", p.url, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *HTTPPrice) poll(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	var body struct {
		PriceUUSD uint64 `json:"price_uusd"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body); err != nil {
		return fmt.Errorf("decode price: %w", err)
	}
	if body.PriceUUSD == 0 {
		return fmt.Errorf("price source returned price_uusd 0")
	}
	p.mu.Lock()
	p.price, p.at = body.PriceUUSD, p.now()
	p.mu.Unlock()
	return nil
}
