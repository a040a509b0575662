package testkit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Counter is a minimal MQTT 3.1.1 subscriber (QoS 0) that only counts the
// PUBLISH packets whose topic ends in suffix. Benchmarks use it instead of
// paho so that counting costs the 2-core machine as little CPU as
// possible.
type Counter struct {
	conn  net.Conn
	n     atomic.Int64
	last  atomic.Int64 // unix nanos of the last counted message
	first atomic.Int64
	done  chan error
}

func mqttString(s string) []byte {
	return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...)
}

func packet(typ byte, body []byte) []byte {
	out := []byte{typ}
	n := len(body)
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// Count connects to the broker at hostport and subscribes to filter.
func Count(hostport, filter, suffix string) (*Counter, error) {
	c, err := net.DialTimeout("tcp", hostport, 5*time.Second)
	if err != nil {
		return nil, err
	}
	connect := append(mqttString("MQTT"), 4, 0x02, 0, 0) // clean session, no keep-alive
	connect = append(connect, mqttString(fmt.Sprintf("fb-counter-%d", time.Now().UnixNano()))...)
	sub := append([]byte{0, 1}, mqttString(filter)...)
	sub = append(sub, 0)
	if _, err := c.Write(append(packet(0x10, connect), packet(0x82, sub)...)); err != nil {
		c.Close()
		return nil, err
	}
	r := bufio.NewReaderSize(c, 256<<10)
	k := &Counter{conn: c, done: make(chan error, 1)}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range 2 { // CONNACK, SUBACK
		if _, _, err := readPacket(r, nil); err != nil {
			c.Close()
			return nil, fmt.Errorf("mqtt handshake: %w", err)
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	suf := []byte(suffix)
	go func() {
		var buf []byte
		for {
			typ, body, err := readPacket(r, buf)
			if err != nil {
				k.done <- err
				return
			}
			buf = body[:0]
			if typ>>4 != 3 || len(body) < 2 {
				continue
			}
			tl := int(body[0])<<8 | int(body[1])
			if 2+tl > len(body) || !bytes.HasSuffix(body[2:2+tl], suf) {
				continue
			}
			now := time.Now().UnixNano()
			if k.n.Add(1) == 1 {
				k.first.Store(now)
			}
			k.last.Store(now)
		}
	}()
	return k, nil
}

func readPacket(r *bufio.Reader, buf []byte) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for i := 0; ; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(b&0x7f) * mul
		mul *= 128
		if b&0x80 == 0 {
			break
		}
		if i == 3 {
			return 0, nil, errors.New("bad remaining length")
		}
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err = io.ReadFull(r, buf)
	return typ, buf, err
}

// N is the number of messages counted.
func (k *Counter) N() int64 { return k.n.Load() }

// Last is when the last message arrived.
func (k *Counter) Last() time.Time { return time.Unix(0, k.last.Load()) }

// Close disconnects.
func (k *Counter) Close() { k.conn.Close() }

// ProcStatus returns the VmRSS and VmHWM of a process in bytes (Linux).
func ProcStatus(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v * 1024
		case "VmHWM:":
			hwm = v * 1024
		}
	}
	return rss, hwm, nil
}

// ProcCPU returns the user+system CPU time a process used so far.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100, nil // USER_HZ is 100 on Linux
}
