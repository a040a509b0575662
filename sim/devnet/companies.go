package devnet

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sync/errgroup"

	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
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
			"--key-file", d.path("routers", co.Name, "key.json"), "--state-dir", d.routerStateDir(co.Name),
			"--chain-rpc", d.rpcs[i%len(d.rpcs)], "--ouis", strconv.FormatUint(oui, 10),
			"--lns", fmt.Sprintf("%d=127.0.0.1:%d", oui, st.LNS[co.Name]),
			"--voucher-interval", d.cfg.VoucherInterval.String(), "--chain-refresh", "5s", "--keepalive", "5s",
			"--log-format", "json", "--log-level", "info",
		}
		// Refuse a bad configuration here rather than in a restart loop.
		if _, err := router.ParseConfig(args, func(string) string { return "" }, io.Discard); err != nil {
			return fmt.Errorf("router of %s: %w", co.Name, err)
		}
		argv, err := binaryArgv(d.cfg.RouterCommand, "router")
		if err != nil {
			return err
		}
		p := &process{name: "router of " + co.Name, logPath: d.path("routers", co.Name, "router.log"),
			argv: append(argv, args...), env: d.cfg.RouterEnv, log: d.log}
		d.routers = append(d.routers, &routerProc{company: co.Name, oui: oui, proc: p})
		g.Go(func() error { return p.Run(ctx) })
	}
	d.progress("companies up", "routers", len(d.routers), "network_servers", len(d.lnss))
	return nil
}

// routerProc is one company's router, a separate process.
type routerProc struct {
	company string
	oui     uint64
	proc    *process
}

func (d *Devnet) routerStateDir(company string) string {
	return d.path("routers", company, "state")
}

// RunRouter is the router program (what cmd/router runs): the devnet
// binary's "router" command when no bin/router is next to it.
func RunRouter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := router.ParseConfig(args, os.Getenv, stdout)
	if err != nil {
		return err
	}
	logger, err := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	key, _, err := identity.LoadOrCreateKeyFile(cfg.KeyFile)
	if err != nil {
		return err
	}
	src, err := chainclient.New(cfg.ChainRPC)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	r, err := router.New(cfg, logger, router.Deps{Key: key, Chain: src, Listener: lis})
	if err != nil {
		lis.Close()
		return err
	}
	return r.Run(ctx)
}
