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

// hexCache keeps the density computation and the encoded /hexes answers;
// it recomputes when the set of located hotspots changed, checking at most
// once per TTL, so a request is usually served from memory.
type hexCache struct {
	pool *pgxpool.Pool
	ttl  time.Duration

	mu      sync.Mutex
	checked time.Time
	version [2]int64
	dm      *density.Map
	locs    []h3.Cell
	answers map[[2]int][]byte
}

func newHexCache(pool *pgxpool.Pool, ttl time.Duration) *hexCache {
	return &hexCache{pool: pool, ttl: ttl, version: [2]int64{-1, -1}}
}

// refresh reloads the locations when they changed; c.mu must be held.
func (c *hexCache) refresh(ctx context.Context) error {
	if c.dm != nil && time.Since(c.checked) < c.ttl {
		return nil
	}
	var v [2]int64
	if err := c.pool.QueryRow(ctx, `SELECT count(*), coalesce(max(updated_height), 0) FROM hotspots WHERE location IS NOT NULL`).Scan(&v[0], &v[1]); err != nil {
		return fmt.Errorf("hotspot version: %w", err)
	}
	c.checked = time.Now()
	if c.dm != nil && v == c.version {
		return nil
	}
	rs, err := c.pool.Query(ctx, `SELECT location FROM hotspots WHERE location IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("hotspot locations: %w", err)
	}
	var locs []h3.Cell
	for rs.Next() {
		var l int64
		if err := rs.Scan(&l); err != nil {
			rs.Close()
			return fmt.Errorf("hotspot locations: %w", err)
		}
		if cell := h3.Cell(l); cell.IsValid() {
			locs = append(locs, cell)
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("hotspot locations: %w", err)
	}
	dm, err := density.Compute(locs, nil)
	if err != nil {
		return err
	}
	c.dm, c.locs, c.version, c.answers = dm, locs, v, map[[2]int][]byte{}
	return nil
}

// answer returns the encoded /hexes answer for res.
func (c *hexCache) answer(ctx context.Context, res int, boundary bool) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refresh(ctx); err != nil {
		return nil, err
	}
	key := [2]int{res, 0}
	if boundary {
		key[1] = 1
	}
	if b, ok := c.answers[key]; ok {
		return b, nil
	}
	type agg struct {
		n     int
		scale float64
	}
	cells := map[h3.Cell]*agg{}
	for _, l := range c.locs {
		p := l
		if l.Resolution() > res {
			var err error
			if p, err = l.Parent(res); err != nil {
				return nil, fmt.Errorf("parent of %s: %w", l, err)
			}
		}
		a := cells[p]
		if a == nil {
			a = &agg{}
			cells[p] = a
		}
		a.n++
		a.scale += c.dm.Scale(l)
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
	c.answers[key] = b
	return b, nil
}

// scaleOf returns the display density scale of a hotspot location.
func (c *hexCache) scaleOf(ctx context.Context, location string) (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refresh(ctx); err != nil {
		return 0, err
	}
	return round6(c.dm.Scale(h3.CellFromString(location))), nil
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
