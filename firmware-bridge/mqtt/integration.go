package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/firmware-bridge/metrics"
)

// Config configures the integration.
type Config struct {
	Server               string // tcp://127.0.0.1:1883, ssl://host:8883 ...
	Username, Password   string
	ClientID             string
	TLS                  *tls.Config // for ssl:// servers; nil means system roots
	TopicPrefix          string      // e.g. "eu868/"; "" for none
	Marshaler            Marshaler
	QoS                  byte
	Connections          int           // parallel MQTT connections for events
	QueueSize            int           // messages held while the broker is slow or away (all connections)
	Inflight             int           // unacknowledged publishes per connection
	KeepAlive            time.Duration //
	ConnectTimeout       time.Duration
	MaxReconnectInterval time.Duration
	StateRetained        bool
	WillGatewayID        string        // optional: the will is this gateway's OFFLINE state
	ShutdownTimeout      time.Duration // how long Run drains after ctx ends
}

// CommandHandler receives downlink commands. It must not block.
type CommandHandler interface {
	HandleDownlink(*gw.DownlinkFrame)
}

// HandlerFunc adapts a function to CommandHandler.
type HandlerFunc func(*gw.DownlinkFrame)

// HandleDownlink implements CommandHandler.
func (f HandlerFunc) HandleDownlink(d *gw.DownlinkFrame) { f(d) }

// Integration publishes gateway events and states and receives commands.
type Integration struct {
	cfg     Config
	log     *slog.Logger
	m       *metrics.Metrics
	handler CommandHandler
	conns   []*conn
	server  *url.URL

	mu     sync.Mutex
	online map[string]bool

	dropLog atomic.Int64 // unix seconds of the last overflow log
}

// New checks cfg and builds the integration; Run starts it.
func New(cfg Config, logger *slog.Logger, m *metrics.Metrics, h CommandHandler) (*Integration, error) {
	if err := ValidateServer(cfg.Server); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.Server)
	if cfg.ClientID == "" {
		return nil, errors.New("mqtt client id is empty")
	}
	if cfg.QoS > 2 {
		return nil, fmt.Errorf("mqtt qos %d: use 0, 1 or 2", cfg.QoS)
	}
	if cfg.Connections < 1 || cfg.Connections > 64 {
		return nil, fmt.Errorf("mqtt connections %d: use 1..64", cfg.Connections)
	}
	if cfg.Inflight < 1 || cfg.Inflight > 65000 {
		return nil, fmt.Errorf("mqtt inflight %d: use 1..65000", cfg.Inflight)
	}
	if cfg.QueueSize < cfg.Connections {
		return nil, fmt.Errorf("mqtt queue size %d: use at least one per connection", cfg.QueueSize)
	}
	if cfg.TopicPrefix != "" && !strings.HasSuffix(cfg.TopicPrefix, "/") {
		cfg.TopicPrefix += "/"
	}
	if strings.ContainsAny(cfg.TopicPrefix, "+#") {
		return nil, fmt.Errorf("topic prefix %q: must not contain + or #", cfg.TopicPrefix)
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.MaxReconnectInterval <= 0 {
		cfg.MaxReconnectInterval = time.Minute
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	if h == nil {
		h = HandlerFunc(func(*gw.DownlinkFrame) {})
	}
	if m == nil {
		m = metrics.New()
	}
	it := &Integration{cfg: cfg, log: logger, m: m, handler: h, server: u, online: map[string]bool{}}
	per := cfg.QueueSize / cfg.Connections
	for i := range cfg.Connections {
		it.conns = append(it.conns, &conn{it: it, idx: i, q: newQueue(per), lost: make(chan struct{}, 1)})
	}
	m.GaugeFunc("firmware_bridge_mqtt_queue_depth", "Messages waiting for the MQTT broker.", func() float64 { return float64(it.QueueDepth()) })
	return it, nil
}

// QueueDepth is the number of messages waiting (not counting in flight).
func (it *Integration) QueueDepth() int {
	n := 0
	for _, c := range it.conns {
		n += c.q.len()
	}
	return n
}

// Topic returns {prefix}gateway/{id}/{kind}/{name}.
func (it *Integration) Topic(gatewayID, kind, name string) string {
	return it.cfg.TopicPrefix + "gateway/" + gatewayID + "/" + kind + "/" + name
}

func (it *Integration) bridgeStateTopic() string {
	return it.cfg.TopicPrefix + "bridge/" + it.cfg.ClientID + "/state/conn"
}

func (it *Integration) shard(gatewayID string) *conn {
	if len(it.conns) == 1 {
		return it.conns[0]
	}
	h := fnv.New32a()
	h.Write([]byte(gatewayID))
	return it.conns[h.Sum32()%uint32(len(it.conns))]
}

// PublishEvent queues event ("up", "stats", "ack") of a gateway. It never
// blocks; false means the message was dropped (queue full or unencodable)
// and counted.
func (it *Integration) PublishEvent(gatewayID, event string, msg proto.Message) bool {
	b, err := it.cfg.Marshaler.Marshal(msg)
	if err != nil {
		it.m.MQTTDropped.WithLabelValues("marshal").Inc()
		it.log.Error("marshal mqtt event", "gateway_id", gatewayID, "event", event, "err", err)
		return false
	}
	m := message{topic: it.Topic(gatewayID, "event", event), payload: b, event: event}
	if it.shard(gatewayID).q.push(m, false) {
		return true
	}
	it.m.MQTTDropped.WithLabelValues("queue_full").Inc()
	now := time.Now().Unix()
	if last := it.dropLog.Load(); now-last >= 10 && it.dropLog.CompareAndSwap(last, now) {
		it.log.Warn("mqtt queue full, dropping events", "gateway_id", gatewayID, "event", event, "queue_size", it.cfg.QueueSize)
	}
	return false
}

func (it *Integration) stateMessage(gatewayID, topic string, online bool) message {
	st := &gw.ConnState{GatewayId: gatewayID, State: gw.ConnState_OFFLINE}
	if online {
		st.State = gw.ConnState_ONLINE
	}
	b, _ := it.cfg.Marshaler.Marshal(st)
	return message{topic: topic, payload: b, retained: it.cfg.StateRetained, event: "state"}
}

// SetGatewayState publishes a gateway's ONLINE/OFFLINE state (retained).
// States are never dropped, keep their order, and ONLINE states are
// published again after a reconnect (a restarted broker may have lost them).
func (it *Integration) SetGatewayState(gatewayID string, online bool) {
	it.mu.Lock()
	if online {
		it.online[gatewayID] = true
	} else {
		delete(it.online, gatewayID)
	}
	it.mu.Unlock()
	// Appended, not put in front, so that the states of a gateway keep
	// their order; never dropped.
	it.conns[0].q.push(it.stateMessage(gatewayID, it.Topic(gatewayID, "state", "conn"), online), true)
}

// Run connects and publishes until ctx ends, then drains the queues (for
// at most ShutdownTimeout), publishes the bridge's OFFLINE state and
// disconnects cleanly.
func (it *Integration) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, c := range it.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// conn is one MQTT connection with its queue. conns[0] also carries
// states and the command subscription.
type conn struct {
	it     *Integration
	idx    int
	q      *queue
	client paho.Client
	lost   chan struct{}
}

func (c *conn) options() *paho.ClientOptions {
	it := c.it
	id := it.cfg.ClientID
	if c.idx > 0 {
		id = fmt.Sprintf("%s-%d", id, c.idx)
	}
	o := paho.NewClientOptions().
		AddBroker(it.cfg.Server).
		SetClientID(id).
		SetUsername(it.cfg.Username).
		SetPassword(it.cfg.Password).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetKeepAlive(it.cfg.KeepAlive).
		SetPingTimeout(10 * time.Second).
		SetConnectTimeout(it.cfg.ConnectTimeout).
		SetWriteTimeout(5 * time.Second).
		SetOrderMatters(false).
		SetStore(nopStore{}).
		SetCustomOpenConnectionFn(func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
			return dial(u, it.cfg.TLS, it.cfg.ConnectTimeout)
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			it.log.Warn("mqtt connection lost", "conn", c.idx, "err", err)
			select {
			case c.lost <- struct{}{}:
			default:
			}
		})
	if c.idx == 0 {
		if it.cfg.WillGatewayID != "" {
			w := it.stateMessage(it.cfg.WillGatewayID, it.Topic(it.cfg.WillGatewayID, "state", "conn"), false)
			o.SetBinaryWill(w.topic, w.payload, 1, w.retained)
		} else {
			w := it.stateMessage("", it.bridgeStateTopic(), false)
			o.SetBinaryWill(w.topic, w.payload, 1, w.retained)
		}
	}
	return o
}

func (c *conn) run(ctx context.Context) {
	it := c.it
	c.client = paho.NewClient(c.options())
	defer func() {
		if c.client.IsConnected() {
			c.client.Disconnect(250)
		}
	}()
	backoff := 200 * time.Millisecond
	var drainUntil time.Time
	first := true
	for {
		if ctx.Err() != nil && drainUntil.IsZero() {
			drainUntil = time.Now().Add(it.cfg.ShutdownTimeout)
		}
		if !drainUntil.IsZero() && (time.Now().After(drainUntil) || c.q.len() == 0) {
			if n := c.q.len(); n > 0 {
				it.log.Warn("mqtt shutdown: messages not delivered", "conn", c.idx, "count", n)
			}
			return
		}
		select {
		case <-c.lost:
		default:
		}
		tok := c.client.Connect()
		tok.Wait()
		if err := tok.Error(); err != nil {
			it.log.Warn("mqtt connect", "conn", c.idx, "server", it.cfg.Server, "err", err, "retry_in", backoff.String())
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				if drainUntil.IsZero() {
					drainUntil = time.Now().Add(it.cfg.ShutdownTimeout)
				}
				time.Sleep(min(backoff, time.Until(drainUntil)))
			}
			backoff = min(2*backoff, it.cfg.MaxReconnectInterval)
			continue
		}
		backoff = 200 * time.Millisecond
		it.m.Reconnects.Inc()
		it.m.MQTTConnected.Inc()
		it.log.Info("mqtt connected", "conn", c.idx, "server", it.cfg.Server)
		if c.idx == 0 {
			c.onConnect(!first)
		}
		first = false
		done := c.pump(ctx, drainUntil)
		it.m.MQTTConnected.Dec()
		if done {
			if c.idx == 0 && it.cfg.WillGatewayID == "" {
				// The bridge itself goes offline, cleanly (the will is not sent).
				w := it.stateMessage("", it.bridgeStateTopic(), false)
				t := c.client.Publish(w.topic, 1, w.retained, w.payload)
				t.WaitTimeout(time.Second)
			}
			c.client.Disconnect(250)
			return
		}
		if drainUntil.IsZero() && ctx.Err() != nil {
			drainUntil = time.Now().Add(it.cfg.ShutdownTimeout)
		}
	}
}

// onConnect subscribes to commands and (re)publishes states.
func (c *conn) onConnect(reconnect bool) {
	it := c.it
	// With a known single gateway, subscribe to its topic only: brokers
	// with per-gateway ACLs (as ChirpStack setups use) refuse wildcards.
	topic := it.cfg.TopicPrefix + "gateway/+/command/down"
	if it.cfg.WillGatewayID != "" {
		topic = it.Topic(it.cfg.WillGatewayID, "command", "down")
	}
	tok := c.client.Subscribe(topic, it.cfg.QoS, c.onCommand)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		it.log.Error("mqtt subscribe", "topic", topic, "err", tok.Error())
	}
	var states []message
	if it.cfg.WillGatewayID == "" {
		states = append(states, it.stateMessage("", it.bridgeStateTopic(), true))
	}
	if reconnect {
		it.mu.Lock()
		for id := range it.online {
			states = append(states, it.stateMessage(id, it.Topic(id, "state", "conn"), true))
		}
		it.mu.Unlock()
	}
	c.q.pushFront(states)
}

func (c *conn) onCommand(_ paho.Client, msg paho.Message) {
	it := c.it
	parts := strings.Split(strings.TrimPrefix(msg.Topic(), it.cfg.TopicPrefix), "/")
	if len(parts) != 4 || parts[0] != "gateway" || parts[2] != "command" {
		return
	}
	var d gw.DownlinkFrame
	if err := it.cfg.Marshaler.Unmarshal(msg.Payload(), &d); err != nil {
		it.log.Warn("mqtt downlink command: cannot decode", "topic", msg.Topic(), "err", err)
		return
	}
	if d.GatewayId == "" {
		d.GatewayId = parts[1]
	}
	it.handler.HandleDownlink(&d)
}

type pending struct {
	tok paho.Token
	msg message
}

// pump publishes from the queue, keeping at most Inflight publishes
// unacknowledged, until the connection is lost (false) or, draining after
// shutdown, the queue is empty (true). Acknowledgements are taken in
// publish order (the broker acks QoS 1 in order) by the same goroutine, so
// a message costs no extra hand-off. Whatever is not acknowledged goes
// back to the front of the queue.
func (c *conn) pump(ctx context.Context, drainUntil time.Time) bool {
	it := c.it
	ring := make([]pending, it.cfg.Inflight)
	head, n := 0, 0
	var failed []message
	notConnected := false
	events := map[string]prometheus.Counter{}
	account := func(p pending, ok bool) {
		if ok {
			ctr := events[p.msg.event]
			if ctr == nil {
				ctr = it.m.Events.WithLabelValues(p.msg.event)
				events[p.msg.event] = ctr
			}
			ctr.Inc()
			return
		}
		if errors.Is(p.tok.Error(), paho.ErrNotConnected) {
			notConnected = true
		}
		failed = append(failed, p.msg)
	}
	pop := func() pending {
		p := ring[head]
		ring[head] = pending{}
		head = (head + 1) % len(ring)
		n--
		return p
	}
	// reap accounts for the acknowledged publishes at the head.
	reap := func() {
		for n > 0 {
			select {
			case <-ring[head].tok.Done():
				p := pop()
				account(p, p.tok.Error() == nil)
			default:
				return
			}
		}
	}
	batch := make([]message, 0, 256)
	bi := 0
	// finish waits for the publishes in flight (briefly, when the
	// connection is gone) and requeues what did not make it.
	finish := func(done bool) bool {
		wait := 2 * time.Second
		if done {
			wait = it.cfg.ShutdownTimeout
		}
		timeout := time.After(wait)
		for n > 0 {
			select {
			case <-ring[head].tok.Done():
			case <-timeout:
			}
			p := pop()
			ok := false
			select {
			case <-p.tok.Done():
				ok = p.tok.Error() == nil
			default:
			}
			account(p, ok)
		}
		rest := append(failed, batch[bi:]...)
		c.q.pushFront(rest)
		return done && len(rest) == 0
	}

	ctxDone := ctx.Done()
	var drainTimer <-chan time.Time
	if !drainUntil.IsZero() {
		ctxDone = nil
		drainTimer = time.After(time.Until(drainUntil))
	}
	for {
		reap()
		if notConnected {
			return finish(false)
		}
		if bi == len(batch) {
			batch, bi = c.q.pop(batch[:0], cap(batch)), 0
		}
		if bi < len(batch) && n < len(ring) {
			select {
			case <-c.lost:
				if !c.client.IsConnectionOpen() {
					return finish(false)
				}
			case <-drainTimer:
				return finish(false)
			default:
			}
			m := batch[bi]
			bi++
			ring[(head+n)%len(ring)] = pending{tok: c.client.Publish(m.topic, it.cfg.QoS, m.retained, m.payload), msg: m}
			n++
			continue
		}
		if bi == len(batch) && ctxDone == nil && n == 0 {
			return finish(true) // draining, and everything went out
		}
		// Nothing to send now (queue empty or window full): wait.
		var oldest, notify <-chan struct{}
		if n > 0 {
			oldest = ring[head].tok.Done()
		}
		if bi == len(batch) {
			notify = c.q.notify
		}
		select {
		case <-oldest:
		case <-notify:
		case <-c.lost:
			if !c.client.IsConnectionOpen() {
				return finish(false)
			}
		case <-ctxDone:
			ctxDone = nil
			drainTimer = time.After(it.cfg.ShutdownTimeout)
		case <-drainTimer:
			return finish(false)
		}
	}
}

// nopStore is a paho Store that keeps nothing: with a clean session and
// our own retry queue, paho's copy of every in-flight message is waste.
type nopStore struct{}

func (nopStore) Open()                             {}
func (nopStore) Put(string, packets.ControlPacket) {}
func (nopStore) Get(string) packets.ControlPacket  { return nil }
func (nopStore) All() []string                     { return nil }
func (nopStore) Del(string)                        {}
func (nopStore) Close()                            {}
func (nopStore) Reset()                            {}
