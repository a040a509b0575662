package indexer_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/oracle/chainsim"
	"github.com/hexproof/hexproof/oracle/indexer"
)

func benchIndex(b *testing.B, cfg chainsim.Config) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench)")
	}
	n, err := chainsim.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	// Only the PoC blocks are timed: onboarding is indexed first.
	onboard := int64(n.Counts.Blocks - cfg.PocBlocks)
	var blocks, receipts int
	var elapsed time.Duration
	b.StopTimer()
	final := int64(n.Counts.Blocks)
	for i := 0; i < b.N; i++ {
		pool, _ := openStore(b, "bench")
		ctx, cancel := context.WithCancel(context.Background())
		n.SetLatest(onboard)
		done := make(chan struct{})
		var start time.Time
		cfg := indexer.Config{Batch: 100, Fetchers: 4, Poll: time.Millisecond, OnCommit: func(st indexer.Stats) {
			if st.Height > onboard {
				blocks += st.Blocks
				receipts += st.Receipts
			}
			if st.Height == onboard {
				// Onboarding indexed: release the PoC blocks and start the clock.
				start = time.Now()
				n.SetLatest(final)
			}
			if st.Height == final {
				elapsed += time.Since(start)
				close(done)
			}
		}}
		ix := indexer.New(cfg, logging.Discard(), pool, n, n)
		errc := make(chan error, 1)
		b.StartTimer()
		go func() { errc <- ix.Run(ctx) }()
		<-done
		b.StopTimer()
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		pool.Close()
	}
	b.ReportMetric(float64(blocks)/elapsed.Seconds(), "blocks/s")
	if receipts > 0 {
		b.ReportMetric(float64(receipts)/elapsed.Seconds(), "receipts/s")
		b.ReportMetric(float64(receipts*cfg.Witnesses)/elapsed.Seconds(), "witness_rows/s")
	}
}

// Receipts of 5 witnesses each, 50 per block: the PoC load the brief
// plans for (one tx per beacon with its witnesses).
func BenchmarkIndexReceipts(b *testing.B) {
	benchIndex(b, chainsim.Config{Seed: 9, Hotspots: 500, TxsPerBlock: 500, PocBlocks: 200, ReceiptsPerBlock: 50, Witnesses: 5, EpochBlocks: 50, Unsigned: true})
}

// Empty blocks: the indexer's per-block overhead (fetch, cursor, commit).
func BenchmarkIndexEmptyBlocks(b *testing.B) {
	benchIndex(b, chainsim.Config{Seed: 9, Hotspots: 10, PocBlocks: 5000, ReceiptsPerBlock: 0, EpochBlocks: 1000, Unsigned: true})
}

// BenchmarkIndexOnboarding: blocks of hotspot adds and location asserts
// (5,000 txs per block), what an indexer replays when it syncs a network.
func BenchmarkIndexOnboarding(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench)")
	}
	n, err := chainsim.New(chainsim.Config{Seed: 11, Hotspots: 20_000, TxsPerBlock: 5000, EpochBlocks: 1000, Unsigned: true})
	if err != nil {
		b.Fatal(err)
	}
	var elapsed time.Duration
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		pool, _ := openStore(b, "bench-onboard")
		ix := indexer.New(indexer.Config{Batch: 100, Fetchers: 4}, logging.Discard(), pool, n, n)
		start := time.Now()
		b.StartTimer()
		for {
			k, err := ix.Step(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if k == 0 {
				break
			}
		}
		b.StopTimer()
		elapsed += time.Since(start)
		pool.Close()
	}
	b.ReportMetric(float64(n.Counts.Txs*b.N)/elapsed.Seconds(), "txs/s")
}
