package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the bridge's counters and gauges. Hot-path children are
// resolved once so an increment is one atomic add.
type Metrics struct {
	Registry *prometheus.Registry

	UDPIn          *prometheus.CounterVec // by GWMP type
	UDPOut         *prometheus.CounterVec // by GWMP type
	ParseErrors    *prometheus.CounterVec // by reason
	UDPDropped     prometheus.Counter     // datagrams dropped because a worker queue was full
	UplinksDropped *prometheus.CounterVec // by reason: crc, filter, modulation
	Events         *prometheus.CounterVec // MQTT events published, by event
	MQTTDropped    *prometheus.CounterVec // by reason: queue_full, marshal
	AckStatus      *prometheus.CounterVec // downlink item statuses, by status
	Gateways       prometheus.Gauge       // gateways with a live downlink path
	MQTTConnected  prometheus.Gauge
	Reconnects     prometheus.Counter
}

// New creates and registers every metric (plus Go and process collectors).
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		UDPIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "firmware_bridge_udp_packets_in_total",
			Help: "GWMP datagrams received, by type."}, []string{"type"}),
		UDPOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "firmware_bridge_udp_packets_out_total",
			Help: "GWMP datagrams sent, by type."}, []string{"type"}),
		ParseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "firmware_bridge_udp_parse_errors_total",
			Help: "Malformed, truncated, oversized or unknown datagrams, by reason."}, []string{"reason"}),
		UDPDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "firmware_bridge_udp_queue_dropped_total",
			Help: "Datagrams dropped because the processing queue was full (the UDP reader never blocks)."}),
		UplinksDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "firmware_bridge_uplinks_dropped_total",
			Help: "Uplinks not forwarded, by reason (crc, filter, invalid)."}, []string{"reason"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "firmware_bridge_mqtt_events_total",
			Help: "MQTT messages acknowledged by the broker, by kind (up, stats, ack, state)."}, []string{"event"}),
		MQTTDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "firmware_bridge_mqtt_dropped_total",
			Help: "MQTT messages dropped, by reason (queue_full, marshal)."}, []string{"reason"}),
		AckStatus: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "firmware_bridge_downlink_ack_status_total",
			Help: "Downlink item results, by status (OK, TOO_LATE, ..., TIMEOUT)."}, []string{"status"}),
		Gateways: prometheus.NewGauge(prometheus.GaugeOpts{Name: "firmware_bridge_gateways",
			Help: "Gateways with a live downlink path (recent PULL_DATA)."}),
		MQTTConnected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "firmware_bridge_mqtt_connected",
			Help: "MQTT connections currently up."}),
		Reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "firmware_bridge_mqtt_connects_total",
			Help: "Successful MQTT connects (first one included)."}),
	}
	r.MustRegister(m.UDPIn, m.UDPOut, m.ParseErrors, m.UDPDropped, m.UplinksDropped, m.Events, m.MQTTDropped,
		m.AckStatus, m.Gateways, m.MQTTConnected, m.Reconnects,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// GaugeFunc registers a gauge computed on scrape (queue depths).
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// Serve serves /metrics on ln until ctx ends.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
