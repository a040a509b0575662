// Command router is the packet router of an IoT company's OUI: hotspots
// stream uplinks to it, it buys the copies it needs and delivers them to the
// company's LoRaWAN Network Server over Semtech UDP. See docs/router.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/hexproof/hexproof/internal/config"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/router"
	"github.com/hexproof/hexproof/router/chainclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, config.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "router:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := router.ParseConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	logger, err := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	key, created, err := identity.LoadOrCreateKeyFile(cfg.KeyFile)
	if err != nil {
		return err
	}
	if cfg.PrintAddress {
		fmt.Fprintln(stdout, key.Address().String())
		return nil
	}
	if created {
		logger.Info("created router key; add its address to your OUI's routers", "router", key.Address().String(), "key_file", cfg.KeyFile)
	}
	src, err := chainclient.New(cfg.ChainRPC)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	deps := router.Deps{Key: key, Chain: src, Listener: lis}
	if cfg.MetricsListen != "" {
		ml, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			lis.Close()
			return fmt.Errorf("listen on %s for metrics: %w", cfg.MetricsListen, err)
		}
		deps.MetricsListener = ml
	}
	r, err := router.New(cfg, logger, deps)
	if err != nil {
		lis.Close()
		if deps.MetricsListener != nil {
			deps.MetricsListener.Close()
		}
		return err
	}
	return r.Run(ctx)
}
