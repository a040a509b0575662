package ingest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// BenchmarkIngestReports: signed reports over real gRPC on loopback from 64
// concurrent clients, each checked (signature, cheap rules) and queued in
// PostgreSQL; then one Flush builds and submits the receipts (to an
// in-memory chain). Beacons with 10 witnesses each; reports are signed
// before the clock starts.
func BenchmarkIngestReports(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench)")
	}
	const beacons, witnesses, clients = 200, 10, 64
	var reports, receipts int
	var queued, flushed time.Duration
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		chain := newFakeChain()
		clk := newClock()
		h := startWith(b, chain, clk, "", Config{Window: 5 * time.Second, MaxWitnesses: 64, Tick: time.Hour})
		var bs []*hexproofv1.BeaconReport
		var ws []*hexproofv1.WitnessReport
		for j := 0; j < beacons; j++ {
			bc := h.beacon(b, key(b, 1000+j), 95, byte(j%251))
			bc.Payload[PayloadSize-1], bc.Payload[PayloadSize-2] = byte(j), byte(j>>8)
			if err := key(b, 1000+j).SignMessage("hexproof/beacon/v1", bc); err != nil {
				b.Fatal(err)
			}
			bs = append(bs, bc)
			for k := 0; k < witnesses; k++ {
				ws = append(ws, h.witness(b, key(b, 5000+k), bc.Payload, -100))
			}
		}
		ctx := context.Background()
		send := func(n int, f func(int) error) {
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := c; j < n; j += clients {
						if err := f(j); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		t0 := time.Now()
		b.StartTimer()
		send(len(bs), func(j int) error {
			_, err := h.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: bs[j]})
			return err
		})
		send(len(ws), func(j int) error {
			_, err := h.client.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: ws[j]})
			return err
		})
		queued += time.Since(t0)
		clk.add(time.Minute)
		t1 := time.Now()
		if err := h.svc.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		flushed += time.Since(t1)
		if len(chain.receipts) != beacons {
			b.Fatalf("%d receipts, want %d", len(chain.receipts), beacons)
		}
		reports += len(bs) + len(ws)
		receipts += len(chain.receipts)
	}
	b.ReportMetric(float64(reports)/queued.Seconds(), "reports/s")
	b.ReportMetric(float64(receipts)/flushed.Seconds(), "receipts_built/s")
}
