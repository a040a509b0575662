package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the router's instruments.
type Metrics struct {
	UplinksIn       prometheus.Counter
	UplinksBought   *prometheus.CounterVec // oui
	UplinksDropped  *prometheus.CounterVec // reason
	Downlinks       *prometheus.CounterVec // result
	DCPromised      *prometheus.CounterVec // oui
	VouchersSigned  prometheus.Counter
	Sessions        prometheus.Gauge
	SessionsRefused *prometheus.CounterVec // reason
	VirtualGateways prometheus.Gauge
	// UplinkLatency is the router's own time from receiving an uplink on a
	// stream to writing its PUSH_DATA.
	UplinkLatency prometheus.Histogram
	// DownlinkLatency is the time from a PULL_RESP to the Downlink on the
	// hotspot's stream.
	DownlinkLatency prometheus.Histogram
}

// New creates the metrics and registers them on reg (if not nil).
func New(reg prometheus.Registerer) *Metrics {
	buckets := []float64{10e-6, 25e-6, 50e-6, 75e-6, 100e-6, 150e-6, 250e-6, 500e-6, 750e-6, 1e-3, 1.5e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3}
	m := &Metrics{
		UplinksIn:       prometheus.NewCounter(prometheus.CounterOpts{Name: "router_uplinks_in_total", Help: "Uplinks received on hotspot streams."}),
		UplinksBought:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "router_uplinks_bought_total", Help: "Uplink copies bought and delivered to the LNS."}, []string{"oui"}),
		UplinksDropped:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "router_uplinks_dropped_total", Help: "Uplinks not bought, by reason."}, []string{"reason"}),
		Downlinks:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "router_downlinks_total", Help: "Downlinks by outcome."}, []string{"result"}),
		DCPromised:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "router_dc_promised_total", Help: "Data credits promised to hotspots since start."}, []string{"oui"}),
		VouchersSigned:  prometheus.NewCounter(prometheus.CounterOpts{Name: "router_vouchers_signed_total", Help: "Vouchers signed."}),
		Sessions:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "router_sessions", Help: "Hotspot streams with an accepted session."}),
		SessionsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "router_sessions_refused_total", Help: "Stream handshakes refused, by reason."}, []string{"reason"}),
		VirtualGateways: prometheus.NewGauge(prometheus.GaugeOpts{Name: "router_virtual_gateways", Help: "Virtual gateways (UDP sockets) open towards LNSs."}),
		UplinkLatency:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "router_uplink_latency_seconds", Help: "Router time from uplink received to PUSH_DATA sent.", Buckets: buckets}),
		DownlinkLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "router_downlink_latency_seconds", Help: "Router time from PULL_RESP to Downlink sent on the stream.", Buckets: buckets}),
	}
	if reg != nil {
		reg.MustRegister(m.UplinksIn, m.UplinksBought, m.UplinksDropped, m.Downlinks, m.DCPromised, m.VouchersSigned,
			m.Sessions, m.SessionsRefused, m.VirtualGateways, m.UplinkLatency, m.DownlinkLatency)
	}
	return m
}
