package vgw

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

// Downlink is a PULL_RESP's txpk reduced to what the router can carry out:
// a virtual gateway has no GPS, so a downlink is immediate or scheduled on
// the concentrator counter (tmst), never on GPS time.
type Downlink struct {
	Immediate   bool
	Tmst        uint32
	FrequencyHz uint64
	RFCh        uint32
	PowerDBm    int32
	Modulation  string
	DataRate    string // "SF7BW125", or the FSK bit rate in decimal
	CodingRate  string
	IPol        bool
	Preamble    uint32
	NoCRC       bool
	Data        []byte
}

// ErrTimeOnGPS is returned for a PULL_RESP scheduled on GPS time (tmms): a
// virtual gateway has no GPS, so the LNS must schedule on tmst.
var ErrTimeOnGPS = errors.New("gwmp: txpk scheduled on GPS time (tmms); the router only supports tmst or immediate")

// ParsePullResp decodes a PULL_RESP from the LNS and checks it is a
// downlink the router can deliver.
func ParsePullResp(b []byte) (uint16, Downlink, error) {
	var p gwmp.PullResp
	if err := p.UnmarshalBinary(b); err != nil {
		return 0, Downlink{}, err
	}
	t := &p.Payload.TXPK
	if !t.Imme && t.Tmst == nil {
		if t.Tmms != nil {
			return p.Token, Downlink{}, ErrTimeOnGPS
		}
		return p.Token, Downlink{}, errors.New("gwmp: txpk has neither imme nor tmst")
	}
	if err := t.CheckSize(); err != nil {
		return p.Token, Downlink{}, err
	}
	if math.IsNaN(t.Freq) || t.Freq < 0 || t.Freq > 10_000 {
		return p.Token, Downlink{}, fmt.Errorf("gwmp: frequency %v MHz out of range", t.Freq)
	}
	d := Downlink{
		Immediate: t.Imme, FrequencyHz: uint64(math.Round(t.Freq * 1e6)), RFCh: uint32(t.RFCh), PowerDBm: int32(t.Powe),
		Modulation: t.Modu, DataRate: t.DatR.LoRa, CodingRate: t.CodR, IPol: t.IPol, Preamble: uint32(t.Prea), NoCRC: t.NCRC, Data: t.Data,
	}
	if d.DataRate == "" {
		if t.DatR.FSK == 0 {
			return p.Token, Downlink{}, errors.New("gwmp: txpk datr missing")
		}
		d.DataRate = strconv.FormatUint(uint64(t.DatR.FSK), 10)
	}
	if t.Tmst != nil {
		d.Tmst = *t.Tmst
	}
	return p.Token, d, nil
}

// TXPK is the txpk that carries d (the LNS side of ParsePullResp, used by
// test servers).
func (d Downlink) TXPK() gwmp.TXPK {
	t := gwmp.TXPK{Imme: d.Immediate, Freq: float64(d.FrequencyHz) / 1e6, RFCh: uint8(d.RFCh), Powe: int16(d.PowerDBm),
		Modu: d.Modulation, DatR: gwmp.DatR{LoRa: d.DataRate}, CodR: d.CodingRate, IPol: d.IPol, Prea: uint16(d.Preamble),
		Size: uint16(len(d.Data)), Data: d.Data, NCRC: d.NoCRC}
	if fsk, err := strconv.ParseUint(d.DataRate, 10, 32); err == nil && fsk > 0 && d.Modulation == "FSK" {
		t.DatR = gwmp.DatR{FSK: uint32(fsk)}
	}
	if !d.Immediate {
		tmst := d.Tmst
		t.Tmst = &tmst
	}
	return t
}
