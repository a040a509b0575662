package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/firmware-bridge/testkit"
)

// These benchmarks run the real binary against a private Mosquitto with
// 100 simulated gateways on loopback; they take tens of seconds, so they
// run only with HEXPROOF_BENCH=1 (make bench). FB_BENCH_SECONDS sets the
// send time per load (default 5), FB_BENCH_RATES the loads, FB_BENCH_ARGS
// adds bridge flags, FB_BENCH_BIN runs a prebuilt binary instead.

func benchEnabled(b *testing.B) {
	if os.Getenv("HEXPROOF_BENCH") != "1" {
		b.Skip("set HEXPROOF_BENCH=1 (make bench) to run")
	}
}

func scrape(port int) string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue sums the samples of a metric whose line starts with prefix.
func metricValue(body, prefix string) float64 {
	sum := 0.0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// kernelDrops reads the receive drops of the UDP socket on port.
func kernelDrops(port int) int64 {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return -1
	}
	want := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 12 && strings.HasSuffix(f[1], want) {
			v, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			return v
		}
	}
	return -1
}

const benchGateways = 100

type fleet struct {
	conns []*net.UDPConn
	dgs   [][][]byte // per gateway, a ring of distinct PUSH_DATA datagrams
}

// newFleet opens one UDP socket per gateway, announces each with PULL_DATA
// and prepares realistic PUSH_DATA datagrams (one rxpk each, as
// lora_pkt_fwd writes them for a 23-byte uplink).
func newFleet(b *testing.B, port int) *fleet {
	f := &fleet{}
	addr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	for i := range benchGateways {
		c, err := net.DialUDP("udp", nil, addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		eui := testkit.EUIFor(0xbe000 + i)
		pull, _ := gwmp.PullData{Version: 2, Token: 1, GatewayID: eui}.MarshalBinary()
		c.Write(pull)
		var ring [][]byte
		for j := range 200 {
			phy := []byte{0x40, byte(i), 0x10, 0x00, 0x26, 0x80, byte(j), byte(j >> 8), 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xa1, 0xa2, 0xa3, 0xa4}
			rx := testkit.Uplink(phy, uint32(j)*1000)
			ts := gwmp.CompactTime(time.Now().UTC())
			rx.Time = &ts
			rssis := int16(-60)
			foff := int32(-120)
			rx.RSSIS, rx.FOff = &rssis, &foff
			d, err := gwmp.PushData{Version: 2, Token: uint16(j), GatewayID: eui, Payload: gwmp.PushDataPayload{RXPK: []gwmp.RXPK{rx}}}.MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			ring = append(ring, d)
		}
		f.conns = append(f.conns, c)
		f.dgs = append(f.dgs, ring)
	}
	return f
}

// send offers rate uplinks/s for d, round-robin over the gateways, and
// returns how many it sent and how long that took.
func (f *fleet) send(rate int, d time.Duration) (int, time.Duration) {
	total := int(float64(rate) * d.Seconds())
	start := time.Now()
	sent := 0
	for sent < total {
		due := int(float64(rate) * time.Since(start).Seconds())
		if due > total {
			due = total
		}
		if sent >= due {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		for ; sent < due; sent++ {
			g := sent % benchGateways
			f.conns[g].Write(f.dgs[g][(sent/benchGateways)%len(f.dgs[g])])
		}
	}
	return sent, time.Since(start)
}

func BenchmarkUplinksUDPToMQTT(b *testing.B) {
	benchEnabled(b)
	bin := os.Getenv("FB_BENCH_BIN") // a prebuilt binary, to compare versions
	if bin == "" {
		bin = buildBinary(b, true)
	}
	seconds := 5.0
	if s, err := strconv.ParseFloat(os.Getenv("FB_BENCH_SECONDS"), 64); err == nil && s > 0 {
		seconds = s
	}
	rates := []int{20000, 50000, 100000}
	if s := os.Getenv("FB_BENCH_RATES"); s != "" {
		rates = nil
		for _, r := range strings.Split(s, ",") {
			v, _ := strconv.Atoi(r)
			rates = append(rates, v)
		}
	}
	for _, rate := range rates {
		b.Run(fmt.Sprintf("offered=%d/s", rate), func(b *testing.B) {
			broker := testkit.StartBroker(b, "max_queued_messages 0")
			udpPort, metricsPort := freePort(b, "udp"), freePort(b, "tcp")
			args := []string{"--mqtt-server", broker.URL(), "--topic-prefix", "bench/"}
			if extra := os.Getenv("FB_BENCH_ARGS"); extra != "" {
				args = append(args, strings.Fields(extra)...)
			}
			cmd := startBinary(b, bin, udpPort, metricsPort, args...)
			pid := cmd.Process.Pid
			counter, err := testkit.Count(fmt.Sprintf("127.0.0.1:%d", broker.Port), "bench/gateway/+/event/up", "/event/up")
			if err != nil {
				b.Fatal(err)
			}
			defer counter.Close()
			fl := newFleet(b, udpPort)
			time.Sleep(300 * time.Millisecond)
			dropsBefore := kernelDrops(udpPort)
			cpuBefore, _ := testkit.ProcCPU(pid)
			brokerCPUBefore, _ := testkit.ProcCPU(broker.PID())
			selfCPUBefore, _ := testkit.ProcCPU(os.Getpid())
			load0 := loadAvg()

			b.ResetTimer()
			start := time.Now()
			stopSampling := make(chan struct{})
			samplerDone := make(chan struct{})
			peakRSS := int64(0)
			go func() {
				defer close(samplerDone)
				t := time.NewTicker(100 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stopSampling:
						return
					case <-t.C:
						if rss, _, err := testkit.ProcStatus(pid); err == nil && rss > peakRSS {
							peakRSS = rss
						}
					}
				}
			}()
			sent, sendTime := fl.send(rate, time.Duration(seconds*float64(time.Second)))
			// Wait until the stream has drained (no new message for 1.5 s).
			last, lastChange := int64(-1), time.Now()
			for time.Since(lastChange) < 1500*time.Millisecond && time.Since(start) < 90*time.Second {
				if n := counter.N(); n != last {
					last, lastChange = n, time.Now()
				}
				time.Sleep(50 * time.Millisecond)
			}
			close(stopSampling)
			<-samplerDone
			b.StopTimer()
			delivered := counter.N()
			span := counter.Last().Sub(start)
			cpuAfter, _ := testkit.ProcCPU(pid)
			brokerCPUAfter, _ := testkit.ProcCPU(broker.PID())
			selfCPUAfter, _ := testkit.ProcCPU(os.Getpid())
			_, hwm, _ := testkit.ProcStatus(pid)
			m := scrape(metricsPort)
			kdrops := kernelDrops(udpPort) - dropsBefore
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()

			offered := float64(sent) / sendTime.Seconds()
			share := 100 * float64(delivered) / float64(sent)
			b.ReportMetric(offered, "offered/s")
			b.ReportMetric(float64(delivered)/span.Seconds(), "delivered/s")
			b.ReportMetric(share, "%delivered")
			b.ReportMetric(float64(peakRSS)/(1<<20), "MB_rss_peak")
			b.ReportMetric(100*(cpuAfter-cpuBefore).Seconds()/span.Seconds(), "%cpu_bridge")
			if delivered > 0 {
				// Less load-dependent than the rates: CPU the bridge spent per uplink it delivered.
				b.ReportMetric(float64((cpuAfter-cpuBefore).Microseconds())/float64(delivered), "cpu_µs/uplink")
			}
			b.Logf("offered %.0f/s for %.1fs: sent %d, delivered %d (%.1f%%) at %.0f/s; last at %.1fs; bridge cpu %.0f%%, rss peak %.1f MB (VmHWM %.1f MB); "+
				"losses: kernel udp %d, bridge udp queue %.0f, mqtt queue %.0f; udp in %.0f; mosquitto cpu %.0f%%, sender+counter cpu %.0f%%; load average %s",
				offered, sendTime.Seconds(), sent, delivered, share, float64(delivered)/span.Seconds(), span.Seconds(),
				100*(cpuAfter-cpuBefore).Seconds()/span.Seconds(), float64(peakRSS)/(1<<20), float64(hwm)/(1<<20),
				kdrops, metricValue(m, "firmware_bridge_udp_queue_dropped_total"), metricValue(m, "firmware_bridge_mqtt_dropped_total"),
				metricValue(m, `firmware_bridge_udp_packets_in_total{type="push_data"}`),
				100*(brokerCPUAfter-brokerCPUBefore).Seconds()/span.Seconds(), 100*(selfCPUAfter-selfCPUBefore).Seconds()/span.Seconds(), load0)
		})
	}
}

// BenchmarkIdleRSS measures the resident memory of the running binary:
// connected to Mosquitto, 100 gateways registered by PULL_DATA, no
// traffic.
func BenchmarkIdleRSS(b *testing.B) {
	benchEnabled(b)
	bin := buildBinary(b, true)
	broker := testkit.StartBroker(b, "")
	udpPort, metricsPort := freePort(b, "udp"), freePort(b, "tcp")
	cmd := startBinary(b, bin, udpPort, metricsPort, "--mqtt-server", broker.URL(), "--topic-prefix", "idle/")
	newFleet(b, udpPort)
	time.Sleep(3 * time.Second)
	rss, _, err := testkit.ProcStatus(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	gws := metricValue(scrape(metricsPort), "firmware_bridge_gateways ")
	// Scraping allocated; measure again after a quiet moment.
	time.Sleep(2 * time.Second)
	rss2, _, _ := testkit.ProcStatus(cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	b.ReportMetric(float64(max(rss, rss2))/(1<<20), "MB_rss_idle")
	b.Logf("idle RSS %.1f MB (then %.1f MB), %v gateways registered", float64(rss)/(1<<20), float64(rss2)/(1<<20), gws)
}

// loadAvg is the 1-minute load average: the machine is shared, and the
// figures mean little without it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
