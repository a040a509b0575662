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

// process supervises one child process of the devnet: a validator
// (`chain start --home HOME`) or a router. A process that dies while the
// devnet runs (a crash, or kill -9 in the fault tests) is started again with
// the same arguments: a validator on the same home, where CometBFT replays
// what it missed from its peers; a router on the same port and voucher
// state.
type process struct {
	name    string
	logPath string
	argv    []string
	env     []string
	log     *slog.Logger

	mu       sync.Mutex
	proc     *os.Process
	starts   int
	lastExit string
}

func (v *process) Run(ctx context.Context) error {
	logPath := v.logPath
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return err
	}
	for {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("%s log: %w", v.name, err)
		}
		cmd := exec.Command(v.argv[0], v.argv[1:]...)
		cmd.Env = append(os.Environ(), v.env...)
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = childAttr()
		if err := cmd.Start(); err != nil {
			f.Close()
			return fmt.Errorf("start %s (%s): %w", v.name, v.argv[0], err)
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
			v.log.Warn("process exited; restarting it", "process", v.name, "err", err, "log", logPath)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(500 * time.Millisecond):
			}
		case <-ctx.Done():
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				v.log.Debug("signal process", "process", v.name, "err", err)
			}
			select {
			case <-done: //nolint:errcheck // a stopped process's exit status is expected
			case <-time.After(15 * time.Second):
				if err := cmd.Process.Kill(); err != nil {
					v.log.Debug("kill process", "process", v.name, "err", err)
				}
				<-done //nolint:errcheck // killed on purpose
			}
			f.Close()
			return nil
		}
	}
}

// Kill sends SIGKILL to the running process (fault injection); the
// supervisor starts it again.
func (v *process) Kill() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.proc == nil {
		return errors.New(v.name + " is not running")
	}
	return v.proc.Kill()
}

func (v *process) Starts() int {
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
