package devnet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hexproof/hexproof/firmware-bridge/app"
	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/hotspot/agent"
	"github.com/hexproof/hexproof/hotspot/bridgemqtt"
	"github.com/hexproof/hexproof/hotspot/chainrpc"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/sim/air"
	"github.com/hexproof/hexproof/sim/device"
	"github.com/hexproof/hexproof/sim/pktfwd"
	"github.com/hexproof/hexproof/sim/radio"
	"github.com/hexproof/hexproof/sim/world"
)

// hotspotProc is one simulated gateway: packet forwarder -> firmware bridge
// -> hotspot agent, all in this process but talking GWMP over UDP and MQTT.
type hotspotProc struct {
	h      world.Hotspot
	key    *identity.Key
	fwd    *pktfwd.Forwarder
	agent  *agent.Agent
	status string
}

func (d *Devnet) startHotspots(ctx context.Context, g *errgroup.Group, st *state) error {
	w := d.world
	p := radio.DefaultParams()
	p.Seed = w.Seed
	model, err := radio.New(p)
	if err != nil {
		return err
	}
	d.air = air.New(air.Config{}, w, model, d.log.With("component", "air"))
	for len(st.HotspotStatus) < len(w.Hotspots) {
		st.HotspotStatus = append(st.HotspotStatus, 0)
	}
	for len(st.Bridges) < len(w.Hotspots) {
		st.Bridges = append(st.Bridges, 0)
	}
	// Agents read the chain head to know when to beacon: often enough to
	// beacon within a tenth of the interval, never more than once a block
	// nor less than every 5 s (1,000 agents polling each block would load
	// the validators' RPC more than the network's real work).
	pocPoll := max(d.cfg.BlockTime, 300*time.Millisecond, min(5*time.Second, d.cfg.BlockTime*time.Duration(d.cfg.BeaconIntervalBlocks)/10))
	// What agents re-read rarely (routing table, their own record) is read
	// less often in big worlds: the validators' RPC serves every agent.
	refresh := max(30*time.Second, time.Duration(len(w.Hotspots))*100*time.Millisecond)
	quiet := d.log.With("component", "hotspot")
	for i, h := range w.Hotspots {
		hp, err := d.startHotspot(ctx, g, st, i, h, pocPoll, refresh, quiet)
		if err != nil {
			return fmt.Errorf("hotspot %s: %w", h.Name, err)
		}
		d.mu.Lock()
		d.hotspots = append(d.hotspots, hp)
		d.mu.Unlock()
		if (i+1)%100 == 0 && i+1 < len(w.Hotspots) {
			d.progress("starting hotspots", "started", i+1, "of", len(w.Hotspots))
		}
	}
	for i, wd := range w.Devices {
		c, err := device.FromWorld(wd)
		if err != nil {
			return fmt.Errorf("device %s: %w", wd.Name, err)
		}
		if d.cfg.UplinkInterval > 0 {
			c.UplinkInterval = d.cfg.UplinkInterval
		}
		dev := device.New(c)
		if err := d.air.AddDevice(i, dev); err != nil {
			return fmt.Errorf("device %s: %w", wd.Name, err)
		}
		d.devices = append(d.devices, dev)
	}
	d.progress("hotspots started", "bridges", len(d.hotspots), "agents", len(d.hotspots), "devices", len(d.devices))
	return nil
}

func (d *Devnet) startHotspot(ctx context.Context, g *errgroup.Group, st *state, i int, h world.Hotspot, pocPoll, refresh time.Duration, log *slog.Logger) (*hotspotProc, error) {
	key, err := HotspotKey(h)
	if err != nil {
		return nil, err
	}
	eui := strings.ToLower(h.GatewayEUI)
	// Each bridge + agent pair gets its own topic namespace, as each real
	// gateway has its own local broker: the firmware bridge subscribes to
	// gateway/+/command/down even when it serves one gateway, so bridges
	// sharing a prefix would each try (and fail, acking INTERNAL_ERROR)
	// every other gateway's downlinks.
	prefix := d.cfg.TopicPrefix + "hotspot/" + h.Name + "/"
	bconn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("firmware bridge UDP socket: %w", err)
	}
	st.Bridges[i] = bconn.LocalAddr().(*net.UDPAddr).Port
	bcfg, err := app.Load([]string{
		"--mqtt-server", d.mqttURL, "--mqtt-client-id", "devnet-bridge-" + eui, "--gateway-id", eui,
		"--topic-prefix", prefix, "--udp-workers", "1", "--udp-queue", "256", "--udp-read-buffer", "262144",
		"--mqtt-queue-size", "2000", "--mqtt-inflight", "100", "--mqtt-max-reconnect-interval", "2s", "--shutdown-timeout", "1s",
		"--log-format", d.cfg.LogFormat, "--log-level", d.cfg.LogLevel,
	}, func(string) string { return "" }, io.Discard)
	if err != nil {
		bconn.Close()
		return nil, fmt.Errorf("bridge config: %w", err)
	}
	blog := log.With("part", "bridge", "hotspot", h.Name)
	g.Go(func() error {
		if err := app.Run(ctx, bcfg, blog, bconn, nil); err != nil && ctx.Err() == nil {
			blog.Error("bridge stopped", "err", err)
		}
		return nil
	})

	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("status API: %w", err)
	}
	sport := sln.Addr().(*net.TCPAddr).Port
	st.HotspotStatus[i] = sport
	ch, err := chainrpc.New(d.rpcs[i%len(d.rpcs)], key, 0)
	if err != nil {
		sln.Close()
		return nil, err
	}
	acfg := agent.Config{
		Key: key, Version: "devnet", DataDir: d.path("hotspots", h.Name), ChainID: d.chainID,
		Bridge:         bridgemqtt.Config{Broker: d.mqttURL, TopicPrefix: prefix, GatewayID: eui, ClientID: "devnet-hotspot-" + eui},
		Oracles:        []string{"127.0.0.1:" + strconv.Itoa(st.OracleGRPC)},
		RoutingRefresh: refresh, PocPoll: pocPoll, BeaconRetry: 2 * d.cfg.BlockTime,
		InfoRefresh: refresh, ClaimInterval: max(d.cfg.ClaimInterval, time.Duration(len(d.world.Hotspots))*30*time.Millisecond),
	}
	alog := log.With("part", "agent", "hotspot", h.Name)
	a, err := agent.New(acfg, alog, ch, sln)
	if err != nil {
		sln.Close()
		return nil, err
	}
	g.Go(func() error {
		if err := a.Run(ctx); err != nil && ctx.Err() == nil {
			alog.Error("agent stopped", "err", err)
		}
		return nil
	})

	geui, err := gwmp.ParseEUI64(h.GatewayEUI)
	if err != nil {
		return nil, err
	}
	fconn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f, err := pktfwd.New(pktfwd.Config{GatewayEUI: geui, Server: bconn.LocalAddr().String(), KeepaliveInterval: 5 * time.Second,
		Lat: h.Lat, Lng: h.Lng, Alt: int(h.HeightM)}, fconn, log.With("part", "pktfwd", "hotspot", h.Name), d.transmit(i))
	if err != nil {
		fconn.Close()
		return nil, err
	}
	d.air.Attach(i, f)
	g.Go(func() error {
		if err := f.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("packet forwarder stopped", "hotspot", h.Name, "err", err)
		}
		return nil
	})
	return &hotspotProc{h: h, key: key, fwd: f, agent: a, status: fmt.Sprintf("http://127.0.0.1:%d", sport)}, nil
}

// waitHotspots waits until every packet forwarder is connected to its
// bridge (PULL_ACK received).
func (d *Devnet) waitHotspots(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := 0
		for _, h := range d.hotspots {
			if h.fwd.Connected() {
				n++
			}
		}
		if n == len(d.hotspots) {
			d.progress("packet forwarders connected", "count", n)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d packet forwarders got an answer from their bridge within 60 s", n, len(d.hotspots))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
