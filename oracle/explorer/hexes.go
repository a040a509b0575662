package explorer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uber/h3-go/v4"

	"github.com/hexproof/hexproof/oracle/density"
)

// Hex is an occupied cell of GET /api/v1/hexes.
type Hex struct {
	H3       string  `json:"h3"`
	Hotspots int     `json:"hotspots"`
	Scale    float64 `json:"scale"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	// Boundary is the cell's polygon as [lat, lng] pairs (boundary=1).
	Boundary [][2]float64 `json:"boundary,omitempty"`
}

// hexCache keeps the density computation and the encoded /hexes answers.
// At most once per TTL a request starts a background check of the located
// hotspot set; when it changed, a new snapshot is computed while requests
// keep being served from the current one. Only the very first request
// waits for a computation.
type hexCache struct {
	pool *pgxpool.Pool
	ttl  time.Duration

	mu         sync.Mutex
	snap       *hexSnapshot
	checked    time.Time
	refreshing bool
}

type hexSnapshot struct {
	version [2]int64
	dm      *density.Map
	locs    []h3.Cell

	mu      sync.Mutex
	answers map[[2]int][]byte
}

func newHexCache(pool *pgxpool.Pool, ttl time.Duration) *hexCache {
	return &hexCache{pool: pool, ttl: ttl}
}

func (c *hexCache) version(ctx context.Context) ([2]int64, error) {
	var v [2]int64
	err := c.pool.QueryRow(ctx, `SELECT count(*), coalesce(max(updated_height), 0) FROM hotspots WHERE location IS NOT NULL`).Scan(&v[0], &v[1])
	if err != nil {
		return v, fmt.Errorf("hotspot version: %w", err)
	}
	return v, nil
}

func (c *hexCache) load(ctx context.Context, v [2]int64) (*hexSnapshot, error) {
	rs, err := c.pool.Query(ctx, `SELECT location FROM hotspots WHERE location IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("hotspot locations: %w", err)
	}
	var locs []h3.Cell
	for rs.Next() {
		var l int64
		if err := rs.Scan(&l); err != nil {
			rs.Close()
			return nil, fmt.Errorf("hotspot locations: %w", err)
		}
		if cell := h3.Cell(l); cell.IsValid() {
			locs = append(locs, cell)
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("hotspot locations: %w", err)
	}
	dm, err := density.Compute(locs, nil)
	if err != nil {
		return nil, err
	}
	return &hexSnapshot{version: v, dm: dm, locs: locs, answers: map[[2]int][]byte{}}, nil
}

// snapshot returns the current snapshot, computing the first one and
// starting a background refresh when the TTL passed.
func (c *hexCache) snapshot(ctx context.Context) (*hexSnapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap == nil {
		v, err := c.version(ctx)
		if err != nil {
			return nil, err
		}
		snap, err := c.load(ctx, v)
		if err != nil {
			return nil, err
		}
		c.snap, c.checked = snap, time.Now()
		return snap, nil
	}
	if time.Since(c.checked) >= c.ttl && !c.refreshing {
		c.refreshing = true
		old := c.snap
		go c.refresh(old)
	}
	return c.snap, nil
}

func (c *hexCache) refresh(old *hexSnapshot) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var snap *hexSnapshot
	v, err := c.version(ctx)
	if err == nil && v != old.version {
		snap, err = c.load(ctx, v)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		return // keep serving the old snapshot; the next request retries
	}
	c.checked = time.Now()
	if snap != nil {
		c.snap = snap
	}
}

// answer returns the encoded /hexes answer for res.
func (c *hexCache) answer(ctx context.Context, res int, boundary bool) ([]byte, error) {
	snap, err := c.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return snap.answer(res, boundary)
}

func (snap *hexSnapshot) answer(res int, boundary bool) ([]byte, error) {
	snap.mu.Lock()
	defer snap.mu.Unlock()
	key := [2]int{res, 0}
	if boundary {
		key[1] = 1
	}
	if b, ok := snap.answers[key]; ok {
		return b, nil
	}
	type agg struct {
		n     int
		scale float64
	}
	cells := map[h3.Cell]*agg{}
	for _, l := range snap.locs {
		p := density.Parent(l, res)
		a := cells[p]
		if a == nil {
			a = &agg{}
			cells[p] = a
		}
		a.n++
		a.scale += snap.dm.Scale(l)
	}
	out := make([]Hex, 0, len(cells))
	for cell, a := range cells {
		hx := Hex{H3: cell.String(), Hotspots: a.n, Scale: round6(a.scale / float64(a.n))}
		hx.Lat, hx.Lng, _ = center(uint64(cell))
		if boundary {
			b, err := cell.Boundary()
			if err != nil {
				return nil, fmt.Errorf("boundary of %s: %w", cell, err)
			}
			for _, ll := range b {
				hx.Boundary = append(hx.Boundary, [2]float64{round6(ll.Lat), round6(ll.Lng)})
			}
		}
		out = append(out, hx)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].H3 < out[j].H3 })
	b, err := json.Marshal(map[string]any{"res": res, "hexes": out})
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	snap.answers[key] = b
	return b, nil
}

// scaleOf returns the display density scale of a hotspot location.
func (c *hexCache) scaleOf(ctx context.Context, location string) (float64, error) {
	snap, err := c.snapshot(ctx)
	if err != nil {
		return 0, err
	}
	return round6(snap.dm.Scale(h3.CellFromString(location))), nil
}

func (s *Server) hexes(w http.ResponseWriter, r *http.Request) {
	res, err := intParam(r, "res", 8, 0, 12)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	boundary := r.URL.Query().Get("boundary") == "1" || r.URL.Query().Get("boundary") == "true"
	b, err := s.hex.answer(r.Context(), res, boundary)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
