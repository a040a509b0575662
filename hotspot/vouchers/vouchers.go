package vouchers

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/hotspot/queue"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// ErrInvalid is returned by Verify.
var ErrInvalid = errors.New("invalid voucher")

// Verify checks that v is for this hotspot and chain and signed by router.
func Verify(v *hexproofv1.Voucher, router, hotspot []byte, chainID string) error {
	switch {
	case !bytes.Equal(v.GetHotspot(), hotspot):
		return fmt.Errorf("%w: for another hotspot", ErrInvalid)
	case !bytes.Equal(v.GetRouter(), router):
		return fmt.Errorf("%w: names a router key other than the session's", ErrInvalid)
	case chainID != "" && v.GetChainId() != chainID:
		return fmt.Errorf("%w: chain %q, want %q", ErrInvalid, v.GetChainId(), chainID)
	}
	if err := identity.VerifyMessage(router, identity.DomainVoucher, v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// Store is the on-disk voucher set. It is safe for concurrent use.
type Store struct {
	dir string
	max int
	mu  sync.Mutex
	// cache of the stored vouchers by file name
	byName map[string]*hexproofv1.Voucher
}

const ext = ".voucher"

// Open opens (creating) the store in dir holding at most max vouchers.
func Open(dir string, max int) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create voucher directory: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read voucher directory: %w", err)
	}
	s := &Store{dir: dir, max: max, byName: map[string]*hexproofv1.Voucher{}}
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, ext) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read voucher: %w", err)
		}
		var v hexproofv1.Voucher
		if err := proto.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("voucher file %s is damaged: %w", name, err)
		}
		s.byName[name] = &v
	}
	return s, nil
}

func fileName(v *hexproofv1.Voucher) string {
	return fmt.Sprintf("%d-%s-%d%s", v.GetOui(), hex.EncodeToString(v.GetRouter()), v.GetEpoch(), ext)
}

// Put stores v unless a voucher of the same OUI, router and epoch with at
// least as many DC is stored. It reports whether v was stored.
func (s *Store) Put(v *hexproofv1.Voucher) (bool, error) {
	name := fileName(v)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byName[name]; ok && old.GetDc() >= v.GetDc() {
		return false, nil
	}
	if _, ok := s.byName[name]; !ok && s.max > 0 && len(s.byName) >= s.max {
		return false, fmt.Errorf("voucher store full (%d); claim with `hotspot claim`", s.max)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(v)
	if err != nil {
		return false, err
	}
	if err := queue.WriteFileSync(filepath.Join(s.dir, name), b, 0o600); err != nil {
		return false, fmt.Errorf("store voucher: %w", err)
	}
	s.byName[name] = proto.Clone(v).(*hexproofv1.Voucher)
	return true, nil
}

// List returns the stored vouchers, oldest epoch first.
func (s *Store) List() []*hexproofv1.Voucher {
	s.mu.Lock()
	out := make([]*hexproofv1.Voucher, 0, len(s.byName))
	for _, v := range s.byName {
		out = append(out, v)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].GetEpoch() != out[j].GetEpoch() {
			return out[i].GetEpoch() < out[j].GetEpoch()
		}
		return out[i].GetOui() < out[j].GetOui()
	})
	return out
}

// Len is the number of stored vouchers.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byName)
}

// Remove deletes v if the stored voucher has no more DC than v (a higher
// one that arrived meanwhile stays).
func (s *Store) Remove(v *hexproofv1.Voucher) error {
	name := fileName(v)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.byName[name]; !ok || cur.GetDc() > v.GetDc() {
		return nil
	}
	delete(s.byName, name)
	if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove voucher: %w", err)
	}
	return queue.SyncDir(s.dir)
}

// Chain is what claiming needs from the chain.
type Chain interface {
	// CurrentEpoch is the epoch the chain head is in.
	CurrentEpoch(ctx context.Context) (uint64, error)
	// ClaimVoucher submits a VoucherClaim and waits for the verdict; nil
	// means paid (or already paid).
	ClaimVoucher(ctx context.Context, v *hexproofv1.Voucher) error
}

// ClaimResult counts one claim round.
type ClaimResult struct {
	Claimed int
	Failed  int
	Errors  []error
}

// Claim claims every stored voucher of an epoch before beforeEpoch
// (math.MaxUint64: all).
func Claim(ctx context.Context, s *Store, c Chain, beforeEpoch uint64) ClaimResult {
	var r ClaimResult
	for _, v := range s.List() {
		if v.GetEpoch() >= beforeEpoch {
			continue
		}
		if err := c.ClaimVoucher(ctx, v); err != nil {
			r.Failed++
			r.Errors = append(r.Errors, fmt.Errorf("oui %d epoch %d: %w", v.GetOui(), v.GetEpoch(), err))
			continue
		}
		if err := s.Remove(v); err != nil {
			r.Errors = append(r.Errors, err)
		}
		r.Claimed++
	}
	return r
}

// Run claims vouchers of ended epochs every interval until ctx ends.
func Run(ctx context.Context, s *Store, c Chain, interval time.Duration, log *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if s.Len() == 0 {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		epoch, err := c.CurrentEpoch(cctx)
		if err != nil {
			cancel()
			log.Warn("read epoch for voucher claims", "err", err)
			continue
		}
		r := Claim(cctx, s, c, epoch)
		cancel()
		if r.Claimed > 0 || r.Failed > 0 {
			log.Info("voucher claims", "claimed", r.Claimed, "failed", r.Failed, "errors", errors.Join(r.Errors...))
		}
	}
}

// All is the beforeEpoch that claims every stored voucher.
const All = math.MaxUint64
