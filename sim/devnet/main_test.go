package devnet_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/hexproof/hexproof/chain/cli"
	"github.com/hexproof/hexproof/sim/devnet"
)

// chainEnv and routerEnv make the test binary act as the chain or router
// binary: the devnet under test starts its validators and routers as
// separate processes of this binary.
const (
	chainEnv  = "HEXPROOF_DEVNET_TEST_CHAIN"
	routerEnv = "HEXPROOF_DEVNET_TEST_ROUTER"
	brokerEnv = "HEXPROOF_DEVNET_TEST_MQTT"
)

func TestMain(m *testing.M) {
	if os.Getenv(chainEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "chain:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(routerEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := devnet.RunRouter(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "router:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(brokerEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := devnet.RunBroker(ctx, os.Args[1:], os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "mqtt:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
