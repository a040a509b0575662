// Command oracle runs the untrusted helpers anyone can run next to a
// Hexproof chain: PoC report ingest (gRPC), the price feed validators read,
// the chain indexer into PostgreSQL and the explorer (JSON API and web page
// with the coverage map). See docs/oracle.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hexproof/hexproof/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	switch {
	case errors.Is(err, config.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
}
