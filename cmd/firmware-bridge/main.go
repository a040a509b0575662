// Command firmware-bridge bridges Semtech's UDP packet forwarder (GWMP) to
// MQTT, compatible with ChirpStack Gateway Bridge v4. See
// docs/firmware-bridge.md; `firmware-bridge --help` lists every flag.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hexproof/hexproof/firmware-bridge/app"
	"github.com/hexproof/hexproof/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, config.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "firmware-bridge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := app.Load(args, os.Getenv, stdout)
	if err != nil {
		return err
	}
	logger, err := cfg.Logger(stderr)
	if err != nil {
		return err
	}
	return app.Run(ctx, cfg, logger, nil, nil)
}
