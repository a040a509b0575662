package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hexproof/hexproof/chain/chaintest"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/oracle/chainsource"
	"github.com/hexproof/hexproof/oracle/indexer"
	"github.com/hexproof/hexproof/oracle/store"
)

// BenchmarkIndexFromNode indexes the first 400 blocks of a real node
// (in-process, one validator) through its CometBFT RPC: two RPC calls per
// block (block, block_results) plus the chain's price-vote transaction in
// every block.
func BenchmarkIndexFromNode(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench)")
	}
	const blocks = 400
	b.StopTimer()
	c, _, _ := chaintest.Start(b, 10*time.Millisecond)
	chaintest.WaitHeight(b, c, blocks)
	src := chainsource.New(c)
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		url, _ := testsvc.Postgres(b)
		pool, err := store.Open(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		ix := indexer.New(indexer.Config{Batch: 100, Fetchers: 4, OnCommit: func(st indexer.Stats) {
			if st.Height >= blocks {
				select {
				case <-done:
				default:
					close(done)
				}
			}
		}}, logging.Discard(), pool, src, src)
		errc := make(chan error, 1)
		start := time.Now()
		b.StartTimer()
		go func() { errc <- ix.Run(ctx) }()
		<-done
		b.StopTimer()
		elapsed += time.Since(start)
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		pool.Close()
	}
	b.ReportMetric(float64(blocks*b.N)/elapsed.Seconds(), "blocks/s")
}
