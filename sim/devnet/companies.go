package devnet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sync/errgroup"

	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/router"
	"github.com/hexproof/hexproof/router/chainclient"
	"github.com/hexproof/hexproof/sim/lns"
)

// prepareCompanies loads (or creates) each company's router key and binds
// its router and network server ports, which the OUI names on chain.
func (d *Devnet) prepareCompanies(st *state) (map[string]*identity.Key, map[string]*net.UDPConn, error) {
	keys := map[string]*identity.Key{}
	conns := map[string]*net.UDPConn{}
	for _, co := range d.world.Companies {
		k, err := keyFile(d.path("routers", co.Name, "key.json"))
		if err != nil {
			return nil, nil, err
		}
		keys[co.Name] = k
		p := st.Routers[co.Name]
		ln, err := listenTCP(&p, "router of "+co.Name)
		if err != nil {
			return nil, nil, err
		}
		ln.Close()
		st.Routers[co.Name] = p
		lp := st.LNS[co.Name]
		c, err := listenUDP(&lp, "network server of "+co.Name)
		if err != nil {
			return nil, nil, err
		}
		st.LNS[co.Name] = lp
		conns[co.Name] = c
	}
	return keys, conns, nil
}

// mqttClient connects a paho client that reconnects by itself.
func mqttClient(ctx context.Context, server, id string) (mqtt.Client, error) {
	o := mqtt.NewClientOptions().AddBroker(server).SetClientID(id).SetAutoReconnect(true).
		SetConnectRetry(true).SetConnectRetryInterval(500 * time.Millisecond).SetMaxReconnectInterval(2 * time.Second).
		SetCleanSession(true)
	c := mqtt.NewClient(o)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("MQTT %s: no connection within 10 s", server)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("MQTT %s: %w", server, err)
	}
	return c, nil
}

// startCompanies runs each company's network server and router.
func (d *Devnet) startCompanies(ctx context.Context, g *errgroup.Group, st *state, keys map[string]*identity.Key, conns map[string]*net.UDPConn) error {
	for i, co := range d.world.Companies {
		cfg, err := lns.ConfigFromWorld(d.world, co.Name)
		if err != nil {
			return err
		}
		cfg.TopicPrefix = d.cfg.TopicPrefix
		pubc, err := mqttClient(ctx, d.mqttURL, "devnet-lns-"+co.Name+"-"+randomHex(3))
		if err != nil {
			return err
		}
		srv, err := lns.New(cfg, conns[co.Name], lns.PahoPublisher(pubc, 1, 5*time.Second), d.log.With("component", "lns", "company", co.Name))
		if err != nil {
			return err
		}
		d.lnss[co.Name] = srv
		g.Go(func() error {
			defer pubc.Disconnect(250)
			return srv.Run(ctx)
		})
		oui := st.OUIs[co.Name]
		args := []string{
			"--listen", fmt.Sprintf("127.0.0.1:%d", st.Routers[co.Name]), "--metrics-listen", "",
			"--key-file", d.path("routers", co.Name, "key.json"), "--state-dir", d.path("routers", co.Name, "state"),
			"--chain-rpc", d.rpcs[i%len(d.rpcs)], "--ouis", strconv.FormatUint(oui, 10),
			"--lns", fmt.Sprintf("%d=127.0.0.1:%d", oui, st.LNS[co.Name]),
			"--voucher-interval", d.cfg.VoucherInterval.String(), "--chain-refresh", "5s", "--keepalive", "5s",
			"--log-format", d.cfg.LogFormat, "--log-level", d.cfg.LogLevel,
		}
		rc, err := router.ParseConfig(args, func(string) string { return "" }, io.Discard)
		if err != nil {
			return fmt.Errorf("router of %s: %w", co.Name, err)
		}
		rp := &routerProc{company: co.Name, oui: oui, cfg: rc, key: keys[co.Name], log: d.log.With("component", "router", "company", co.Name), kill: make(chan struct{}, 1)}
		d.routers = append(d.routers, rp)
		g.Go(func() error { return rp.Run(ctx) })
	}
	d.progress("companies up", "routers", len(d.routers), "network_servers", len(d.lnss))
	return nil
}

// routerProc runs one company's router and runs it again after Kill.
type routerProc struct {
	company string
	oui     uint64
	cfg     router.Config
	key     *identity.Key
	log     *slog.Logger
	kill    chan struct{}

	mu     sync.Mutex
	cur    *router.Router
	starts int
}

func (p *routerProc) Run(ctx context.Context) error {
	for {
		var ln net.Listener
		var err error
		for range 100 {
			if ln, err = net.Listen("tcp", p.cfg.Listen); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("router of %s: listen on %s: %w", p.company, p.cfg.Listen, err)
		}
		src, err := chainclient.New(p.cfg.ChainRPC, p.key.PublicKey())
		if err != nil {
			ln.Close()
			return err
		}
		r, err := router.New(p.cfg, p.log, router.Deps{Key: p.key, Chain: src, Listener: ln})
		if err != nil {
			ln.Close()
			return fmt.Errorf("router of %s: %w", p.company, err)
		}
		p.mu.Lock()
		p.cur = r
		p.starts++
		p.mu.Unlock()
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		select {
		case <-ctx.Done():
			cancel()
			return <-done
		case <-p.kill:
			cancel()
			if err := <-done; err != nil {
				p.log.Warn("router stopped", "err", err)
			}
			time.Sleep(time.Second)
		case err := <-done:
			cancel()
			if ctx.Err() != nil {
				return err
			}
			p.log.Warn("router exited; restarting it", "err", err)
			time.Sleep(time.Second)
		}
	}
}

// Restart stops the router and starts it again a second later (fault
// injection).
func (p *routerProc) Restart() {
	select {
	case p.kill <- struct{}{}:
	default:
	}
}

// Router returns the running router.
func (p *routerProc) Router() *router.Router {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}
