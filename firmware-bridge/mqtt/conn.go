package mqtt

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"
)

// maxPendingWrite bounds the bytes a bufConn holds before Write waits.
const maxPendingWrite = 1 << 20

// bufConn gives paho buffered reads (it reads a packet byte by byte) and
// coalesced writes: Write appends to a buffer that a flusher goroutine
// writes out; while one write is in the kernel, the next packets pile up
// and go out together. Nothing waits for a timer, so a lone packet leaves
// at once.
type bufConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	spare   []byte
	err     error
	closed  bool
	flushed chan struct{}
	wake    chan struct{}
}

func newBufConn(c net.Conn) *bufConn {
	b := &bufConn{Conn: c, r: bufio.NewReaderSize(c, 32<<10), wake: make(chan struct{}, 1), flushed: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.flusher()
	return b
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *bufConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.buf) > maxPendingWrite && b.err == nil && !b.closed {
		b.cond.Wait()
	}
	if b.err != nil || b.closed {
		err := b.err
		b.mu.Unlock()
		if err == nil {
			err = net.ErrClosed
		}
		return 0, err
	}
	b.buf = append(b.buf, p...)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (b *bufConn) flusher() {
	defer close(b.flushed)
	for range b.wake {
		for {
			b.mu.Lock()
			if len(b.buf) == 0 || b.err != nil {
				closed := b.closed
				b.mu.Unlock()
				if closed {
					return
				}
				break
			}
			out := b.buf
			b.buf = b.spare[:0]
			b.mu.Unlock()

			_ = b.Conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
			_, err := b.Conn.Write(out)

			b.mu.Lock()
			if cap(out) <= 64<<10 {
				b.spare = out[:0]
			} else {
				b.spare = nil
			}
			if err != nil && b.err == nil {
				b.err = err
				b.Conn.Close() // unblocks paho's reader, which reports the loss
			}
			b.cond.Broadcast()
			b.mu.Unlock()
		}
	}
}

// Close flushes what paho wrote last (DISCONNECT) for up to a second, then
// closes.
func (b *bufConn) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	select {
	case <-b.flushed:
	case <-time.After(time.Second):
	}
	return b.Conn.Close()
}

// SetWriteDeadline is a no-op: the flusher sets its own deadline (paho sets
// one per publish, which would cost a timer update each).
func (b *bufConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline applies to reads only, for the same reason.
func (b *bufConn) SetDeadline(t time.Time) error { return b.SetReadDeadline(t) }

// dial opens the network connection for a broker URL: tcp:// or mqtt://,
// and ssl://, tls://, mqtts:// or tcps:// with TLS.
func dial(u *url.URL, tlsCfg *tls.Config, timeout time.Duration) (net.Conn, error) {
	host := u.Host
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	var c net.Conn
	var err error
	switch u.Scheme {
	case "tcp", "mqtt":
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "1883")
		}
		c, err = d.Dial("tcp", host)
	case "ssl", "tls", "mqtts", "tcps":
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "8883")
		}
		cfg := tlsCfg
		if cfg == nil {
			cfg = &tls.Config{}
		}
		cfg = cfg.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		c, err = tls.DialWithDialer(d, "tcp", host, cfg)
	default:
		return nil, fmt.Errorf("mqtt server scheme %q: use tcp://, mqtt://, ssl://, tls:// or mqtts://", u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return newBufConn(c), nil
}

// ValidateServer checks a broker URL.
func ValidateServer(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("mqtt server %q: %w", s, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps":
	default:
		return fmt.Errorf("mqtt server %q: use tcp://host:1883 or ssl://host:8883 (also mqtt://, tls://, mqtts://)", s)
	}
	if u.Hostname() == "" {
		return errors.New("mqtt server " + s + ": missing host")
	}
	return nil
}
