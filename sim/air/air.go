package air

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hexproof/hexproof/sim/device"
	"github.com/hexproof/hexproof/sim/pktfwd"
	"github.com/hexproof/hexproof/sim/radio"
	"github.com/hexproof/hexproof/sim/world"
)

// Config configures the air.
type Config struct {
	// Immediate delivers transmitted frames as soon as the forwarder
	// accepts them instead of at their time on air.
	Immediate bool
	// Clock, when set, replaces time.Now. It must be the clock of the
	// forwarders, whose counters the air reads.
	Clock func() time.Time
}

// Stats count the air's traffic.
type Stats struct {
	Uplinks, UplinksUnheard, UplinkReceptions uint64
	Downlinks, DownlinksDelivered             uint64
	Beacons, BeaconReceptions                 uint64
	// DownlinksRefused: a device got the frame but refused it (not for it,
	// outside its windows, ...); normal when several devices hear one.
	DownlinksRefused uint64
}

type dev struct {
	mu     sync.Mutex
	d      *device.Device
	wd     world.Device
	lastUp map[int]uint32 // hotspot index -> tmst of the last uplink
}

// Air connects devices and forwarders of one world.
type Air struct {
	cfg   Config
	w     *world.World
	m     *radio.Model
	nodes []radio.Node
	log   *slog.Logger

	mu    sync.Mutex
	fwds  map[int]*pktfwd.Forwarder
	devs  []*dev
	stats Stats
	wg    sync.WaitGroup
}

// New returns the air of world w under model m.
func New(cfg Config, w *world.World, m *radio.Model, logger *slog.Logger) *Air {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Air{cfg: cfg, w: w, m: m, nodes: w.HotspotNodes(), log: logger, fwds: map[int]*pktfwd.Forwarder{}}
}

// Attach connects hotspot i's forwarder, which must have been created
// with Transmitter(i) as its transmit callback.
func (a *Air) Attach(hotspot int, f *pktfwd.Forwarder) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fwds[hotspot] = f
}

// AddDevice puts the world's device index i on the air, driven by d.
func (a *Air) AddDevice(i int, d *device.Device) error {
	if i < 0 || i >= len(a.w.Devices) {
		return errors.New("device index outside the world")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.devs = append(a.devs, &dev{d: d, wd: a.w.Devices[i], lastUp: map[int]uint32{}})
	return nil
}

// Stats returns a snapshot of the counters.
func (a *Air) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

func (a *Air) count(f func(*Stats)) {
	a.mu.Lock()
	f(&a.stats)
	a.mu.Unlock()
}

func (a *Air) forwarder(h int) *pktfwd.Forwarder {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fwds[h]
}

// Step lets every device send what it has to send now.
func (a *Air) Step() {
	a.mu.Lock()
	devs := append([]*dev(nil), a.devs...)
	a.mu.Unlock()
	for _, d := range devs {
		now := a.cfg.Clock()
		d.mu.Lock()
		f, ok := d.d.Step(now)
		d.mu.Unlock()
		if ok {
			a.uplink(d, f, now)
		}
	}
}

// Run steps the devices every tick until ctx ends, then waits for frames
// still in flight.
func (a *Air) Run(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	defer a.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			a.Step()
		}
	}
}

func (a *Air) uplink(d *dev, f device.Frame, now time.Time) {
	sf, bw, err := radio.ParseDataRate(f.DataRate)
	if err != nil {
		a.log.Warn("device data rate", "device", d.wd.Name, "err", err)
		return
	}
	tx := radio.Transmission{From: d.wd.Node(), TxPowerDBm: d.wd.TxPowerDBm, FrequencyHz: float64(f.FrequencyHz), SF: sf, BandwidthHz: bw,
		PayloadLen: len(f.PHYPayload), Start: now}
	heard := a.w.Hear(a.m, tx, a.nodes)
	end := now.Add(tx.Airtime())
	ups := map[int]uint32{}
	for _, h := range heard {
		fwd := a.forwarder(h.Hotspot)
		if fwd == nil {
			continue
		}
		tmst := fwd.Tmst(end)
		err := fwd.Send(pktfwd.Uplink{PHYPayload: f.PHYPayload, FrequencyHz: f.FrequencyHz, DataRate: f.DataRate,
			RSSI: h.Reception.RSSI, SNR: h.Reception.SNR, Tmst: tmst})
		if err != nil {
			a.log.Debug("push uplink", "hotspot", h.Hotspot, "err", err)
			continue
		}
		ups[h.Hotspot] = tmst
	}
	d.mu.Lock()
	d.lastUp = ups
	d.mu.Unlock()
	a.count(func(s *Stats) {
		s.Uplinks++
		s.UplinkReceptions += uint64(len(ups))
		if len(ups) == 0 {
			s.UplinksUnheard++
		}
	})
}

// Transmitter is the transmit callback of hotspot i's forwarder.
func (a *Air) Transmitter(hotspot int) func(pktfwd.Downlink) {
	return func(dl pktfwd.Downlink) {
		if hotspot < 0 || hotspot >= len(a.w.Hotspots) || dl.TXPK.DatR.LoRa == "" {
			return
		}
		sf, bw, err := radio.ParseDataRate(dl.TXPK.DatR.LoRa)
		if err != nil {
			return
		}
		tx := radio.Transmission{From: a.w.Hotspots[hotspot].Node(), TxPowerDBm: float64(dl.TXPK.Powe),
			FrequencyHz: dl.TXPK.Freq * 1e6, SF: sf, BandwidthHz: bw, PayloadLen: len(dl.TXPK.Data), Start: dl.At}
		deliver := func() {
			if dl.TXPK.IPol {
				a.toDevices(hotspot, tx, dl)
			} else {
				a.toHotspots(hotspot, tx, dl)
			}
		}
		if a.cfg.Immediate {
			deliver()
			return
		}
		wait := tx.End().Sub(a.cfg.Clock())
		a.wg.Add(1)
		time.AfterFunc(max(wait, 0), func() {
			defer a.wg.Done()
			deliver()
		})
	}
}

func (a *Air) toDevices(hotspot int, tx radio.Transmission, dl pktfwd.Downlink) {
	a.count(func(s *Stats) { s.Downlinks++ })
	a.mu.Lock()
	devs := append([]*dev(nil), a.devs...)
	a.mu.Unlock()
	for _, d := range devs {
		d.mu.Lock()
		upTmst, ok := d.lastUp[hotspot]
		d.mu.Unlock()
		if !ok || dl.TXPK.Tmst == nil && !dl.TXPK.Imme {
			continue
		}
		if _, heard := a.m.Link(tx, d.wd.Node()); !heard {
			continue
		}
		var delay time.Duration
		if dl.TXPK.Tmst != nil {
			delay = time.Duration(*dl.TXPK.Tmst-upTmst) * time.Microsecond
		}
		d.mu.Lock()
		_, err := d.d.HandleDownlink(dl.TXPK.Data, delay)
		d.mu.Unlock()
		if err != nil {
			a.count(func(s *Stats) { s.DownlinksRefused++ })
			continue
		}
		a.count(func(s *Stats) { s.DownlinksDelivered++ })
	}
}

func (a *Air) toHotspots(hotspot int, tx radio.Transmission, dl pktfwd.Downlink) {
	heard := a.w.Hear(a.m, tx, a.nodes)
	end := tx.End()
	n := 0
	for _, h := range heard {
		fwd := a.forwarder(h.Hotspot)
		if fwd == nil || h.Hotspot == hotspot {
			continue
		}
		err := fwd.Send(pktfwd.Uplink{PHYPayload: dl.TXPK.Data, FrequencyHz: uint64(dl.TXPK.Freq*1e6 + 0.5), DataRate: dl.TXPK.DatR.LoRa,
			CodingRate: dl.TXPK.CodR, RSSI: h.Reception.RSSI, SNR: h.Reception.SNR, Tmst: fwd.Tmst(end)})
		if err == nil {
			n++
		}
	}
	a.count(func(s *Stats) {
		s.Beacons++
		s.BeaconReceptions += uint64(n)
	})
}
