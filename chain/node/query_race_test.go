package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// TestQueriesWhileBlocksCommit runs a one-validator node in-process and
// reads it over RPC (abci_query, abci_info, status) from several goroutines
// while blocks commit, transactions enter the mempool and snapshots are
// taken. Run with -race: any application state read outside CometBFT's
// ABCI lock (node logs, RPC, snapshots) is reported. Without -race it
// still checks that every answer is well-formed and that the height a
// reader sees never goes back.
func TestQueriesWhileBlocksCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a node")
	}
	// CometBFT may still write its address book right after stopping, so
	// the home lives outside t.TempDir and is removed with retries.
	root, err := os.MkdirTemp("", "chain-node-race-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(root) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	home := filepath.Join(root, "home")
	base := freeBase(t, 1)
	op, err := InitHome(InitOptions{
		HomeOptions: HomeOptions{Home: home, Moniker: "solo", Ports: Ports{P2P: base, RPC: base + 1, Prometheus: base + 2}, TimeoutCommit: 30 * time.Millisecond},
		ChainID:     "race-test", Devnet: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	// CometBFT registers Prometheus metrics globally: off, so the test can
	// share a process with other in-process nodes (-count).
	ccfg, err := LoadCometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	ccfg.Instrumentation.Prometheus = false
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), ccfg)

	n, err := New(Config{Home: home, PriceUUSD: 1_000_000, SnapshotInterval: 3, SnapshotKeep: 2}, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	})

	c, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", base+1))
	if err != nil {
		t.Fatal(err)
	}
	var start int64
	for {
		if st, err := c.Status(ctx); err == nil && st.LatestHeight >= 1 {
			start = st.LatestHeight
			break
		}
		if ctx.Err() != nil {
			t.Fatal("node did not produce a block")
		}
		time.Sleep(50 * time.Millisecond)
	}
	const blocks = 12
	readersCtx, stopReaders := context.WithCancel(ctx)
	defer stopReaders()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	reader := func(name string, read func() (int64, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last int64
			for readersCtx.Err() == nil {
				h, err := read()
				if err != nil {
					if readersCtx.Err() != nil {
						return
					}
					errs <- fmt.Errorf("%s: %w", name, err)
					return
				}
				if h < last {
					errs <- fmt.Errorf("%s: height went back from %d to %d", name, last, h)
					return
				}
				last = h
			}
		}()
	}
	rpc := c.RPC()
	for _, path := range []string{client.PathParams, client.QueryPath(client.PathAccount, "address", op.Address().String()), client.PathSupply} {
		reader("abci_query "+path, func() (int64, error) {
			r, err := rpc.ABCIQuery(readersCtx, path, nil)
			if err != nil {
				return 0, err
			}
			if r.Response.Code != client.QueryOK || len(r.Response.Value) == 0 {
				return 0, fmt.Errorf("code %d %q", r.Response.Code, r.Response.Log)
			}
			return r.Response.Height, nil
		})
	}
	reader("abci_info", func() (int64, error) {
		r, err := rpc.ABCIInfo(readersCtx)
		if err != nil {
			return 0, err
		}
		if r.Response.LastBlockHeight > 0 && len(r.Response.LastBlockAppHash) != 32 {
			return 0, errors.New("app hash missing")
		}
		return r.Response.LastBlockHeight, nil
	})

	// Transactions keep CheckTx and FinalizeBlock busy meanwhile.
	signer := c.NewSigner(op, 0)
	to, _ := identity.NewKey(nil)
	sent := uint64(0)
	for {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.LatestHeight >= start+blocks {
			break
		}
		if _, err := signer.Send(ctx, &hexproofv1.Transfer{To: to.PublicKey(), Amount: 1}, false); err != nil {
			t.Fatalf("send: %v", err)
		}
		sent++
		time.Sleep(20 * time.Millisecond)
	}
	stopReaders()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Every transfer lands once the mempool drains.
	for {
		a, err := c.Account(ctx, to.Address())
		if err != nil {
			t.Fatal(err)
		}
		if a.BalanceUHXP == sent {
			break
		}
		if a.BalanceUHXP > sent || ctx.Err() != nil {
			t.Fatalf("recipient holds %d micro-HXP, %d sent", a.BalanceUHXP, sent)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
