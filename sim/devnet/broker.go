package devnet

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/hexproof/hexproof/internal/logging"
)

// RunBroker is the embedded MQTT broker program (mochi-mqtt), the devnet
// binary's "mqtt" command: `mqtt --listen 127.0.0.1:PORT`. The devnet runs
// it as a separate process so that the fault tests can kill it.
func RunBroker(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mqtt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("listen", "127.0.0.1:1883", "TCP address of the broker")
	level := fs.String("log-level", "warn", "log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := logging.New(stderr, "json", *level)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("MQTT broker on %s: %w", *addr, err)
	}
	srv := mochi.New(&mochi.Options{Logger: logger})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		ln.Close()
		return fmt.Errorf("MQTT broker: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("devnet", ln)); err != nil {
		ln.Close()
		return fmt.Errorf("MQTT broker: %w", err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return fmt.Errorf("MQTT broker: %w", err)
	}
	<-ctx.Done()
	return srv.Close()
}

// broker is the embedded broker's process.
type broker struct {
	addr string
	proc *process
}

func (b *broker) URL() string { return "tcp://" + b.addr }

// waitTCP waits until addr accepts connections.
func waitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing answers on %s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (d *Devnet) newBroker(port int, logger *slog.Logger) (*broker, error) {
	argv := append([]string(nil), d.cfg.BrokerCommand...)
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, errors.New("find the devnet binary for the embedded MQTT broker: " + err.Error())
		}
		argv = []string{exe, "mqtt"}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	argv = append(argv, "--listen", addr, "--log-level", "warn")
	return &broker{addr: addr, proc: &process{name: "MQTT broker", logPath: d.path("mqtt.log"), argv: argv, env: d.cfg.BrokerEnv, log: logger}}, nil
}
