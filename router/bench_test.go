package router

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/chainview"
)

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heavy(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench) to run the end-to-end router benchmarks")
	}
}

// benchLNS counts PUSH_DATA uplinks and records when each arrived; the
// uplink's tmst is its index. It parses only what it needs so the LNS
// takes little of the machine's CPU from the router.
type benchLNS struct {
	conn     *net.UDPConn
	received atomic.Int64
	arrived  []atomic.Int64 // unix nanos by tmst
	done     chan struct{}
}

func newBenchLNS(b *testing.B, n int) *benchLNS {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	conn.SetReadBuffer(4 << 20)
	l := &benchLNS{conn: conn, arrived: make([]atomic.Int64, n), done: make(chan struct{})}
	go l.serve()
	b.Cleanup(func() { conn.Close(); <-l.done })
	return l
}

var tmstKey = []byte(`"tmst":`)

func (l *benchLNS) serve() {
	defer close(l.done)
	buf := make([]byte, 65535)
	ack := make([]byte, 0, 4)
	for {
		n, from, err := l.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		p := buf[:n]
		if n < 12 || p[3] != byte(gwmp.TypePushData) && p[3] != byte(gwmp.TypePullData) {
			continue
		}
		typ := gwmp.TypePushAck
		if p[3] == byte(gwmp.TypePullData) {
			typ = gwmp.TypePullAck
		}
		a, _ := gwmp.Ack{Version: p[0], Token: binary.BigEndian.Uint16(p[1:3]), Type: typ}.AppendBinary(ack[:0])
		l.conn.WriteToUDP(a, from)
		if typ != gwmp.TypePushAck {
			continue
		}
		i := bytes.Index(p, tmstKey)
		if i < 0 {
			continue // stat
		}
		j := i + len(tmstKey)
		k := j
		for k < len(p) && p[k] >= '0' && p[k] <= '9' {
			k++
		}
		idx, err := strconv.Atoi(string(p[j:k]))
		if err == nil && idx < len(l.arrived) {
			l.arrived[idx].Store(time.Now().UnixNano())
		}
		l.received.Add(1)
	}
}

// benchSetup starts a router serving one OUI and connects hotspots.
func benchSetup(b *testing.B, hotspots, maxCopies, n int) (*testRouter, *benchLNS, []*testHotspot) {
	routerKey := newKey(b)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1 << 50, Config: ouiConfig(uint32(maxCopies), routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
	lns := newBenchLNS(b, n)
	cfg := testConfig(b, map[uint64]string{1: lns.conn.LocalAddr().String()})
	cfg.RateLimit = 0
	cfg.DedupMaxEntries = 1 << 20
	cfg.MaxStreams = hotspots + 10
	tr := startRouter(b, cfg, routerKey, chain)
	var hs []*testHotspot
	for i := 0; i < hotspots; i++ {
		k := newKey(b)
		chain.onboard(k)
		hs = append(hs, connect(b, tr.Addr().String(), k))
	}
	return tr, lns, hs
}

// corpus pre-signs the uplinks (signing is the hotspots' cost, not the
// router's): frame f is heard by copies hotspots, with random RSSI; the
// uplink's tmst is f, so the LNS can tell frames apart.
type sent struct {
	h   int
	req *hexproofv1.StreamRequest
	f   int
}

func corpus(b *testing.B, hs []*testHotspot, frames, copies int) []sent {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]sent, 0, frames*copies)
	var mu sync.Mutex
	var wg sync.WaitGroup
	per := (frames + 1) / 2
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for f := lo; f < hi; f++ {
				phy := dataFrame(0x48000000|uint32(f&0xffffff), uint16(f>>16), 12)
				for c := 0; c < copies; c++ {
					hi := (f*copies + c) % len(hs)
					h := hs[hi]
					up := &hexproofv1.Uplink{Hotspot: h.key.PublicKey(), PhyPayload: phy, Radio: &hexproofv1.RadioMeta{
						FrequencyHz: 868_100_000, Datarate: "SF7BW125", RssiDbm: -120 + int32(f*7+c*13)%90, SnrCb: 10, Tmst: uint32(f),
						Region: hexproofv1.Region_REGION_EU868,
					}}
					if err := h.key.SignMessage(identity.DomainUplink, up); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					out = append(out, sent{hi, &hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_Uplink{Uplink: up}}, f})
					mu.Unlock()
				}
			}
		}(w*per, min(frames, (w+1)*per))
	}
	wg.Wait()
	_ = rng
	slices.SortFunc(out, func(a, b sent) int { return a.f - b.f })
	return out
}

// sendAll sends every uplink on its hotspot's stream, one goroutine per
// hotspot, as fast as the streams take them.
func sendAll(b *testing.B, hs []*testHotspot, c []sent) {
	per := make([][]*hexproofv1.StreamRequest, len(hs))
	for _, s := range c {
		per[s.h] = append(per[s.h], s.req)
	}
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range per[i] {
				if err := h.st.Send(r); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func waitReceived(b *testing.B, lns *benchLNS, want int64) {
	deadline := time.Now().Add(60 * time.Second)
	for lns.received.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("LNS received %d of %d uplinks", lns.received.Load(), want)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// BenchmarkRouterThroughput routes b.N uplinks end to end (hotspot streams
// -> verify -> dedup -> DC -> GWMP PUSH_DATA to the LNS). "unique": every
// uplink is a different frame (all bought); "5copies": each frame is heard
// by 5 hotspots and max_copies is 1 (the common dense case).
func BenchmarkRouterThroughput(b *testing.B) {
	heavy(b)
	for _, tc := range []struct {
		name   string
		copies int
	}{{"unique", 1}, {"5copies", 5}} {
		b.Run(tc.name, func(b *testing.B) {
			frames := max(1, b.N/tc.copies)
			tr, lns, hs := benchSetup(b, 50, 1, frames)
			c := corpus(b, hs, frames, tc.copies)
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			sendAll(b, hs, c)
			waitReceived(b, lns, int64(frames))
			for counterValue(tr.m.UplinksIn) < float64(len(c)) {
				time.Sleep(100 * time.Microsecond)
			}
			el := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			// CPU per uplink of the whole process (router, but also the
			// hotspots' gRPC clients and the LNS): an upper bound of the
			// router's cost that other load on the machine does not skew.
			perUp := cpu / time.Duration(len(c))
			b.ReportMetric(float64(perUp.Nanoseconds())/1000, "cpu-us/uplink")
			b.ReportMetric(2*float64(time.Second)/float64(perUp), "uplinks/s-per-2-idle-cores")
			b.ReportMetric(float64(len(c))/el.Seconds(), "uplinks/s")
			b.ReportMetric(float64(frames)/el.Seconds(), "bought/s")
			if got := counterValue(tr.m.UplinksIn); got != float64(len(c)) {
				b.Fatalf("router saw %v uplinks, sent %d", got, len(c))
			}
		})
	}
}

// BenchmarkRouterLatency sends unique uplinks at a fixed rate (10,000/s,
// the target, and 1,000/s) for one second per iteration and reports the
// time from the hotspot's Send to the LNS receiving the PUSH_DATA (gRPC +
// router + UDP on loopback) and the router's own share: p50 and p99.
func BenchmarkRouterLatency(b *testing.B) {
	heavy(b)
	for _, rate := range []int{10_000, 1_000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { benchLatency(b, rate) })
	}
}

func benchLatency(b *testing.B, rate int) {
	n := rate
	var all []time.Duration
	var routerP50, routerP99, cores float64
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		tr, lns, hs := benchSetup(b, 50, 1, n)
		c := corpus(b, hs, n, 1)
		sentAt := make([]int64, n)
		b.StartTimer()
		// Pace: every 1 ms each sender goroutine sends its share.
		var wg sync.WaitGroup
		per := make([][]sent, len(hs))
		for _, s := range c {
			per[s.h] = append(per[s.h], s)
		}
		start := time.Now()
		cpu0 := cpuTime()
		for i, h := range hs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j, s := range per[i] {
					// Frame f is due at start + f/rate.
					due := start.Add(time.Duration(s.f) * time.Second / time.Duration(rate))
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
					sentAt[s.f] = time.Now().UnixNano()
					if err := h.st.Send(per[i][j].req); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		waitReceived(b, lns, int64(n))
		b.StopTimer()
		cores = float64(cpuTime()-cpu0) / float64(time.Since(start))
		for f := 0; f < n; f++ {
			all = append(all, time.Duration(lns.arrived[f].Load()-sentAt[f]))
		}
		routerP50 = histQuantile(b, tr.m.UplinkLatency, 0.5)
		routerP99 = histQuantile(b, tr.m.UplinkLatency, 0.99)
	}
	// The router's own time (stream receive to PUSH_DATA written), from
	// its latency histogram, interpolated within buckets.
	// Cores the whole process (router, clients, LNS) kept busy at 10,000/s.
	b.ReportMetric(cores, "cpu-cores")
	b.ReportMetric(routerP50*1000, "router-p50-ms")
	b.ReportMetric(routerP99*1000, "router-p99-ms")
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-ms")
}

// histQuantile estimates a quantile of a histogram by linear
// interpolation inside the bucket that holds it.
func histQuantile(b *testing.B, h prometheus.Histogram, q float64) float64 {
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		b.Fatal(err)
	}
	hist := m.GetHistogram()
	target := q * float64(hist.GetSampleCount())
	lower, below := 0.0, 0.0
	for _, bk := range hist.GetBucket() {
		c := float64(bk.GetCumulativeCount())
		if c >= target {
			if c == below {
				return bk.GetUpperBound()
			}
			return lower + (bk.GetUpperBound()-lower)*(target-below)/(c-below)
		}
		lower, below = bk.GetUpperBound(), c
	}
	return lower
}

// BenchmarkUplinkPath measures the router's own work per bought uplink,
// without gRPC: route, dedup, signature check, DC, GWMP encoding and the
// UDP write to the LNS.
func BenchmarkUplinkPath(b *testing.B) {
	routerKey, hk := newKey(b), newKey(b)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1 << 50, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
	chain.onboard(hk)
	lns := newBenchLNS(b, 0)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer lis.Close()
	cfg := testConfig(b, map[uint64]string{1: lns.conn.LocalAddr().String()})
	cfg.DedupMaxEntries = 1 << 20
	r, err := New(cfg, logging.Discard(), Deps{Key: routerKey, Chain: chain, Listener: lis})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.view.Refresh(b.Context()); err != nil {
		b.Fatal(err)
	}
	h := &testHotspot{t: b, key: hk}
	ups := make([]*hexproofv1.Uplink, b.N)
	for i := range ups {
		ups[i] = h.uplink(dataFrame(0x48000000|uint32(i&0xffffff), uint16(i>>16), 12), -80, 10, uint32(i))
	}
	var hotspot [32]byte
	copy(hotspot[:], hk.PublicKey())
	b.ReportAllocs()
	b.ResetTimer()
	for _, up := range ups {
		if reason := r.uplink(hotspot, up, time.Now(), nil); reason != "" {
			b.Fatalf("dropped: %s", reason)
		}
	}
}
