package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// buildChain builds cmd/chain into dir.
func buildChain(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "chain")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/chain")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build chain: %v\n%s", err, out)
	}
	return bin
}

// freeBase finds n*10 consecutive free ports on 127.0.0.1.
func freeBase(t testing.TB, n int) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(30000)
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
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

type proc struct {
	home string
	cmd  *exec.Cmd
	log  *os.File
}

func startNode(t testing.TB, bin, home string, extra ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(home, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"start", "--home", home, "--log-level", "info", "--snapshot-interval", "0"}, extra...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{home: home, cmd: cmd, log: f}
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *proc) stop() {
	if p.cmd.ProcessState == nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	}
	p.log.Close()
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func waitHeight(t testing.TB, c *client.Client, h int64, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := c.Status(ctx)
		cancel()
		if err == nil && st.LatestHeight >= h && !st.CatchingUp {
			return st.LatestHeight
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("node did not reach height %d within %s", h, timeout)
	return 0
}

// appHashAt is what a node's application reports for its last height.
func appInfo(t testing.TB, c *client.Client) (int64, []byte) {
	t.Helper()
	r, err := c.RPC().ABCIInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r.Response.LastBlockHeight, r.Response.LastBlockAppHash
}

// headerAppHash is the app hash after height h as recorded in block h+1.
func headerAppHash(t testing.TB, c *client.Client, h int64) ([]byte, bool) {
	h1 := h + 1
	r, err := c.RPC().Header(context.Background(), &h1)
	if err != nil || r.Header == nil {
		return nil, false
	}
	return r.Header.AppHash, true
}

func TestNetworkFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	dir := t.TempDir()
	bin := buildChain(t, dir)
	base := freeBase(t, 5)
	out, err := exec.Command(bin, "testnet", "--validators", "4", "--out", filepath.Join(dir, "tn"), "--base-port", fmt.Sprint(base),
		"--timeout-commit", "250ms", "--epoch-blocks", "30").CombinedOutput()
	if err != nil {
		t.Fatalf("testnet: %v\n%s", err, out)
	}
	var nodes []TestnetNode
	if err := json.Unmarshal(out, &nodes); err != nil {
		t.Fatalf("testnet output: %v\n%s", err, out)
	}
	var procs []*proc
	var clients []*client.Client
	for _, n := range nodes {
		procs = append(procs, startNode(t, bin, n.Home, "--snapshot-interval", "20"))
		c, err := client.New(n.RPC)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	defer func() {
		if t.Failed() {
			for _, p := range procs {
				b, _ := os.ReadFile(filepath.Join(p.home, "node.log"))
				if len(b) > 3000 {
					b = b[len(b)-3000:]
				}
				t.Logf("%s log tail:\n%s", p.home, b)
			}
		}
	}()
	waitHeight(t, clients[0], 3, 60*time.Second)

	// Transactions flow the whole time: transfers from the faucet to fresh
	// accounts, through different nodes.
	faucet, err := identity.LoadKeyFile(filepath.Join(dir, "tn", "keys", "faucet.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stopTxs := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent, committed int
	var txErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := clients[0].NewSigner(faucet, 0)
		for i := 0; ctx.Err() == nil; i++ {
			to, _ := identity.NewKey(nil)
			res, err := s.Send(ctx, &hexproofv1.Transfer{To: to.PublicKey(), Amount: uint64(1000 + i)}, i%5 == 0)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				txErr = err
				s.Reset()
				time.Sleep(200 * time.Millisecond)
				continue
			}
			sent++
			if res.Height > 0 {
				committed++
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// Every node's application reports, for its last height, the app hash
	// that the network's next header carries.
	checkHashes := func(label string) {
		t.Helper()
		for i, c := range clients {
			if procs[i] == nil {
				continue
			}
			h, ah := appInfo(t, c)
			var want []byte
			for try := 0; try < 20; try++ {
				var ok bool
				if want, ok = headerAppHash(t, clients[0], h); ok {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if !bytes.Equal(ah, want) {
				t.Fatalf("%s: node%d app hash at height %d is %X, the chain says %X", label, i, h, ah, want)
			}
		}
	}
	for range 3 {
		time.Sleep(time.Second)
		checkHashes("while txs flow")
	}

	// SIGKILL one validator, keep going, restart it: it catches up.
	procs[3].kill()
	killedAt, _ := appInfo(t, clients[0])
	waitHeight(t, clients[0], killedAt+5, 30*time.Second)
	procs[3] = startNode(t, bin, nodes[3].Home, "--snapshot-interval", "20")
	head, _ := appInfo(t, clients[0])
	waitHeight(t, clients[3], head, 60*time.Second)
	checkHashes("after kill and restart")

	// A fresh full node with the same genesis replays every block from
	// height 1 and reaches the same hashes.
	fresh := filepath.Join(dir, "fresh")
	out, err = exec.Command(bin, "init", "--home", fresh, "--genesis", filepath.Join(nodes[0].Home, "config", "genesis.json"),
		"--peers", fmt.Sprintf("%s@%s", nodes[0].NodeID, nodes[0].P2P),
		"--p2p-port", fmt.Sprint(base+40), "--rpc-port", fmt.Sprint(base+41), "--metrics-port", fmt.Sprint(base+42)).CombinedOutput()
	if err != nil {
		t.Fatalf("init fresh node: %v\n%s", err, out)
	}
	procs = append(procs, startNode(t, bin, fresh))
	fc, _ := client.New(fmt.Sprintf("http://127.0.0.1:%d", base+41))
	clients = append(clients, fc)
	head, _ = appInfo(t, clients[0])
	waitHeight(t, fc, head, 60*time.Second)
	checkHashes("fresh node replayed from genesis")

	// A node that state-syncs from the validators' snapshots (taken every
	// 20 heights, last 2 kept, so a snapshot outlives discovery and
	// restore at 250 ms blocks) restores the state, checks it against the
	// trusted app hash, and then follows the chain with the same hashes.
	synced := filepath.Join(dir, "statesync")
	out, err = exec.Command(bin, "init", "--home", synced, "--genesis", filepath.Join(nodes[0].Home, "config", "genesis.json"),
		"--peers", fmt.Sprintf("%s@%s,%s@%s", nodes[0].NodeID, nodes[0].P2P, nodes[1].NodeID, nodes[1].P2P),
		"--p2p-port", fmt.Sprint(base+43), "--rpc-port", fmt.Sprint(base+44), "--metrics-port", fmt.Sprint(base+45)).CombinedOutput()
	if err != nil {
		t.Fatalf("init state-sync node: %v\n%s", err, out)
	}
	trustH, _ := appInfo(t, clients[0])
	trustH -= 2
	trust, err := clients[0].BlockAt(context.Background(), trustH)
	if err != nil {
		t.Fatal(err)
	}
	scfg, err := LoadCometConfig(synced)
	if err != nil {
		t.Fatal(err)
	}
	scfg.StateSync.Enable = true
	scfg.StateSync.RPCServers = []string{nodes[0].RPC, nodes[1].RPC}
	scfg.StateSync.TrustHeight = trustH
	scfg.StateSync.TrustHash = trust.Hash.String()
	scfg.StateSync.DiscoveryTime = 6 * time.Second
	cmtcfg.WriteConfigFile(filepath.Join(synced, "config", "config.toml"), scfg)
	// Make sure a snapshot newer than the trust height exists.
	waitHeight(t, clients[0], trustH+22, 30*time.Second)
	procs = append(procs, startNode(t, bin, synced))
	sc, _ := client.New(fmt.Sprintf("http://127.0.0.1:%d", base+44))
	clients = append(clients, sc)
	head, _ = appInfo(t, clients[0])
	waitHeight(t, sc, head, 60*time.Second)
	st, err := sc.RPC().Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.SyncInfo.EarliestBlockHeight <= 1 {
		t.Fatalf("state-sync node has blocks from %d: it did not restore a snapshot", st.SyncInfo.EarliestBlockHeight)
	}
	checkHashes("state-synced node")

	stopTxs()
	wg.Wait()
	if committed == 0 || sent < 20 {
		t.Fatalf("only %d txs sent, %d waited for (last error: %v)", sent, committed, txErr)
	}
	// Every node holds identical blocks (and so identical app hashes) at
	// every height.
	last, _ := appInfo(t, clients[0])
	for h := int64(1); h <= last; h++ {
		var ref []byte
		for i, c := range clients[:5] {
			hh := h
			r, err := c.RPC().Header(context.Background(), &hh)
			if err != nil {
				continue // not there yet
			}
			if ref == nil {
				ref = r.Header.Hash()
			} else if !bytes.Equal(ref, r.Header.Hash()) {
				t.Fatalf("height %d: node%d has block %X, node0 %X", h, i, r.Header.Hash(), ref)
			}
		}
	}
	// Validators voted a price through vote extensions.
	p, err := clients[1].Price(context.Background())
	if err != nil || p.UpdatedHeight == 0 || len(p.Votes) < 3 {
		t.Fatalf("price = %+v, %v", p, err)
	}
	t.Logf("heights 1..%d identical on 5 nodes (+1 state-synced); %d txs sent, price %d from %d votes", last, sent, p.PriceUUSD, len(p.Votes))
}
