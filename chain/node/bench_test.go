package node

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/uber/h3-go/v4"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/app"
	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Load shape of the network benchmark.
const (
	benchClusters   = 48 // 15 hotspots each: one beaconer + 14 witnesses per receipt
	benchSubmitters = 8
	benchRounds     = 40 // receipts per hotspot
	benchWarmup     = 5 * time.Second
	benchWindow     = 30 * time.Second
	// Block size cap (both networks): about 1400 txs of 3 KB per block.
	benchBlockBytes = 4 << 20
	benchSenders    = 16
)

// BenchmarkNetworkPoCReceipts measures committed PoC-receipt transactions
// per second (one beacon + 14 witness reports each) on a local 4-validator
// network under offered load, and in the same run CometBFT's kvstore example
// application on an identical network fed transactions of the same size.
// Run: HEXPROOF_BENCH=1 go test -run X -bench NetworkPoCReceipts -benchtime 1x ./chain/node/
func BenchmarkNetworkPoCReceipts(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1: starts two 4-validator networks")
	}
	dir := b.TempDir()
	bin := buildChain(b, dir)
	hex, size := benchHexproof(b, bin, filepath.Join(dir, "hexproof"))
	kv := benchKVStore(b, bin, filepath.Join(dir, "kvstore"), size)
	b.ReportMetric(hex, "receipts/s")
	b.ReportMetric(hex*14, "witness_reports/s")
	b.ReportMetric(kv, "kvstore_tx/s")
	b.ReportMetric(100*hex/kv, "%_of_kvstore")
	b.ReportMetric(float64(size), "tx_bytes")
}

func benchNetwork(b *testing.B, bin, out string, params *client.Params, extra ...string) ([]TestnetNode, []*client.Client) {
	base := freeBase(b, 4)
	nodes, err := Testnet(TestnetOptions{Out: out, Validators: 4, BasePort: base, TimeoutCommit: time.Second, Params: params, PriceUUSD: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	// Same tuning on both networks: loopback P2P rates well above the
	// 5 MB/s default (which otherwise throttles block propagation under a
	// mempool flood) and a block size cap.
	for _, n := range nodes {
		cfg, err := LoadCometConfig(n.Home)
		if err != nil {
			b.Fatal(err)
		}
		cfg.P2P.SendRate, cfg.P2P.RecvRate = 100<<20, 100<<20
		cmtcfg.WriteConfigFile(filepath.Join(n.Home, "config", "config.toml"), cfg)
		doc, err := cmttypes.GenesisDocFromFile(cfg.GenesisFile())
		if err != nil {
			b.Fatal(err)
		}
		doc.ConsensusParams.Block.MaxBytes = benchBlockBytes
		if err := doc.SaveAs(cfg.GenesisFile()); err != nil {
			b.Fatal(err)
		}
	}
	var cs []*client.Client
	for _, n := range nodes {
		startNode(b, bin, n.Home, append([]string{"--log-level", "warn"}, extra...)...)
		c, err := client.New(n.RPC)
		if err != nil {
			b.Fatal(err)
		}
		cs = append(cs, c)
	}
	waitHeight(b, cs[0], 2, 60*time.Second)
	return nodes, cs
}

// offer sends each sender's txs in order (BroadcastTxSync, to node i%4)
// for the window and returns the committed txs per second over the blocks
// of the window.
func offer(b *testing.B, cs []*client.Client, queues [][][]byte) float64 {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var refused atomic.Int64
	// Offered load: HEXPROOF_BENCH_RATE tx/s in total (default 800),
	// spread evenly over the senders.
	rate := 800.0
	if v, err := strconv.ParseFloat(os.Getenv("HEXPROOF_BENCH_RATE"), 64); err == nil && v > 0 {
		rate = v
	}
	every := time.Duration(float64(time.Second) * float64(len(queues)) / rate)
	for i, q := range queues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cs[i%len(cs)]
			tick := time.NewTicker(every)
			defer tick.Stop()
			for _, tx := range q {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if _, err := c.BroadcastTxSync(ctx, tx); err != nil && ctx.Err() == nil {
					refused.Add(1)
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(benchWarmup)
	h0 := waitHeight(b, cs[0], 1, 10*time.Second)
	time.Sleep(benchWindow)
	h1 := waitHeight(b, cs[0], 1, 10*time.Second)
	cancel()
	wg.Wait()
	// Successful txs committed in blocks h0+1..h1, over the time between
	// h0 and h1.
	var txs, failed int
	for h := h0 + 1; h <= h1; h++ {
		hh := h
		r, err := cs[0].RPC().BlockResults(context.Background(), &hh)
		if err != nil {
			b.Fatal(err)
		}
		for _, res := range r.TxsResults {
			if res.Code == 0 {
				txs++
			} else {
				failed++
			}
		}
	}
	t0, _ := cs[0].BlockAt(context.Background(), h0)
	t1, _ := cs[0].BlockAt(context.Background(), h1)
	secs := t1.Time.Sub(t0.Time).Seconds()
	b.Logf("offered %.0f tx/s: %d txs committed in blocks %d..%d over %.1f s (%d failed in blocks, %d broadcasts refused)", rate, txs, h0+1, h1, secs, failed, refused.Load())
	return float64(txs) / secs
}

func benchKVStore(b *testing.B, bin, out string, size int) float64 {
	_, cs := benchNetwork(b, bin, out, nil, "--app", "kvstore")
	queues := make([][][]byte, benchSenders)
	for s := range queues {
		for i := range 6000 {
			key := fmt.Sprintf("s%02dk%06d=", s, i)
			tx := make([]byte, size)
			copy(tx, key)
			for j := len(key); j < size; j++ {
				tx[j] = 'a' + byte(j%26)
			}
			queues[s] = append(queues[s], tx)
		}
	}
	return offer(b, cs, queues)
}

func benchHexproof(b *testing.B, bin, out string) (float64, int) {
	p := app.DevnetParams()
	p.BeaconIntervalBlocks = 1
	p.EntropyValidityBlocks = 100_000
	p.ReciprocityWindowBlocks = 100_000
	p.EpochBlocks = 100_000
	p.MaxClockSkewMs = 3_600_000
	nodes, cs := benchNetwork(b, bin, out, &p)
	ctx := context.Background()
	faucet, err := identity.LoadKeyFile(filepath.Join(filepath.Dir(nodes[0].Home), "keys", "faucet.json"))
	if err != nil {
		b.Fatal(err)
	}
	// Onboard the hotspots: 15 per cluster on a 5 km circle.
	owner := cs[0].NewSigner(faucet, 0)
	fee := p.HotspotAddFeeDC + p.AssertLocationFeeDC
	if _, err := owner.Send(ctx, &hexproofv1.BurnForDc{Amount: uint64(benchClusters*15) * fee * 10}, true); err != nil {
		b.Fatal(err)
	}
	type hotspot struct {
		k    *identity.Key
		cell uint64
	}
	clusters := make([][]hotspot, benchClusters)
	var last []byte
	for c := range clusters {
		lat0, lng0 := 44.0+float64(c%6), 0.5+float64(c/6)
		for i := range 15 {
			k, _ := identity.NewKey(nil)
			θ := float64(i) * 2 * math.Pi / 15
			lat := lat0 + 0.045*math.Sin(θ)
			lng := lng0 + 0.045*math.Cos(θ)/math.Cos(lat0*math.Pi/180)
			cell, err := h3.LatLngToCell(h3.NewLatLng(lat, lng), 12)
			if err != nil {
				b.Fatal(err)
			}
			clusters[c] = append(clusters[c], hotspot{k, uint64(cell)})
			add, _ := client.SignHotspotAdd(k, "hexproof-testnet", faucet.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
			for _, pl := range []proto.Message{add, &hexproofv1.AssertLocation{Hotspot: k.PublicKey(), Location: uint64(cell), GainDdbi: 12, Region: hexproofv1.Region_REGION_EU868}} {
				tx, err := owner.Build(ctx, pl)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := cs[0].BroadcastTxSync(ctx, tx); err != nil {
					b.Fatal(err)
				}
				last = tx
			}
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	if _, err := cs[0].WaitTx(wctx, client.TxHash(last)); err != nil {
		b.Fatal(err)
	}
	// Entropy: one committed block per round.
	head := waitHeight(b, cs[0], benchRounds+2, 2*time.Minute)
	type block struct {
		h    int64
		hash []byte
		ms   uint64
	}
	var entropy []block
	for h := head - benchRounds + 1; h <= head; h++ {
		bl, err := cs[0].BlockAt(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		entropy = append(entropy, block{h, bl.Hash, uint64(bl.Time.UnixMilli())})
	}
	// Receipts: per round, every hotspot beacons once, heard by the 14
	// others of its cluster; a beaconer's receipts go through one submitter
	// in round order so its beacon interval is respected.
	var subs []*client.Signer
	for range benchSubmitters {
		k, _ := identity.NewKey(nil)
		if _, err := owner.Send(ctx, &hexproofv1.Transfer{To: k.PublicKey(), Amount: 1}, false); err != nil {
			b.Fatal(err)
		}
		subs = append(subs, cs[0].NewSigner(k, 0))
	}
	time.Sleep(3 * time.Second)
	queues := make([][][]byte, benchSubmitters)
	size := 0
	for _, e := range entropy {
		for c, cl := range clusters {
			for i, bk := range cl {
				bc, err := beacon.Derive(e.hash, bk.k.PublicKey(), hexproofv1.Region_REGION_EU868)
				if err != nil {
					b.Fatal(err)
				}
				br := &hexproofv1.BeaconReport{Hotspot: bk.k.PublicKey(), EntropyHeight: uint64(e.h), Entropy: e.hash, Payload: bc.Payload,
					FrequencyHz: bc.FrequencyHz, Datarate: bc.DataRate, TxPowerDbm: beacon.TxPowerDBm(hexproofv1.Region_REGION_EU868, 12),
					TransmittedAtMs: e.ms + 100}
				bk.k.SignMessage(identity.DomainBeacon, br)
				rc := &hexproofv1.PocReceipt{Beacon: br}
				for j, wk := range cl {
					if j == i {
						continue
					}
					w := &hexproofv1.WitnessReport{Hotspot: wk.k.PublicKey(), Payload: bc.Payload, Radio: &hexproofv1.RadioMeta{
						FrequencyHz: bc.FrequencyHz, Datarate: bc.DataRate, RssiDbm: -125, SnrCb: -80, ReceivedAtMs: e.ms + 300, Region: hexproofv1.Region_REGION_EU868}}
					wk.k.SignMessage(identity.DomainWitness, w)
					rc.Witnesses = append(rc.Witnesses, w)
				}
				tx, err := subs[c%benchSubmitters].Build(ctx, rc)
				if err != nil {
					b.Fatal(err)
				}
				queues[c%benchSubmitters] = append(queues[c%benchSubmitters], tx)
				size = max(size, len(tx))
			}
		}
	}
	rate := offer(b, cs, queues)
	// The receipts were really verified: sample one committed receipt.
	id, _ := client.BeaconID(func() *hexproofv1.PocReceipt {
		var env hexproofv1.Tx
		var body hexproofv1.TxBody
		_ = proto.Unmarshal(queues[0][0], &env)
		_ = proto.Unmarshal(env.Body, &body)
		return body.GetPocReceipt()
	}().Beacon)
	rec, err := cs[1].Beacon(ctx, id)
	if err != nil {
		b.Fatalf("first receipt not on chain: %v", err)
	}
	valid := 0
	for _, w := range rec.Witnesses {
		if w.Valid || w.Reason == "witness_no_recent_beacon" {
			valid++
		}
	}
	b.Logf("sample receipt: beacon valid=%v reason=%q, %d/14 witnesses physical", rec.Valid, rec.Reason, valid)
	return rate, size
}
