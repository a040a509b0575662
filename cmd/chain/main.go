// Command chain runs and operates a Hexproof chain node: init, testnet,
// start, keys, tx, query, status. See docs/chain.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hexproof/hexproof/chain/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	if err != nil {
		if !errors.Is(err, cli.ErrUsage) || err.Error() != cli.ErrUsage.Error() {
			fmt.Fprintln(os.Stderr, "chain:", err)
		}
		os.Exit(1)
	}
}
