// Command devnet runs the whole Hexproof network on this machine with a
// simulated radio world: validators, oracle, MQTT broker, routers, network
// servers, and a firmware bridge + hotspot agent per simulated hotspot. See
// docs/devnet.md; `devnet --help` lists every flag.
//
// `devnet chain ...` and `devnet router ...` are the chain and router
// binaries' command lines (the devnet runs its validators and routers with
// them when no bin/chain or bin/router is next to it); `devnet mqtt --listen
// ADDR` is the embedded MQTT broker, which the devnet runs as its own process.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hexproof/hexproof/chain/cli"
	"github.com/hexproof/hexproof/internal/config"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/sim/devnet"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if errors.Is(err, config.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devnet:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) > 0 && args[0] == "chain" {
		return cli.Run(ctx, args[1:], cli.Env{Stdout: stdout, Stderr: stderr, Getenv: getenv})
	}
	if len(args) > 0 && args[0] == "mqtt" {
		return devnet.RunBroker(ctx, args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "router" {
		return devnet.RunRouter(ctx, args[1:], stdout, stderr)
	}
	cfg, err := devnet.ParseConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	logger, err := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	d, err := devnet.New(cfg, logger, stdout)
	if err != nil {
		return err
	}
	return d.Run(ctx)
}
