package devnet

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// broker is the embedded MQTT broker (mochi-mqtt) used when no --mqtt-server
// is given. It listens on a fixed loopback port so that clients reconnect to
// it after Restart (the fault tests' "broker down").
type broker struct {
	addr string
	log  *slog.Logger

	mu      sync.Mutex
	srv     *mochi.Server
	stopped chan struct{}
	restart chan struct{}
}

func newBroker(addr string, logger *slog.Logger) *broker {
	return &broker{addr: addr, log: logger, restart: make(chan struct{}, 1)}
}

func (b *broker) URL() string { return "tcp://" + b.addr }

func (b *broker) start() error {
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return fmt.Errorf("MQTT broker on %s: %w", b.addr, err)
	}
	srv := mochi.New(&mochi.Options{InlineClient: false, Logger: b.log})
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
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	return nil
}

func (b *broker) stop() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Run serves until ctx ends.
func (b *broker) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			b.stop()
			return nil
		case <-b.restart:
			b.stop()
			time.Sleep(2 * time.Second)
			// The port may linger for a moment after close.
			var err error
			for range 50 {
				if err = b.start(); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				return err
			}
			b.log.Info("MQTT broker restarted", "addr", b.addr)
		}
	}
}

// Restart drops every connection and comes back on the same port after
// two seconds (fault injection).
func (b *broker) Restart() {
	select {
	case b.restart <- struct{}{}:
	default:
	}
}
