package app

import (
	"fmt"
	"testing"

	"github.com/hexproof/hexproof/internal/identity"
)

// BenchmarkFinalizeBlockReceipts measures full PoC receipts (one beacon +
// 14 witnesses) through FinalizeBlock + Commit on goleveldb.
func BenchmarkFinalizeBlockReceipts(b *testing.B) {
	g := testGenesis(b)
	g.Params.BeaconIntervalBlocks = 1
	g.Params.EntropyValidityBlocks = 1000
	g.Params.EpochBlocks = 100000
	for i := range 200 {
		g.Allocations = append(g.Allocations, Allocation{Address: testKey(b, fmt.Sprint("owner", i)).Address(), BalanceUHXP: 1 << 40, DC: 1 << 40})
	}
	n := newNet(b, b.TempDir(), g)
	const clusters = 20
	var cl [][]*identity.Key
	for c := range clusters {
		owner := n.wallet(fmt.Sprint("owner", c))
		var keys []*identity.Key
		spots := map[*identity.Key][2]float64{}
		for i := range 15 {
			k := testKey(b, fmt.Sprint("hs", c, "-", i))
			keys = append(keys, k)
			spots[k] = [2]float64{float64(3000 + 100*i), float64(24*i + c)}
		}
		onboardTB(b, n, owner, spots, keys)
		cl = append(cl, keys)
	}
	oracle := n.wallet("oracle")
	b.ResetTimer()
	receipts := 0
	for b.Loop() {
		b.StopTimer()
		n.block()
		eh := n.height
		var txs [][]byte
		for _, keys := range cl {
			for i, bk := range keys {
				var ws []*identity.Key
				for j, wk := range keys {
					if j != i {
						ws = append(ws, wk)
					}
				}
				txs = append(txs, oracle.tx(b, receiptTB(b, eh, bk, ws...)))
			}
		}
		b.StartTimer()
		res := n.block(txs...)
		receipts += len(res)
		for _, r := range res {
			if r.Code != 0 {
				b.Fatalf("receipt failed: %s", r.Log)
			}
		}
	}
	b.ReportMetric(float64(receipts)/b.Elapsed().Seconds(), "receipts/s")
	b.ReportMetric(float64(receipts*14)/b.Elapsed().Seconds(), "witness_reports/s")
}
