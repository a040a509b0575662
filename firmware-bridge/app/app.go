package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"golang.org/x/sync/errgroup"

	"github.com/hexproof/hexproof/firmware-bridge/bridge"
	"github.com/hexproof/hexproof/firmware-bridge/filter"
	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/firmware-bridge/metrics"
	"github.com/hexproof/hexproof/firmware-bridge/mqtt"
	"github.com/hexproof/hexproof/internal/config"
	"github.com/hexproof/hexproof/internal/logging"
)

// EnvPrefix prefixes the environment variable of every flag.
const EnvPrefix = "FIRMWARE_BRIDGE"

// Synopsis heads --help.
const Synopsis = `usage: firmware-bridge [flags]

Bridges Semtech's UDP packet forwarder (GWMP v1/v2, lora_pkt_fwd) to MQTT,
compatible with ChirpStack Gateway Bridge v4: events on
{prefix}gateway/{gateway_id}/event/{up,stats,ack}, retained state on
{prefix}gateway/{gateway_id}/state/conn, downlinks from
{prefix}gateway/{gateway_id}/command/down; payloads are ChirpStack gw
messages (protobuf or JSON).`

// Config is everything the program reads.
type Config struct {
	ConfigFile string

	UDPBind       string
	UDPWorkers    int
	UDPQueue      int
	UDPReadBuffer int
	GatewayExpiry time.Duration
	TxAckTimeout  time.Duration
	SkipCRCCheck  bool
	FilterNetIDs  config.StringList
	FilterJoinEUI config.StringList

	MQTTServer            string
	MQTTUsername          string
	MQTTPassword          string
	MQTTClientID          string
	MQTTCACert            string
	MQTTTLSCert           string
	MQTTTLSKey            string
	MQTTTLSInsecure       bool
	MQTTQoS               uint
	MQTTConnections       int
	MQTTInflight          int
	MQTTQueueSize         int
	MQTTKeepAlive         time.Duration
	MQTTMaxReconnectDelay time.Duration
	TopicPrefix           string
	Marshaler             string
	StateRetained         bool
	GatewayID             string
	ShutdownTimeout       time.Duration

	MetricsBind string
	CPUProfile  string
	LogFormat   string
	LogLevel    string
}

// Flags registers every setting on fs and returns the Config they fill.
func Flags(fs *flag.FlagSet) *Config {
	c := &Config{}
	host, _ := os.Hostname()
	fs.StringVar(&c.ConfigFile, config.ConfigFlag, "", "TOML file with settings (keys are flag names with underscores)")
	fs.StringVar(&c.UDPBind, "udp-bind", "0.0.0.0:1700", "UDP address the packet forwarder sends to (its server_address:serv_port_up/serv_port_down)")
	fs.IntVar(&c.UDPWorkers, "udp-workers", runtime.GOMAXPROCS(0), "goroutines decoding datagrams")
	fs.IntVar(&c.UDPQueue, "udp-queue", 8192, "datagrams queued per worker before new ones are dropped (and counted)")
	fs.IntVar(&c.UDPReadBuffer, "udp-read-buffer", 8<<20, "socket receive buffer in bytes (absorbs bursts)")
	fs.DurationVar(&c.GatewayExpiry, "gateway-expiry", 5*time.Minute, "forget a gateway's downlink address and publish OFFLINE after this long without PULL_DATA")
	fs.DurationVar(&c.TxAckTimeout, "tx-ack-timeout", 3*time.Second, "publish an INTERNAL_ERROR ack when the gateway sends no TX_ACK within this time")
	fs.BoolVar(&c.SkipCRCCheck, "skip-crc-check", false, "forward uplinks whose CRC is bad or missing too")
	fs.Var(&c.FilterNetIDs, "filter-net-id", "forward data uplinks only for these NetIDs (6 hex digits; repeatable or comma-separated)")
	fs.Var(&c.FilterJoinEUI, "filter-join-eui", "forward join requests only for these JoinEUI ranges MIN-MAX (16 hex digits each; repeatable)")
	fs.StringVar(&c.MQTTServer, "mqtt-server", "tcp://127.0.0.1:1883", "MQTT broker: tcp://host:1883, or ssl://host:8883 for TLS")
	fs.StringVar(&c.MQTTUsername, "mqtt-username", "", "MQTT username")
	fs.StringVar(&c.MQTTPassword, "mqtt-password", "", "MQTT password (prefer the environment variable)")
	fs.StringVar(&c.MQTTClientID, "mqtt-client-id", "firmware-bridge-"+host, "MQTT client id (extra connections append -1, -2 ...)")
	fs.StringVar(&c.MQTTCACert, "mqtt-ca-cert", "", "PEM file of the CA that signed the broker's certificate (TLS)")
	fs.StringVar(&c.MQTTTLSCert, "mqtt-tls-cert", "", "PEM client certificate for TLS client authentication")
	fs.StringVar(&c.MQTTTLSKey, "mqtt-tls-key", "", "PEM private key of --mqtt-tls-cert")
	fs.BoolVar(&c.MQTTTLSInsecure, "mqtt-tls-insecure-skip-verify", false, "do not verify the broker's certificate (testing only)")
	fs.UintVar(&c.MQTTQoS, "mqtt-qos", 1, "MQTT QoS of events and commands (0, 1 or 2)")
	fs.IntVar(&c.MQTTConnections, "mqtt-connections", 0, "MQTT connections for events; 0 means 2, or 1 with --gateway-id (each gateway stays on one, so its events keep their order)")
	fs.IntVar(&c.MQTTInflight, "mqtt-inflight", 1000, "unacknowledged publishes per MQTT connection")
	fs.IntVar(&c.MQTTQueueSize, "mqtt-queue-size", 50000, "events held while the broker is slow or unreachable; more are dropped and counted")
	fs.DurationVar(&c.MQTTKeepAlive, "mqtt-keepalive", 30*time.Second, "MQTT keep-alive")
	fs.DurationVar(&c.MQTTMaxReconnectDelay, "mqtt-max-reconnect-interval", time.Minute, "longest wait between reconnect attempts (backoff doubles from 200ms)")
	fs.StringVar(&c.TopicPrefix, "topic-prefix", "", "prefix of every topic, e.g. eu868/ for a ChirpStack region")
	fs.StringVar(&c.Marshaler, "marshaler", "protobuf", "payload encoding: protobuf or json")
	fs.BoolVar(&c.StateRetained, "state-retained", true, "publish state/conn messages retained")
	fs.StringVar(&c.GatewayID, "gateway-id", "", "the one gateway this bridge serves (16 hex digits): its state/conn becomes the last will; without it the will is {prefix}bridge/{client_id}/state/conn")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 5*time.Second, "how long shutdown waits to deliver queued events and OFFLINE states")
	fs.StringVar(&c.MetricsBind, "metrics-bind", "", "address of the Prometheus /metrics endpoint, e.g. 127.0.0.1:9101 (off when empty)")
	fs.StringVar(&c.CPUProfile, "cpu-profile", "", "write a Go CPU profile (pprof) to this file until shutdown (profiling only)")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	return c
}

// Load parses args (and the environment and --config file) into a Config.
func Load(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("firmware-bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := Flags(fs)
	fs.Usage = config.Usage(fs, EnvPrefix, Synopsis)
	if err := config.Load(fs, EnvPrefix, args, getenv); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (all settings are flags; see --help)", fs.Args())
	}
	return c, nil
}

type parsed struct {
	filter    filter.Filter
	marshaler mqtt.Marshaler
	tls       *tls.Config
}

// validate checks c and prepares the derived values.
func (c *Config) validate() (parsed, error) {
	var p parsed
	var errs []error
	if _, err := net.ResolveUDPAddr("udp", c.UDPBind); err != nil {
		errs = append(errs, fmt.Errorf("--udp-bind %q: %w", c.UDPBind, err))
	}
	if c.UDPWorkers < 1 || c.UDPQueue < 1 {
		errs = append(errs, errors.New("--udp-workers and --udp-queue must be at least 1"))
	}
	if c.GatewayExpiry <= 0 || c.TxAckTimeout <= 0 || c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--gateway-expiry, --tx-ack-timeout and --shutdown-timeout must be positive"))
	}
	f, err := filter.Parse(c.FilterNetIDs, c.FilterJoinEUI)
	if err != nil {
		errs = append(errs, err)
	}
	p.filter = f
	if err := mqtt.ValidateServer(c.MQTTServer); err != nil {
		errs = append(errs, fmt.Errorf("--mqtt-server: %w", err))
	}
	if c.MQTTQoS > 2 {
		errs = append(errs, fmt.Errorf("--mqtt-qos %d: use 0, 1 or 2", c.MQTTQoS))
	}
	if p.marshaler, err = mqtt.ParseMarshaler(c.Marshaler); err != nil {
		errs = append(errs, fmt.Errorf("--marshaler: %w", err))
	}
	if c.GatewayID != "" {
		e, err := gwmp.ParseEUI64(c.GatewayID)
		if err != nil {
			errs = append(errs, fmt.Errorf("--gateway-id: %w", err))
		}
		c.GatewayID = e.String()
	}
	if c.MQTTConnections == 0 {
		// Two publishing pipelines let a busy bridge use both cores of a
		// small machine; a bridge serving one gateway needs only one.
		c.MQTTConnections = 2
		if c.GatewayID != "" {
			c.MQTTConnections = 1
		}
	}
	if (c.MQTTTLSCert == "") != (c.MQTTTLSKey == "") {
		errs = append(errs, errors.New("--mqtt-tls-cert and --mqtt-tls-key go together"))
	}
	if c.MQTTCACert != "" || c.MQTTTLSCert != "" || c.MQTTTLSInsecure {
		t := &tls.Config{InsecureSkipVerify: c.MQTTTLSInsecure, MinVersion: tls.VersionTLS12}
		if c.MQTTCACert != "" {
			pem, err := os.ReadFile(c.MQTTCACert)
			if err != nil {
				errs = append(errs, fmt.Errorf("--mqtt-ca-cert: %w", err))
			} else {
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					errs = append(errs, fmt.Errorf("--mqtt-ca-cert %s: no PEM certificate in it", c.MQTTCACert))
				}
				t.RootCAs = pool
			}
		}
		if c.MQTTTLSCert != "" && c.MQTTTLSKey != "" {
			cert, err := tls.LoadX509KeyPair(c.MQTTTLSCert, c.MQTTTLSKey)
			if err != nil {
				errs = append(errs, fmt.Errorf("--mqtt-tls-cert/--mqtt-tls-key: %w", err))
			}
			t.Certificates = []tls.Certificate{cert}
		}
		p.tls = t
	}
	return p, errors.Join(errs...)
}

// Logger builds the logger c asks for.
func (c *Config) Logger(w io.Writer) (*slog.Logger, error) {
	return logging.New(w, c.LogFormat, c.LogLevel)
}

// Run runs the bridge until ctx ends. udp may be nil (it then listens on
// --udp-bind); tests pass a socket on 127.0.0.1:0. ready, if not nil, is
// called with the UDP address once serving.
func Run(ctx context.Context, c *Config, logger *slog.Logger, udp *net.UDPConn, ready func(udp net.Addr)) error {
	p, err := c.validate()
	if err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	m := metrics.New()
	if udp == nil {
		addr, _ := net.ResolveUDPAddr("udp", c.UDPBind)
		network := "udp"
		if addr.IP != nil && addr.IP.To4() != nil && !addr.IP.IsUnspecified() {
			// A specific IPv4 address: an AF_INET socket, which allows
			// batched reads and writes. 0.0.0.0 stays a dual-stack socket
			// so forwarders that resolve "localhost" to ::1 still reach us.
			network = "udp4"
		}
		udp, err = net.ListenUDP(network, addr)
		if err != nil {
			return fmt.Errorf("open gateway socket %s: %w (is another bridge running?)", c.UDPBind, err)
		}
	}
	setReadBuffer(udp, c.UDPReadBuffer, logger)

	var br *bridge.Bridge
	it, err := mqtt.New(mqtt.Config{
		Server: c.MQTTServer, Username: c.MQTTUsername, Password: c.MQTTPassword, ClientID: c.MQTTClientID,
		TLS: p.tls, TopicPrefix: c.TopicPrefix, Marshaler: p.marshaler, QoS: byte(c.MQTTQoS),
		Connections: c.MQTTConnections, QueueSize: c.MQTTQueueSize, Inflight: c.MQTTInflight,
		KeepAlive: c.MQTTKeepAlive, MaxReconnectInterval: c.MQTTMaxReconnectDelay,
		StateRetained: c.StateRetained, WillGatewayID: c.GatewayID, ShutdownTimeout: c.ShutdownTimeout,
	}, logger, m, mqtt.HandlerFunc(func(d *gw.DownlinkFrame) { br.HandleDownlink(d) }))
	if err != nil {
		udp.Close()
		return fmt.Errorf("invalid configuration: %w", err)
	}
	br = bridge.New(bridge.Config{
		Workers: c.UDPWorkers, QueueSize: c.UDPQueue, GatewayExpiry: c.GatewayExpiry,
		TxAckTimeout: c.TxAckTimeout, SkipCRCCheck: c.SkipCRCCheck, Filter: p.filter,
	}, logger, udp, it, m)

	var metricsLn net.Listener
	if c.MetricsBind != "" {
		metricsLn, err = net.Listen("tcp", c.MetricsBind)
		if err != nil {
			udp.Close()
			return fmt.Errorf("open metrics listener %s: %w", c.MetricsBind, err)
		}
	}

	// MQTT outlives the UDP side so that the OFFLINE states the bridge
	// publishes on its way out are delivered.
	mqttCtx, stopMQTT := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMQTT()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer stopMQTT()
		return br.Run(gctx)
	})
	g.Go(func() error { return it.Run(mqttCtx) })
	if metricsLn != nil {
		g.Go(func() error { return m.Serve(gctx, metricsLn) })
	}
	logger.Info("firmware-bridge started", "udp_bind", udp.LocalAddr().String(), "mqtt_server", c.MQTTServer,
		"topic_prefix", c.TopicPrefix, "marshaler", p.marshaler.String(), "metrics_bind", c.MetricsBind)
	if ready != nil {
		ready(udp.LocalAddr())
	}
	err = g.Wait()
	logger.Info("firmware-bridge stopped")
	return err
}

// setReadBuffer enlarges the socket's receive buffer; as root it may go
// past net.core.rmem_max (SO_RCVBUFFORCE).
func setReadBuffer(c *net.UDPConn, size int, logger *slog.Logger) {
	if size <= 0 {
		return
	}
	rc, err := c.SyscallConn()
	if err == nil {
		var serr error
		_ = rc.Control(func(fd uintptr) {
			serr = forceRcvBuf(fd, size)
		})
		if serr == nil {
			return
		}
	}
	if err := c.SetReadBuffer(size); err != nil {
		logger.Warn("udp read buffer", "bytes", size, "err", err)
	}
}
