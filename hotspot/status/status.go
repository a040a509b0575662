package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hexproof/hexproof/hotspot/oracleconn"
	"github.com/hexproof/hexproof/hotspot/poc"
	"github.com/hexproof/hexproof/hotspot/routerconn"
)

// Status is the JSON document of GET /status.
type Status struct {
	Version string                  `json:"version"`
	Address string                  `json:"address"`
	Now     time.Time               `json:"now"`
	Hotspot *Hotspot                `json:"hotspot,omitempty"`
	Bridge  Bridge                  `json:"bridge"`
	Chain   Chain                   `json:"chain"`
	Routers []routerconn.PeerStatus `json:"routers"`
	Oracles []oracleconn.Status     `json:"oracles"`
	PoC     poc.Snapshot            `json:"poc"`
	Packets Packets                 `json:"packets"`
	Queues  Queues                  `json:"queues"`
	Routing Routing                 `json:"routing"`
	History []PocEntry              `json:"poc_history,omitempty"`
	Rewards []Reward                `json:"rewards,omitempty"`
}

// Hotspot is the on-chain record of this hotspot.
type Hotspot struct {
	Owner      string `json:"owner"`
	Mode       string `json:"mode"`
	Location   string `json:"location,omitempty"`
	Region     string `json:"region,omitempty"`
	GainDdbi   int32  `json:"gain_ddbi"`
	ElevationM int32  `json:"elevation_m"`
	Onboarded  bool   `json:"onboarded"`
	// LastBeaconHeight is the entropy height of the last beacon the chain
	// accepted (0: none).
	LastBeaconHeight uint64 `json:"last_beacon_height,omitempty"`
}

// Bridge is the MQTT link's state.
type Bridge struct {
	GatewayID     string    `json:"gateway_id"`
	MQTTConnected bool      `json:"mqtt_connected"`
	BridgeOnline  bool      `json:"bridge_online"`
	LastEvent     time.Time `json:"last_event,omitzero"`
}

// Chain is the chain RPC's state.
type Chain struct {
	Connected bool      `json:"connected"`
	ChainID   string    `json:"chain_id,omitempty"`
	Height    uint64    `json:"height"`
	LastOK    time.Time `json:"last_ok,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Packets counts the data path.
type Packets struct {
	Uplinks     uint64 `json:"uplinks"`
	CRCFailed   uint64 `json:"crc_failed"`
	Forwarded   uint64 `json:"forwarded"`
	Unroutable  uint64 `json:"unroutable"`
	Dropped     uint64 `json:"dropped"`
	Beacons     uint64 `json:"beacons_heard"`
	Downlinks   uint64 `json:"downlinks"`
	DownlinksOK uint64 `json:"downlinks_ok"`
}

// Queues are the durable outbox depths.
type Queues struct {
	Oracles  map[string]int `json:"oracles"`
	Vouchers int            `json:"vouchers"`
}

// Routing is the cached routing table's state.
type Routing struct {
	OUIs      int       `json:"ouis"`
	Refreshed time.Time `json:"refreshed,omitzero"`
}

// PocEntry is one beacon or witness as the chain judged it.
type PocEntry struct {
	Kind     string `json:"kind"`
	BeaconID string `json:"beacon_id"`
	Height   int64  `json:"height"`
	Beaconer string `json:"beaconer"`
	Valid    bool   `json:"valid"`
	Reason   string `json:"reason,omitempty"`
}

// Reward is what the hotspot earned in one epoch (micro-HXP).
type Reward struct {
	Epoch   uint64 `json:"epoch"`
	Beacon  uint64 `json:"beacon_uhxp"`
	Witness uint64 `json:"witness_uhxp"`
	Data    uint64 `json:"data_uhxp"`
	Total   uint64 `json:"total_uhxp"`
}

// Metric is one sample of the Prometheus text exposition. The agent writes
// its few metrics itself: the Prometheus client library would cost a
// gateway several MB of resident memory.
type Metric struct {
	Name string
	Help string
	// Type is "counter" or "gauge".
	Type string
	// Labels, if any, as `key="value",...` (already escaped).
	Labels string
	Value  float64
}

// WriteMetrics writes ms in the Prometheus text format (version 0.0.4);
// samples of one name must be adjacent.
func WriteMetrics(w io.Writer, ms []Metric) error {
	last := ""
	for _, m := range ms {
		if m.Name != last {
			if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.Name, m.Help, m.Name, m.Type); err != nil {
				return err
			}
			last = m.Name
		}
		var err error
		if m.Labels != "" {
			_, err = fmt.Fprintf(w, "%s{%s} %s\n", m.Name, m.Labels, strconv.FormatFloat(m.Value, 'g', -1, 64))
		} else {
			_, err = fmt.Fprintf(w, "%s %s\n", m.Name, strconv.FormatFloat(m.Value, 'g', -1, 64))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Label renders one label pair with the value escaped.
func Label(k, v string) string {
	return k + "=" + strconv.Quote(v)
}

// Server serves the API.
type Server struct {
	ln      net.Listener
	src     func() Status
	metrics func() []Metric
	log     *slog.Logger
}

// New builds the server on ln (bind it to 127.0.0.1: the API is local).
func New(ln net.Listener, src func() Status, metrics func() []Metric, log *slog.Logger) *Server {
	return &Server{ln: ln, src: src, metrics: metrics, log: log}
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s.src()); err != nil {
			s.log.Debug("write status", "err", err)
		}
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if err := WriteMetrics(w, s.metrics()); err != nil {
			s.log.Debug("write metrics", "err", err)
		}
	})
	return mux
}

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("stop status server: %w", err)
		}
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("status server: %w", err)
	}
}

// Fetch reads /status from a running agent at base ("http://127.0.0.1:4467").
func Fetch(ctx context.Context, base string) (*Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the hotspot agent at %s (is `hotspot run` running?): %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("hotspot agent status: HTTP %d", resp.StatusCode)
	}
	var st Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("decode status: %w", err)
	}
	return &st, nil
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

// Print writes st for a person.
func Print(w io.Writer, st *Status) {
	now := st.Now
	fmt.Fprintf(w, "Hotspot  %s (agent %s)\n", st.Address, st.Version)
	if h := st.Hotspot; h != nil && h.Onboarded {
		fmt.Fprintf(w, "Owner    %s, mode %s\n", h.Owner, h.Mode)
		if h.Location != "" {
			fmt.Fprintf(w, "Location %s (%s, gain %.1f dBi, elevation %d m)\n", h.Location, h.Region, float64(h.GainDdbi)/10, h.ElevationM)
		} else {
			fmt.Fprintln(w, "Location not asserted (run `hotspot assert`)")
		}
	} else {
		fmt.Fprintln(w, "Owner    not onboarded (run `hotspot onboard --owner ADDR`)")
	}
	fmt.Fprintf(w, "\nBridge   mqtt connected: %s, bridge online: %s, gateway %s, last event %s\n",
		yes(st.Bridge.MQTTConnected), yes(st.Bridge.BridgeOnline), st.Bridge.GatewayID, ago(st.Bridge.LastEvent, now))
	fmt.Fprintf(w, "Chain    connected: %s, height %d, chain %s", yes(st.Chain.Connected), st.Chain.Height, st.Chain.ChainID)
	if st.Chain.LastError != "" {
		fmt.Fprintf(w, " (last error: %s)", st.Chain.LastError)
	}
	fmt.Fprintln(w)
	for _, r := range st.Routers {
		fmt.Fprintf(w, "Router   %s connected: %s, sent %d, dropped %d, downlinks %d\n", r.Endpoint, yes(r.Connected), r.Sent, r.Dropped, r.Downlinks)
	}
	for _, o := range st.Oracles {
		fmt.Fprintf(w, "Oracle   %s connected: %s, queued %d, accepted %d\n", o.Endpoint, yes(o.Connected), o.Queued, o.Accepted)
	}
	p := st.Packets
	fmt.Fprintf(w, "\nPackets  %d uplinks: %d forwarded, %d unroutable, %d CRC failed; %d downlinks (%d sent)\n",
		p.Uplinks, p.Forwarded, p.Unroutable, p.CRCFailed, p.Downlinks, p.DownlinksOK)
	if b := st.PoC.LastBeacon; b != nil {
		fmt.Fprintf(w, "Beacon   last %s: entropy height %d, %d Hz %s %d dBm, ack %s\n", ago(b.At, now), b.EntropyHeight, b.FrequencyHz, b.Datarate, b.TxPowerDBm, b.Ack)
	} else {
		fmt.Fprintln(w, "Beacon   none yet")
	}
	fmt.Fprintf(w, "Witness  %d sent; recent:\n", st.PoC.Counters.Witnesses)
	for _, wi := range st.PoC.Witnesses {
		fmt.Fprintf(w, "         %s  %d Hz %s RSSI %d dBm SNR %.1f dB\n", ago(wi.At, now), wi.FrequencyHz, wi.Datarate, wi.RssiDbm, float64(wi.SnrCb)/10)
	}
	if len(st.History) > 0 {
		fmt.Fprintln(w, "On chain (newest first):")
		for _, e := range st.History {
			v := "valid"
			if !e.Valid {
				v = "INVALID: " + e.Reason
			}
			fmt.Fprintf(w, "         height %d %s of %s: %s\n", e.Height, e.Kind, e.Beaconer, v)
		}
	}
	fmt.Fprintf(w, "Queues   vouchers %d", st.Queues.Vouchers)
	for k, v := range st.Queues.Oracles {
		fmt.Fprintf(w, ", %s %d", k, v)
	}
	fmt.Fprintln(w)
	if len(st.Rewards) > 0 {
		fmt.Fprintln(w, "Rewards  (epoch: total = beacon + witness + data, micro-HXP)")
		for _, r := range st.Rewards {
			fmt.Fprintf(w, "         %d: %d = %d + %d + %d\n", r.Epoch, r.Total, r.Beacon, r.Witness, r.Data)
		}
	}
}
