package explorer

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uber/h3-go/v4"

	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/oracle/store"
)

//go:embed web
var webFiles embed.FS

// Config tunes the explorer.
type Config struct {
	// TileURL, when set, is an XYZ tile URL template ("https://.../{z}/{x}/{y}.png")
	// the map draws under the hexes. Empty: hexes only (works offline).
	TileURL string
	// HexCacheTTL bounds how stale /hexes may be (default 2 s).
	HexCacheTTL time.Duration
}

// Head returns the chain's latest height (nil when the oracle has no chain).
type Head func(ctx context.Context) (int64, error)

// Server is the explorer HTTP API and web page.
type Server struct {
	cfg  Config
	log  *slog.Logger
	pool *pgxpool.Pool
	head Head
	hex  *hexCache
}

// New returns an explorer over the indexed database.
func New(cfg Config, logger *slog.Logger, pool *pgxpool.Pool, head Head) *Server {
	if cfg.HexCacheTTL <= 0 {
		cfg.HexCacheTTL = 2 * time.Second
	}
	return &Server{cfg: cfg, log: logger, pool: pool, head: head, hex: newHexCache(pool, cfg.HexCacheTTL)}
}

// Handler serves /api/v1/... and the web page at /.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/status", s.status)
	mux.HandleFunc("GET /api/v1/config", s.config)
	mux.HandleFunc("GET /api/v1/hotspots", s.hotspots)
	mux.HandleFunc("GET /api/v1/hotspots/{address}", s.hotspot)
	mux.HandleFunc("GET /api/v1/hexes", s.hexes)
	mux.HandleFunc("GET /api/v1/links", s.links)
	mux.HandleFunc("GET /api/v1/epochs", s.epochs)
	mux.HandleFunc("GET /api/v1/epochs/{n}/rewards", s.epochRewards)
	mux.HandleFunc("GET /api/v1/ouis", s.ouis)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API path; see docs/api.md")
	})
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	files := http.FileServer(http.FS(sub))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Warn("explorer query failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusServiceUnavailable, "database unavailable; retry shortly")
}

// CellString renders a cell as the chain does: lower-case hex, 15 digits
// for resolution 12 cells.
func CellString(c uint64) string { return strconv.FormatUint(c, 16) }

func center(c uint64) (float64, float64, bool) {
	ll, err := h3.Cell(c).LatLng()
	if err != nil || !h3.Cell(c).IsValid() {
		return 0, 0, false
	}
	return round6(ll.Lat), round6(ll.Lng), true
}

func round6(f float64) float64 {
	return float64(int64(f*1e6+sign(f)*0.5)) / 1e6
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be an integer in %d..%d", name, lo, hi)
	}
	return n, nil
}

// Status is the answer of GET /api/v1/status.
type Status struct {
	ChainID       string `json:"chain_id"`
	Height        *int64 `json:"height"`
	IndexedHeight int64  `json:"indexed_height"`
	IndexedTime   string `json:"indexed_time,omitempty"`
	Hotspots      int64  `json:"hotspots"`
	Beacons       int64  `json:"beacons"`
	LastEpoch     *int64 `json:"last_epoch"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	h, chain, err := store.Cursor(ctx, s.pool)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := Status{ChainID: chain, IndexedHeight: h}
	var t *time.Time
	err = s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM hotspots), (SELECT count(*) FROM beacons),
		(SELECT max(epoch) FROM epochs), (SELECT time FROM blocks WHERE height = $1)`, h).Scan(&st.Hotspots, &st.Beacons, &st.LastEpoch, &t)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if t != nil {
		st.IndexedTime = t.UTC().Format(time.RFC3339)
	}
	if s.head != nil {
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if ch, err := s.head(hctx); err == nil {
			st.Height = &ch
		}
		cancel()
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"tile_url": s.cfg.TileURL})
}

// Hotspot is a hotspot in the API.
type Hotspot struct {
	Address     string   `json:"address"`
	Owner       string   `json:"owner"`
	Mode        string   `json:"mode"`
	Location    *string  `json:"location"`
	Lat         *float64 `json:"lat"`
	Lng         *float64 `json:"lng"`
	GainDdbi    int32    `json:"gain_ddbi"`
	ElevationM  int32    `json:"elevation_m"`
	Region      string   `json:"region"`
	AddedHeight int64    `json:"added_height"`
	Updated     int64    `json:"updated_height"`
}

const hotspotCols = `address, owner, mode, location, gain_ddbi, elevation_m, region, added_height, updated_height`

func scanHotspot(row pgx.Row) (Hotspot, error) {
	var h Hotspot
	var loc *int64
	if err := row.Scan(&h.Address, &h.Owner, &h.Mode, &loc, &h.GainDdbi, &h.ElevationM, &h.Region, &h.AddedHeight, &h.Updated); err != nil {
		return h, err
	}
	if loc != nil {
		c := uint64(*loc)
		str := CellString(c)
		h.Location = &str
		if lat, lng, ok := center(c); ok {
			h.Lat, h.Lng = &lat, &lng
		}
	}
	return h, nil
}

func (s *Server) hotspots(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	offset, err := intParam(r, "offset", 0, 0, 1<<30)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := `SELECT ` + hotspotCols + ` FROM hotspots`
	args := []any{limit, offset}
	if owner := r.URL.Query().Get("owner"); owner != "" {
		if _, err := identity.ParseAddress(owner); err != nil {
			writeError(w, http.StatusBadRequest, "owner must be an hxp1... address")
			return
		}
		q += ` WHERE owner = $3`
		args = append(args, owner)
	}
	q += ` ORDER BY address LIMIT $1 OFFSET $2`
	rs, err := s.pool.Query(r.Context(), q, args...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rs.Close()
	out := []Hotspot{}
	for rs.Next() {
		h, err := scanHotspot(rs)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, h)
	}
	if err := rs.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	var total int64
	if err := s.pool.QueryRow(r.Context(), `SELECT count(*) FROM hotspots`).Scan(&total); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"hotspots": out, "total": total, "limit": limit, "offset": offset})
}
