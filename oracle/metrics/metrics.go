package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hexproof/hexproof/oracle/indexer"
	"github.com/hexproof/hexproof/oracle/ingest"
)

// QueueStats counts the ingest queue's beacons per state
// ((*ingest.Service).QueueStats).
type QueueStats func(ctx context.Context) (map[string]int, error)

// queueStates are always exported, zero when empty, so alerts on them work
// from the start.
var queueStates = []string{"pending", "submitted"}

// Metrics holds the collectors and their registry.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	reportsAccepted *prometheus.CounterVec
	reportsRejected *prometheus.CounterVec
	receipts        *prometheus.CounterVec
	indexedHeight   prometheus.Gauge
	chainHeight     prometheus.Gauge
	lag             prometheus.Gauge
	indexedBlocks   prometheus.Counter
	indexedRows     *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
}

var _ ingest.Observer = (*Metrics)(nil)

// New returns the oracle's metrics in a new registry, with the Go runtime
// and process collectors.
func New(logger *slog.Logger) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: logger,
		reportsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oracle_ingest_reports_accepted_total",
			Help: "PoC reports queued by ingest, by kind (beacon, witness).",
		}, []string{"kind"}),
		reportsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oracle_ingest_reports_rejected_total",
			Help: "PoC reports refused by ingest, by kind and reason (the gRPC ErrorInfo reason, or a gRPC code such as unavailable).",
		}, []string{"kind", "reason"}),
		receipts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oracle_ingest_receipts_total",
			Help: "Receipt events by event: submitted (in the mempool), committed, duplicate (another oracle's came first), rejected (by the chain), error (could not submit; retried).",
		}, []string{"event"}),
		indexedHeight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oracle_indexer_height",
			Help: "Last block height written by the indexer.",
		}),
		chainHeight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oracle_indexer_chain_height",
			Help: "Latest block height of the chain node, as last read by the indexer.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oracle_indexer_lag_blocks",
			Help: "Blocks the indexer is behind the chain node.",
		}),
		indexedBlocks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oracle_indexer_blocks_total",
			Help: "Blocks written by the indexer.",
		}),
		indexedRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oracle_indexer_rows_total",
			Help: "Rows written by the indexer, by table.",
		}, []string{"table"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oracle_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "code"}),
	}
	m.reg.MustRegister(m.reportsAccepted, m.reportsRejected, m.receipts, m.indexedHeight, m.chainHeight, m.lag,
		m.indexedBlocks, m.indexedRows, m.httpDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, e := range []string{ingest.ReceiptSubmitted, ingest.ReceiptCommitted, ingest.ReceiptDuplicate, ingest.ReceiptRejected, ingest.ReceiptError} {
		m.receipts.WithLabelValues(e)
	}
	for _, k := range []string{ingest.ReportBeacon, ingest.ReportWitness} {
		m.reportsAccepted.WithLabelValues(k)
	}
	return m
}

// Registry returns the private registry (tests, extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format. A collector
// that fails (the queue when the database is down) is logged and left out;
// the rest is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogErrorLog{m.log}, ErrorHandling: promhttp.ContinueOnError})
}

type slogErrorLog struct{ l *slog.Logger }

func (s slogErrorLog) Println(v ...any) { s.l.Warn("serve metrics", "err", fmt.Sprint(v...)) }

// Report implements ingest.Observer.
func (m *Metrics) Report(kind, rejected string) {
	if rejected == "" {
		m.reportsAccepted.WithLabelValues(kind).Inc()
		return
	}
	m.reportsRejected.WithLabelValues(kind, rejected).Inc()
}

// Receipt implements ingest.Observer.
func (m *Metrics) Receipt(event string) { m.receipts.WithLabelValues(event).Inc() }

// IndexerCommitted is an indexer.Config.OnCommit: heights, blocks and rows of
// a committed batch.
func (m *Metrics) IndexerCommitted(st indexer.Stats) {
	m.indexedHeight.Set(float64(st.Height))
	m.indexedBlocks.Add(float64(st.Blocks))
	for table, n := range st.Rows {
		m.indexedRows.WithLabelValues(table).Add(float64(n))
	}
}

// IndexerLatest is an indexer.Config.OnLatest: the chain's height and the
// lag behind it.
func (m *Metrics) IndexerLatest(chain, indexed int64) {
	m.chainHeight.Set(float64(chain))
	m.indexedHeight.Set(float64(indexed))
	m.lag.Set(float64(max(chain-indexed, 0)))
}

// WatchQueue exports the ingest queue depth per beacon state
// (oracle_ingest_queue_beacons), read with stats at each scrape.
func (m *Metrics) WatchQueue(stats QueueStats) {
	m.reg.MustRegister(&queueCollector{stats: stats, log: m.log, desc: prometheus.NewDesc("oracle_ingest_queue_beacons",
		"Beacons in the ingest queue by state (pending: collecting witnesses or waiting to be submitted; submitted: waiting for the chain to commit).",
		[]string{"state"}, nil)})
}

type queueCollector struct {
	stats QueueStats
	log   *slog.Logger
	desc  *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, s := range queueStates {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), s)
	}
}

// Instrument wraps h to observe request latency. The route label is the
// ServeMux pattern that served the request (r.Pattern, set by the innermost
// mux), so its values stay few; requests no pattern matched are "none".
func (m *Metrics) Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "none"
		}
		m.httpDuration.WithLabelValues(route, r.Method, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
