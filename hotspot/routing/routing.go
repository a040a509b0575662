package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hexproof/hexproof/hotspot/backoff"
	"github.com/hexproof/hexproof/hotspot/frame"
	"github.com/hexproof/hexproof/hotspot/queue"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// OUI is one registered OUI and its routing configuration.
type OUI struct {
	OUI    uint64
	Config *hexproofv1.OuiConfig
}

// Route is an OUI that wants a frame, with its routers.
type Route struct {
	OUI     uint64
	Routers []*hexproofv1.RouterEndpoint
}

type devRange struct {
	start, end uint32
	oui        int
}

// Table answers routing lookups; it is immutable once built.
type Table struct {
	ouis   []OUI
	ranges []devRange
	pairs  map[[2]uint64][]int
	// wild holds pairs with dev_eui 0, which match every DevEUI of the JoinEUI.
	wild map[uint64][]int
}

// NewTable indexes ouis.
func NewTable(ouis []OUI) *Table {
	t := &Table{ouis: ouis, pairs: map[[2]uint64][]int{}, wild: map[uint64][]int{}}
	for i, o := range ouis {
		for _, r := range o.Config.GetDevaddrRanges() {
			if r.GetStart() <= r.GetEnd() {
				t.ranges = append(t.ranges, devRange{r.GetStart(), r.GetEnd(), i})
			}
		}
		for _, p := range o.Config.GetEuiPairs() {
			if p.GetDevEui() == 0 {
				t.wild[p.GetJoinEui()] = appendOnce(t.wild[p.GetJoinEui()], i)
			} else {
				k := [2]uint64{p.GetJoinEui(), p.GetDevEui()}
				t.pairs[k] = appendOnce(t.pairs[k], i)
			}
		}
	}
	sort.Slice(t.ranges, func(i, j int) bool { return t.ranges[i].start < t.ranges[j].start })
	return t
}

func appendOnce(s []int, v int) []int {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// Len is the number of OUIs.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.ouis)
}

// OUIs returns the indexed OUIs.
func (t *Table) OUIs() []OUI {
	if t == nil {
		return nil
	}
	return t.ouis
}

// Lookup returns the OUIs that want a join or data frame, each once, in
// OUI-number order.
func (t *Table) Lookup(info frame.Info) []Route {
	if t == nil {
		return nil
	}
	var idx []int
	switch info.Kind {
	case frame.Data:
		for _, r := range t.ranges {
			if r.start > info.DevAddr {
				break
			}
			if info.DevAddr <= r.end {
				idx = appendOnce(idx, r.oui)
			}
		}
	case frame.Join:
		for _, i := range t.pairs[[2]uint64{info.JoinEUI, info.DevEUI}] {
			idx = appendOnce(idx, i)
		}
		for _, i := range t.wild[info.JoinEUI] {
			idx = appendOnce(idx, i)
		}
	}
	routes := make([]Route, 0, len(idx))
	for _, i := range idx {
		routes = append(routes, Route{OUI: t.ouis[i].OUI, Routers: t.ouis[i].Config.GetRouters()})
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].OUI < routes[j].OUI })
	return routes
}

// Source reads the routing table from the chain.
type Source interface {
	OUIs(ctx context.Context) ([]OUI, error)
}

// Cache keeps the latest table.
type Cache struct {
	path     string
	src      Source
	interval time.Duration
	log      *slog.Logger

	table     atomic.Pointer[Table]
	refreshed atomic.Int64 // unix ms of the last successful refresh
	changed   chan struct{}
}

// NewCache loads the table persisted at path (if any). interval is the
// refresh period.
func NewCache(path string, src Source, interval time.Duration, log *slog.Logger) (*Cache, error) {
	c := &Cache{path: path, src: src, interval: interval, log: log, changed: make(chan struct{}, 1)}
	c.table.Store(NewTable(nil))
	if path == "" {
		return c, nil
	}
	ouis, err := load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		// A damaged cache is only a cache: the chain will give a fresh one.
		log.Warn("ignoring unreadable routing cache", "path", path, "err", err)
		return c, nil
	}
	c.table.Store(NewTable(ouis))
	c.notify()
	return c, nil
}

// Table returns the current table (never nil).
func (c *Cache) Table() *Table { return c.table.Load() }

// Refreshed is when the chain last answered.
func (c *Cache) Refreshed() time.Time {
	if ms := c.refreshed.Load(); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Time{}
}

// Changed is signalled after the table changed.
func (c *Cache) Changed() <-chan struct{} { return c.changed }

func (c *Cache) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// Refresh reads the table from the chain once.
func (c *Cache) Refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ouis, err := c.src.OUIs(ctx)
	if err != nil {
		return fmt.Errorf("read routing table from chain: %w", err)
	}
	c.table.Store(NewTable(ouis))
	c.refreshed.Store(time.Now().UnixMilli())
	c.notify()
	if c.path != "" {
		if err := save(c.path, ouis); err != nil {
			c.log.Warn("persist routing cache", "err", err)
		}
	}
	return nil
}

// Run refreshes every interval, retrying failures with backoff, until ctx ends.
func (c *Cache) Run(ctx context.Context) error {
	bo := backoff.Backoff{Min: time.Second, Max: c.interval}
	for {
		if err := c.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.log.Warn("routing refresh failed; keeping cached table", "err", err, "ouis", c.Table().Len())
			if !bo.Sleep(ctx) {
				return nil
			}
			continue
		}
		bo.Reset()
		t := time.NewTimer(c.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

type fileOUI struct {
	OUI    uint64          `json:"oui"`
	Config json.RawMessage `json:"config"`
}

func save(path string, ouis []OUI) error {
	out := make([]fileOUI, 0, len(ouis))
	for _, o := range ouis {
		b, err := protojson.Marshal(o.Config)
		if err != nil {
			return err
		}
		out = append(out, fileOUI{OUI: o.OUI, Config: b})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return queue.WriteFileSync(path, b, 0o600)
}

func load(path string) ([]OUI, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var in []fileOUI
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	out := make([]OUI, 0, len(in))
	for _, f := range in {
		var cfg hexproofv1.OuiConfig
		if err := protojson.Unmarshal(f.Config, &cfg); err != nil {
			return nil, err
		}
		out = append(out, OUI{OUI: f.OUI, Config: &cfg})
	}
	return out, nil
}
