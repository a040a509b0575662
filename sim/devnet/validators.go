package devnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// validator supervises one validator process: `chain start --home HOME`.
// A process that dies while the devnet runs (a crash, or kill -9 in the
// fault tests) is started again on the same home, where CometBFT replays
// what it missed from its peers.
type validator struct {
	index int
	home  string
	rpc   string
	argv  []string
	env   []string
	log   *slog.Logger

	mu       sync.Mutex
	proc     *os.Process
	starts   int
	lastExit string
}

func (v *validator) Run(ctx context.Context) error {
	logPath := filepath.Join(v.home, "node.log")
	for {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("validator %d log: %w", v.index, err)
		}
		cmd := exec.Command(v.argv[0], v.argv[1:]...)
		cmd.Env = append(os.Environ(), v.env...)
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = childAttr()
		if err := cmd.Start(); err != nil {
			f.Close()
			return fmt.Errorf("start validator %d (%s): %w (set --chain-command)", v.index, v.argv[0], err)
		}
		v.mu.Lock()
		v.proc = cmd.Process
		v.starts++
		v.mu.Unlock()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			f.Close()
			v.mu.Lock()
			v.proc = nil
			v.lastExit = fmt.Sprint(err)
			v.mu.Unlock()
			if ctx.Err() != nil {
				return nil
			}
			v.log.Warn("validator exited; restarting it", "validator", v.index, "err", err, "log", logPath)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(500 * time.Millisecond):
			}
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			f.Close()
			return nil
		}
	}
}

// Kill sends SIGKILL to the running process (fault injection); the
// supervisor starts it again.
func (v *validator) Kill() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.proc == nil {
		return errors.New("validator not running")
	}
	return v.proc.Kill()
}

func (v *validator) Starts() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.starts
}

// freeBase finds n*10 consecutive free TCP ports on 127.0.0.1 (the layout of
// chain/node.Testnet: node i uses base+10i .. base+10i+2).
func freeBase(n int, seed int64) (int, error) {
	span := stableHigh - stableLow - 10*n
	base := stableLow + int(seed%int64(span))
	for range 100 {
		ok := true
		var ls []net.Listener
		for p := base; p < base+10*n && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return base, nil
		}
		base = stableLow + (base-stableLow+997)%span
	}
	return 0, errors.New("no free range of ports for the validators")
}
