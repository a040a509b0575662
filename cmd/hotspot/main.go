// Command hotspot is the Hexproof agent on a LoRaWAN gateway: it carries
// uplinks and downlinks between the gateway bridge (MQTT) and the routers,
// beacons and witnesses for proof of coverage, and manages the hotspot's
// identity. Run `hotspot help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hexproof/hexproof/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if errors.Is(err, config.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hotspot:", err)
		os.Exit(1)
	}
}

const usage = `usage: hotspot COMMAND [flags]

Commands:
  keys generate --key PATH   create the hotspot's ed25519 key (file mode 0600)
  keys show --key PATH       print the hotspot's address and public key
  onboard --owner ADDR       print the hotspot-signed half of the add transaction
                             (--owner-key PATH --chain-rpc URL submits it)
  assert --lat --lng | --h3  prepare the location assertion (--gain dBi, --elevation m, --region)
  claim                      claim stored data-credit vouchers on chain now
  status                     show the running agent's status
  run                        run the agent
  version                    print the version

Every command takes --help. Flags can also be set with HOTSPOT_* environment
variables and a TOML file (--config).`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	case "version":
		fmt.Fprintln(stdout, version)
		return nil
	case "keys":
		if len(rest) == 0 {
			return errors.New("keys: give generate or show")
		}
		switch rest[0] {
		case "generate":
			return keysGenerate(rest[1:], stdout, stderr, getenv)
		case "show":
			return keysShow(rest[1:], stdout, stderr, getenv)
		}
		return fmt.Errorf("keys: unknown subcommand %q (use generate or show)", rest[0])
	case "onboard":
		return onboard(ctx, rest, stdout, stderr, getenv)
	case "assert":
		return assert(ctx, rest, stdout, stderr, getenv)
	case "claim":
		return claim(ctx, rest, stdout, stderr, getenv)
	case "status":
		return showStatus(ctx, rest, stdout, stderr, getenv)
	case "run":
		return runAgent(ctx, rest, stdout, stderr, getenv)
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
