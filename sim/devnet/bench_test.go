package devnet_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hexproof/hexproof/sim/devnet"
	"github.com/hexproof/hexproof/sim/world"
)

func benchEnv(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		return n
	}
	return def
}

func benchCfg(b *testing.B, hotspots, devices int) devnet.Config {
	b.Helper()
	cfg := smallConfig(b)
	cfg.Hotspots, cfg.Devices = hotspots, devices
	cfg.UplinkInterval, cfg.ClaimInterval, cfg.VoucherInterval = 0, 30*time.Second, 10*time.Second
	return cfg
}

func benchStart(b *testing.B, cfg devnet.Config) (*devnet.Devnet, func()) {
	b.Helper()
	r := start(b, cfg)
	return r.d, func() { r.stop(b) }
}

// BenchmarkDevnetBoot100 is the boot time of the default devnet size: 4
// validators and 100 hotspots (200 devices), from nothing to endpoints.json.
func BenchmarkDevnetBoot100(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench)")
	}
	hotspots := benchEnv(b, "HEXPROOF_DEVNET_BENCH_HOTSPOTS", 100)
	var total time.Duration
	for range b.N {
		cfg := benchCfg(b, hotspots, 2*hotspots)
		d, stop := benchStart(b, cfg)
		total += d.BootTime()
		stop()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "boot_s")
}

// BenchmarkDevnetSustain runs a devnet of HEXPROOF_DEVNET_BENCH_HOTSPOTS
// hotspots (default 1,000) with a beacon every
// HEXPROOF_DEVNET_BENCH_INTERVAL blocks of 1 s (default 180: every 3
// minutes) for HEXPROOF_DEVNET_BENCH_MINUTES (default 6) and reports how
// many beacon receipts landed per minute against how many the hotspots
// should make. A devnet sustains its size when landed/expected stays near 1
// and blocks stay near their 1 s.
func BenchmarkDevnetSustain(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench)")
	}
	hotspots := benchEnv(b, "HEXPROOF_DEVNET_BENCH_HOTSPOTS", 1000)
	interval := benchEnv(b, "HEXPROOF_DEVNET_BENCH_INTERVAL", 180)
	minutes := benchEnv(b, "HEXPROOF_DEVNET_BENCH_MINUTES", 6)
	for range b.N {
		cfg := benchCfg(b, hotspots, hotspots/2)
		cfg.BlockTime, cfg.BeaconIntervalBlocks, cfg.EpochBlocks = time.Second, uint64(interval), uint64(2*interval)
		cfg.UplinkInterval = 0
		d, stop := benchStart(b, cfg)
		b.ReportMetric(d.BootTime().Seconds(), "boot_s")
		ctx := context.Background()
		// Skip the first interval: reciprocity and first beacons.
		time.Sleep(time.Duration(interval) * time.Second)
		s0, _ := d.Stats(ctx)
		q0, _ := d.IngestQueue(ctx)
		t0 := time.Now()
		time.Sleep(time.Duration(minutes)*time.Minute - time.Duration(interval)*time.Second)
		s1, err := d.Stats(ctx)
		if err != nil {
			b.Logf("stats: %v", err)
		}
		el := time.Since(t0)
		full := 0
		for _, h := range d.World().Hotspots {
			if h.Mode == world.ModeFull {
				full++
			}
		}
		q, _ := d.IngestQueue(ctx)
		// Receipts the oracle saw committed on chain (the indexer may lag
		// behind the chain on a loaded machine; it is reported apart).
		landed := float64(q["done"]-q0["done"]) / el.Minutes()
		indexed := float64(s1.BeaconsValid+sum(s1.BeaconsInvalid)-s0.BeaconsValid-sum(s0.BeaconsInvalid)) / el.Minutes()
		blockS := el.Seconds() / float64(s1.Height-s0.Height)
		expected := float64(full) / (float64(interval) * blockS / 60)
		witnesses := float64(s1.WitnessesValid+sum(s1.WitnessesInvalid)-s0.WitnessesValid-sum(s0.WitnessesInvalid)) / el.Seconds()
		b.Logf("%d hotspots: %s; ingest queue %v", hotspots, s1.Line(), q)
		b.ReportMetric(landed, "receipts/min")
		b.ReportMetric(expected, "expected/min")
		b.ReportMetric(landed/expected, "landed_ratio")
		b.ReportMetric(indexed, "indexed/min")
		b.ReportMetric(blockS, "block_s")
		b.ReportMetric(witnesses, "witnesses/s")
		b.ReportMetric(float64(s1.Uplinks-s0.Uplinks)/el.Seconds(), "uplinks/s")
		stop()
	}
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}
