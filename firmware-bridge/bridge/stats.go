package bridge

import (
	"sync"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

// counters are what a gateway's stats event reports besides the
// forwarder's own numbers, as ChirpStack Gateway Bridge does: packets per
// frequency, per modulation and (downlink) per status since the last stat.
type counters struct {
	rxFreq, txFreq map[uint32]uint32
	rxMod, txMod   map[modKey]*gw.PerModulationCount
	txStatus       map[string]uint32
}

type statsBook struct {
	mu  sync.Mutex
	gws map[gwmp.EUI64]*counters
}

// maxCounted bounds the gateways with counters (datagrams with made-up
// gateway ids must not grow memory without end).
const maxCounted = 10000

func (s *statsBook) get(eui gwmp.EUI64) *counters {
	if s.gws == nil {
		s.gws = map[gwmp.EUI64]*counters{}
	}
	c := s.gws[eui]
	if c == nil {
		if len(s.gws) >= maxCounted {
			return nil
		}
		c = &counters{rxFreq: map[uint32]uint32{}, txFreq: map[uint32]uint32{},
			rxMod: map[modKey]*gw.PerModulationCount{}, txMod: map[modKey]*gw.PerModulationCount{}, txStatus: map[string]uint32{}}
		s.gws[eui] = c
	}
	return c
}

// modKey identifies a modulation without formatting a string (this runs
// for every uplink).
type modKey struct {
	kind    uint8
	a, b, c int64
}

func keyOf(m *gw.Modulation) modKey {
	switch p := m.GetParameters().(type) {
	case *gw.Modulation_Lora:
		return modKey{1, int64(p.Lora.Bandwidth), int64(p.Lora.SpreadingFactor), int64(p.Lora.CodeRate)}
	case *gw.Modulation_Fsk:
		return modKey{kind: 2, a: int64(p.Fsk.Datarate)}
	case *gw.Modulation_LrFhss:
		return modKey{kind: 3, a: int64(p.LrFhss.OperatingChannelWidth), b: int64(p.LrFhss.CodeRate)}
	}
	return modKey{}
}

func countMod(m map[modKey]*gw.PerModulationCount, mod *gw.Modulation) {
	if mod == nil {
		return
	}
	k := keyOf(mod)
	if c := m[k]; c != nil {
		c.Count++
		return
	}
	m[k] = &gw.PerModulationCount{Modulation: proto.Clone(mod).(*gw.Modulation), Count: 1}
}

// rx counts a forwarded uplink.
func (s *statsBook) rx(eui gwmp.EUI64, freq uint32, mod *gw.Modulation) {
	s.mu.Lock()
	if c := s.get(eui); c != nil {
		c.rxFreq[freq]++
		countMod(c.rxMod, mod)
	}
	s.mu.Unlock()
}

// tx counts a downlink item's outcome; emitted items also count per
// frequency and modulation.
func (s *statsBook) tx(eui gwmp.EUI64, item *gw.DownlinkFrameItem, st gw.TxAckStatus) {
	s.mu.Lock()
	if c := s.get(eui); c != nil {
		c.txStatus[st.String()]++
		if st == gw.TxAckStatus_OK && item.GetTxInfo() != nil {
			c.txFreq[item.TxInfo.Frequency]++
			countMod(c.txMod, item.TxInfo.Modulation)
		}
	}
	s.mu.Unlock()
}

// fill moves the counters of eui into st and starts new ones.
func (s *statsBook) fill(eui gwmp.EUI64, st *gw.GatewayStats) {
	s.mu.Lock()
	c := s.gws[eui]
	delete(s.gws, eui)
	s.mu.Unlock()
	if c == nil {
		return
	}
	st.RxPacketsPerFrequency, st.TxPacketsPerFrequency, st.TxPacketsPerStatus = c.rxFreq, c.txFreq, c.txStatus
	for _, m := range c.rxMod {
		st.RxPacketsPerModulation = append(st.RxPacketsPerModulation, m)
	}
	for _, m := range c.txMod {
		st.TxPacketsPerModulation = append(st.TxPacketsPerModulation, m)
	}
}
