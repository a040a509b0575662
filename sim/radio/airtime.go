package radio

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// LDRO selects low data rate optimisation.
type LDRO int

const (
	// Auto turns low data rate optimisation on when a symbol lasts 16 ms or
	// more (SF11 and SF12 at 125 kHz), as LoRaWAN does.
	Auto LDRO = iota
	// On forces it on.
	On
	// Off forces it off.
	Off
)

// AirtimeParams describe a LoRa frame for TimeOnAir.
type AirtimeParams struct {
	PayloadLen          int // bytes
	SF                  int // 7..12
	BandwidthHz         int
	CodingRate          int // 1..4 for 4/5..4/8; 0 means 4/5
	PreambleSymbols     int // LoRaWAN: 8
	ExplicitHeader      bool
	CRC                 bool
	LowDataRateOptimize LDRO
}

// TimeOnAir computes a LoRa frame's time on air with Semtech's formula
// (SX1276 datasheet 4.1.1.7, AN1200.13):
//
//	Tsym = 2^SF / BW
//	Tpreamble = (npreamble + 4.25) · Tsym
//	npayload = 8 + max(ceil((8·PL - 4·SF + 28 + 16·CRC - 20·IH) / (4·(SF - 2·DE))) · (CR + 4), 0)
func TimeOnAir(p AirtimeParams) (time.Duration, error) {
	if p.SF < 6 || p.SF > 12 {
		return 0, fmt.Errorf("SF%d: %w", p.SF, ErrSpreadingFactor)
	}
	if p.BandwidthHz <= 0 {
		return 0, fmt.Errorf("bandwidth %d Hz: must be positive", p.BandwidthHz)
	}
	if p.PayloadLen < 0 || p.PayloadLen > 255 {
		return 0, fmt.Errorf("payload length %d: must be 0 to 255", p.PayloadLen)
	}
	cr := p.CodingRate
	if cr == 0 {
		cr = 1
	}
	if cr < 1 || cr > 4 {
		return 0, fmt.Errorf("coding rate %d: use 1 to 4 for 4/5 to 4/8", p.CodingRate)
	}
	tsym := math.Exp2(float64(p.SF)) / float64(p.BandwidthHz) // seconds
	de := 0.0
	switch p.LowDataRateOptimize {
	case On:
		de = 1
	case Auto:
		if tsym >= 0.016 {
			de = 1
		}
	}
	ih, crc := 1.0, 0.0
	if p.ExplicitHeader {
		ih = 0
	}
	if p.CRC {
		crc = 1
	}
	num := 8*float64(p.PayloadLen) - 4*float64(p.SF) + 28 + 16*crc - 20*ih
	den := 4 * (float64(p.SF) - 2*de)
	nPayload := 8 + math.Max(math.Ceil(num/den)*float64(cr+4), 0)
	total := (float64(p.PreambleSymbols) + 4.25 + nPayload) * tsym
	return time.Duration(math.Round(total * 1e9)), nil
}

// LoRaWANAirtime is the time on air of a LoRaWAN frame (8 preamble
// symbols, explicit header, CRC on, coding rate 4/5, LDRO automatic).
func LoRaWANAirtime(payloadLen, sf, bandwidthHz int) (time.Duration, error) {
	return TimeOnAir(AirtimeParams{PayloadLen: payloadLen, SF: sf, BandwidthHz: bandwidthHz, CodingRate: 1,
		PreambleSymbols: 8, ExplicitHeader: true, CRC: true})
}

// ParseDataRate parses a Semtech LoRa data rate string such as "SF9BW125".
func ParseDataRate(s string) (sf, bandwidthHz int, err error) {
	u := strings.ToUpper(s)
	rest, ok := strings.CutPrefix(u, "SF")
	if !ok {
		return 0, 0, fmt.Errorf("data rate %q: want SFnBWm, e.g. SF9BW125", s)
	}
	sfs, bws, ok := strings.Cut(rest, "BW")
	if !ok {
		return 0, 0, fmt.Errorf("data rate %q: want SFnBWm, e.g. SF9BW125", s)
	}
	sf, err = strconv.Atoi(sfs)
	if err != nil || sf < 5 || sf > 12 {
		return 0, 0, fmt.Errorf("data rate %q: spreading factor must be 5 to 12", s)
	}
	bw, err := strconv.Atoi(bws)
	if err != nil || (bw != 125 && bw != 250 && bw != 500) {
		return 0, 0, fmt.Errorf("data rate %q: bandwidth must be 125, 250 or 500 kHz", s)
	}
	return sf, bw * 1000, nil
}

// DataRate formats a LoRa data rate as Semtech does, e.g. "SF9BW125".
func DataRate(sf, bandwidthHz int) string {
	return fmt.Sprintf("SF%dBW%d", sf, bandwidthHz/1000)
}

// ParseCodingRate parses "4/5".."4/8" into 1..4.
func ParseCodingRate(s string) (int, error) {
	switch s {
	case "4/5":
		return 1, nil
	case "4/6":
		return 2, nil
	case "4/7":
		return 3, nil
	case "4/8":
		return 4, nil
	}
	return 0, fmt.Errorf("coding rate %q: use 4/5, 4/6, 4/7 or 4/8", s)
}
