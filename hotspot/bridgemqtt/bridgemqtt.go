package bridgemqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/hotspot/backoff"
)

// Config says where the bridge publishes.
type Config struct {
	// Broker URL, e.g. tcp://127.0.0.1:1883.
	Broker   string
	Username string
	Password string
	// ClientID defaults to "hotspot-<random>".
	ClientID string
	// TopicPrefix is prepended to "gateway/...", e.g. "eu868/"; empty for none.
	TopicPrefix string
	// GatewayID is the 16-hex-digit id of the local gateway; empty means
	// "learn it from the first message", for single-gateway brokers.
	GatewayID string
	// JSON publishes commands as protojson instead of protobuf (received
	// payloads are recognised either way).
	JSON bool
}

var gatewayIDRe = regexp.MustCompile(`^[0-9a-f]{16}$`)

// Validate checks the config.
func (c Config) Validate() error {
	if c.Broker == "" {
		return errors.New("mqtt broker URL is empty; set --mqtt-broker (e.g. tcp://127.0.0.1:1883)")
	}
	if c.GatewayID != "" && !gatewayIDRe.MatchString(c.GatewayID) {
		return fmt.Errorf("gateway id %q must be 16 lower-case hex digits (the gateway EUI, e.g. 0016c001ff10a235)", c.GatewayID)
	}
	if c.TopicPrefix != "" && !strings.HasSuffix(c.TopicPrefix, "/") {
		return fmt.Errorf("mqtt topic prefix %q must end with \"/\"", c.TopicPrefix)
	}
	return nil
}

// Handler receives bridge events. Calls come from one goroutine in arrival
// order and must not block.
type Handler interface {
	Uplink(*gw.UplinkFrame)
	TxAck(*gw.DownlinkTxAck)
}

// ErrNoGateway is returned by SendDownlink before the gateway id is known.
var ErrNoGateway = errors.New("gateway id not known yet (no message from the bridge so far; set --gateway-id)")

// Client is the MQTT link.
type Client struct {
	cfg     Config
	log     *slog.Logger
	handler Handler

	mu        sync.Mutex
	client    mqtt.Client
	gatewayID string

	connected    atomic.Bool
	bridgeOnline atomic.Bool
	lastEvent    atomic.Int64 // unix ms
	Uplinks      atomic.Uint64
	Acks         atomic.Uint64
	Decode       atomic.Uint64 // undecodable payloads
}

// New builds the client; it connects in Run.
func New(cfg Config, log *slog.Logger, h Handler) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		var b [6]byte
		rand.Read(b[:])
		cfg.ClientID = "hotspot-" + hex.EncodeToString(b[:])
	}
	return &Client{cfg: cfg, log: log, handler: h, gatewayID: cfg.GatewayID}, nil
}

// GatewayID returns the gateway id, configured or learned ("" if unknown).
func (c *Client) GatewayID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gatewayID
}

// Connected reports whether the broker connection is up.
func (c *Client) Connected() bool { return c.connected.Load() }

// BridgeOnline reports the bridge's retained state/conn (ONLINE).
func (c *Client) BridgeOnline() bool { return c.bridgeOnline.Load() }

// LastEvent is when the bridge last sent anything.
func (c *Client) LastEvent() time.Time {
	ms := c.lastEvent.Load()
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func (c *Client) topic(gatewayID, suffix string) string {
	return c.cfg.TopicPrefix + "gateway/" + gatewayID + "/" + suffix
}

// Run connects, subscribes and reconnects with jittered backoff until ctx ends.
func (c *Client) Run(ctx context.Context) error {
	bo := backoff.Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second}
	for {
		lost := make(chan error, 1)
		opts := mqtt.NewClientOptions().AddBroker(c.cfg.Broker).SetClientID(c.cfg.ClientID).
			SetUsername(c.cfg.Username).SetPassword(c.cfg.Password).
			SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
			SetConnectTimeout(10 * time.Second).SetKeepAlive(30 * time.Second).
			SetConnectionLostHandler(func(_ mqtt.Client, err error) {
				select {
				case lost <- err:
				default:
				}
			})
		cl := mqtt.NewClient(opts)
		tok := cl.Connect()
		err := waitToken(ctx, tok)
		if err == nil {
			err = c.subscribe(ctx, cl)
			if err != nil {
				cl.Disconnect(0)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.log.Warn("mqtt connect", "broker", c.cfg.Broker, "err", err)
			if !bo.Sleep(ctx) {
				return nil
			}
			continue
		}
		bo.Reset()
		c.mu.Lock()
		c.client = cl
		c.mu.Unlock()
		c.connected.Store(true)
		c.log.Info("mqtt connected", "broker", c.cfg.Broker, "gateway_id", c.GatewayID())
		select {
		case <-ctx.Done():
			c.connected.Store(false)
			cl.Disconnect(250)
			return nil
		case err := <-lost:
			c.connected.Store(false)
			c.bridgeOnline.Store(false)
			c.log.Warn("mqtt connection lost", "err", err)
			if !bo.Sleep(ctx) {
				return nil
			}
		}
	}
}

func waitToken(ctx context.Context, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) subscribe(ctx context.Context, cl mqtt.Client) error {
	id := c.GatewayID()
	if id == "" {
		id = "+"
	}
	subs := map[string]byte{
		c.topic(id, "event/up"):    0,
		c.topic(id, "event/ack"):   0,
		c.topic(id, "event/stats"): 0,
		c.topic(id, "state/conn"):  0,
	}
	return waitToken(ctx, cl.SubscribeMultiple(subs, c.onMessage))
}

func (c *Client) onMessage(_ mqtt.Client, m mqtt.Message) {
	rest, ok := strings.CutPrefix(m.Topic(), c.cfg.TopicPrefix+"gateway/")
	if !ok {
		return
	}
	id, kind, ok := strings.Cut(rest, "/")
	if !ok || !gatewayIDRe.MatchString(id) {
		return
	}
	c.mu.Lock()
	if c.gatewayID == "" {
		c.gatewayID = id
		c.log.Info("learned gateway id from the bridge", "gateway_id", id)
	}
	mine := c.gatewayID == id
	c.mu.Unlock()
	if !mine {
		c.log.Debug("ignoring message of another gateway", "gateway_id", id)
		return
	}
	c.lastEvent.Store(time.Now().UnixMilli())
	switch kind {
	case "event/up":
		var f gw.UplinkFrame
		if err := Unmarshal(m.Payload(), &f); err != nil {
			c.Decode.Add(1)
			c.log.Warn("undecodable uplink from bridge", "err", err)
			return
		}
		c.Uplinks.Add(1)
		c.handler.Uplink(&f)
	case "event/ack":
		var a gw.DownlinkTxAck
		if err := Unmarshal(m.Payload(), &a); err != nil {
			c.Decode.Add(1)
			c.log.Warn("undecodable ack from bridge", "err", err)
			return
		}
		c.Acks.Add(1)
		c.handler.TxAck(&a)
	case "state/conn":
		var s gw.ConnState
		if err := Unmarshal(m.Payload(), &s); err != nil {
			c.Decode.Add(1)
			return
		}
		c.bridgeOnline.Store(s.GetState() == gw.ConnState_ONLINE)
	case "event/stats":
		// Stats prove the bridge is alive; the event time was noted above.
		c.bridgeOnline.Store(true)
	}
}

// Unmarshal decodes a bridge payload in protobuf or protojson.
func Unmarshal(b []byte, m proto.Message) error {
	if len(b) > 0 && b[0] == '{' {
		return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, m)
	}
	return proto.Unmarshal(b, m)
}

// SendDownlink publishes a downlink on command/down.
func (c *Client) SendDownlink(ctx context.Context, f *gw.DownlinkFrame) error {
	c.mu.Lock()
	cl, id := c.client, c.gatewayID
	c.mu.Unlock()
	if id == "" {
		return ErrNoGateway
	}
	if cl == nil || !c.connected.Load() {
		return errors.New("mqtt broker not connected")
	}
	f.GatewayId = id
	var b []byte
	var err error
	if c.cfg.JSON {
		b, err = protojson.Marshal(f)
	} else {
		b, err = proto.Marshal(f)
	}
	if err != nil {
		return fmt.Errorf("encode downlink: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := waitToken(ctx, cl.Publish(c.topic(id, "command/down"), 0, false, b)); err != nil {
		return fmt.Errorf("publish downlink: %w", err)
	}
	return nil
}
