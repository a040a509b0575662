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
	// Collisions: receptions lost to interference or half duplex (only
	// with the model's collisions on and delivery at time on air).
	Collisions uint64
}

// flight is a transmission on air, kept while it can still overlap others.
type flight struct {
	id uint64
	tx radio.Transmission
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

	flights []flight
	nextID  uint64
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

// collisions reports whether receptions are checked for interference:
// the model says so and frames are delivered at their time on air (in
// immediate mode the frames that would overlap one are not known yet).
func (a *Air) collisions() bool { return a.m.Params().Collisions && !a.cfg.Immediate }

// launch records a transmission on air and returns its id.
func (a *Air) launch(tx radio.Transmission) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextID++
	// Frames that ended more than the longest LoRa frame ago can overlap
	// nothing still to be delivered.
	cutoff := a.cfg.Clock().Add(-10 * time.Second)
	keep := a.flights[:0]
	for _, f := range a.flights {
		if f.tx.End().After(cutoff) {
			keep = append(keep, f)
		}
	}
	a.flights = append(keep, flight{id: a.nextID, tx: tx})
	return a.nextID
}

// others are the transmissions on air other than id.
func (a *Air) others(id uint64) []radio.Transmission {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]radio.Transmission, 0, len(a.flights))
	for _, f := range a.flights {
		if f.id != id {
			out = append(out, f.tx)
		}
	}
	return out
}

// at runs f at t (at once in immediate mode), tracked for Run's exit.
func (a *Air) at(t time.Time, f func()) {
	if a.cfg.Immediate {
		f()
		return
	}
	a.wg.Add(1)
	time.AfterFunc(max(t.Sub(a.cfg.Clock()), 0), func() {
		defer a.wg.Done()
		f()
	})
}

// survivors drops the receptions lost to collisions.
func (a *Air) survivors(id uint64, tx radio.Transmission, heard []world.Heard) []world.Heard {
	if !a.collisions() {
		return heard
	}
	others := a.others(id)
	out := heard[:0]
	lost := 0
	for _, h := range heard {
		// A relayed reception is lost when the relaying radio lost it.
		radioAt := h.Hotspot
		if h.RelayedFrom >= 0 {
			radioAt = h.RelayedFrom
		}
		if a.m.Lost(tx, a.nodes[radioAt], h.Reception, others) {
			lost++
			continue
		}
		out = append(out, h)
	}
	if lost > 0 {
		a.count(func(s *Stats) { s.Collisions += uint64(lost) })
	}
	return out
}

func (a *Air) uplink(d *dev, f device.Frame, now time.Time) {
	sf, bw, err := radio.ParseDataRate(f.DataRate)
	if err != nil {
		a.log.Warn("device data rate", "device", d.wd.Name, "err", err)
		return
	}
	tx := radio.Transmission{From: d.wd.Node(), TxPowerDBm: d.wd.TxPowerDBm, FrequencyHz: float64(f.FrequencyHz), SF: sf, BandwidthHz: bw,
		PayloadLen: len(f.PHYPayload), Start: now}
	id := a.launch(tx)
	end := tx.End()
	a.at(end, func() {
		heard := a.survivors(id, tx, a.w.Hear(a.m, tx, a.nodes))
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
			FrequencyHz: dl.TXPK.Freq * 1e6, SF: sf, BandwidthHz: bw, PayloadLen: len(dl.TXPK.Data), Start: dl.At,
			InvertedIQ: dl.TXPK.IPol}
		id := a.launch(tx)
		a.at(tx.End(), func() {
			if dl.TXPK.IPol {
				a.toDevices(hotspot, id, tx, dl)
			} else {
				a.toHotspots(hotspot, id, tx, dl)
			}
		})
	}
}

func (a *Air) toDevices(hotspot int, id uint64, tx radio.Transmission, dl pktfwd.Downlink) {
	a.count(func(s *Stats) { s.Downlinks++ })
	var others []radio.Transmission
	if a.collisions() {
		others = a.others(id)
	}
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
		r, heard := a.m.Link(tx, d.wd.Node())
		if !heard {
			continue
		}
		if others != nil && a.m.Lost(tx, d.wd.Node(), r, others) {
			a.count(func(s *Stats) { s.Collisions++ })
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

func (a *Air) toHotspots(hotspot int, id uint64, tx radio.Transmission, dl pktfwd.Downlink) {
	heard := a.survivors(id, tx, a.w.Hear(a.m, tx, a.nodes))
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
