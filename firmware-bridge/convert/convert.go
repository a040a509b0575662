package convert

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/common"
	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

// ContextSize is the length of the uplink context: the concentrator counter
// (tmst) as 4 big-endian bytes, as ChirpStack Gateway Bridge writes it. A
// delay-timed downlink is scheduled relative to it.
const ContextSize = 4

// Errors of downlink conversion.
var (
	ErrNoTxInfo     = errors.New("downlink item has no tx_info")
	ErrModulation   = errors.New("downlink modulation must be LoRa or FSK")
	ErrTiming       = errors.New("downlink timing must be immediately, delay or gps_epoch")
	ErrDelayContext = errors.New("delay-timed downlink needs the 4-byte context of its uplink")
)

// HzFromMHz converts a GWMP frequency to Hz, rounding to the nearest Hz.
func HzFromMHz(mhz float64) uint32 {
	v := math.Round(mhz * 1e6)
	if v <= 0 || v > math.MaxUint32 || math.IsNaN(v) {
		return 0
	}
	return uint32(v)
}

// MHzFromHz converts Hz to the GWMP frequency.
func MHzFromHz(hz uint32) float64 { return float64(hz) / 1e6 }

// ParseLoRaDatR parses "SF7BW125" into spreading factor and bandwidth (Hz).
func ParseLoRaDatR(s string) (sf, bwHz uint32, err error) {
	rest, ok := strings.CutPrefix(s, "SF")
	if !ok {
		return 0, 0, fmt.Errorf("lora datr %q: want SF<n>BW<khz>", s)
	}
	sfs, bws, ok := strings.Cut(rest, "BW")
	if !ok {
		return 0, 0, fmt.Errorf("lora datr %q: want SF<n>BW<khz>", s)
	}
	a, err1 := strconv.ParseUint(sfs, 10, 8)
	b, err2 := strconv.ParseUint(bws, 10, 16)
	if err1 != nil || err2 != nil || a < 5 || a > 12 || b == 0 {
		return 0, 0, fmt.Errorf("lora datr %q: want SF5..SF12 and a bandwidth in kHz", s)
	}
	return uint32(a), uint32(b) * 1000, nil
}

// parseLRFHSSDatR parses "M0CW137" into the operating channel width in Hz.
func parseLRFHSSDatR(s string) (uint32, error) {
	_, cw, ok := strings.Cut(s, "CW")
	if !ok || !strings.HasPrefix(s, "M") {
		return 0, fmt.Errorf("lr-fhss datr %q: want M<n>CW<khz>", s)
	}
	v, err := strconv.ParseUint(cw, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("lr-fhss datr %q: %w", s, err)
	}
	return uint32(v) * 1000, nil
}

var codeRates = map[string]gw.CodeRate{
	"4/5": gw.CodeRate_CR_4_5, "4/6": gw.CodeRate_CR_4_6, "2/3": gw.CodeRate_CR_4_6,
	"4/7": gw.CodeRate_CR_4_7, "4/8": gw.CodeRate_CR_4_8, "1/2": gw.CodeRate_CR_4_8,
	"3/8": gw.CodeRate_CR_3_8, "2/6": gw.CodeRate_CR_2_6, "1/3": gw.CodeRate_CR_2_6,
	"1/4": gw.CodeRate_CR_1_4, "1/6": gw.CodeRate_CR_1_6, "5/6": gw.CodeRate_CR_5_6,
	"4/5LI": gw.CodeRate_CR_LI_4_5, "4/6LI": gw.CodeRate_CR_LI_4_6, "4/8LI": gw.CodeRate_CR_LI_4_8,
}

// CodeRate maps a GWMP codr string ("4/5") to the gw enum (CR_UNDEFINED if
// unknown or "OFF").
func CodeRate(codr string) gw.CodeRate { return codeRates[codr] }

// CodR maps the gw enum back to the GWMP string.
func CodR(cr gw.CodeRate) string {
	switch cr {
	case gw.CodeRate_CR_4_5:
		return "4/5"
	case gw.CodeRate_CR_4_6:
		return "4/6"
	case gw.CodeRate_CR_4_7:
		return "4/7"
	case gw.CodeRate_CR_4_8:
		return "4/8"
	case gw.CodeRate_CR_3_8:
		return "3/8"
	case gw.CodeRate_CR_2_6:
		return "2/6"
	case gw.CodeRate_CR_1_4:
		return "1/4"
	case gw.CodeRate_CR_1_6:
		return "1/6"
	case gw.CodeRate_CR_5_6:
		return "5/6"
	case gw.CodeRate_CR_LI_4_5:
		return "4/5LI"
	case gw.CodeRate_CR_LI_4_6:
		return "4/6LI"
	case gw.CodeRate_CR_LI_4_8:
		return "4/8LI"
	}
	return "4/5"
}

// Modulation builds the uplink modulation of rx.
func Modulation(rx *gwmp.RXPK) (*gw.Modulation, error) {
	switch strings.ToUpper(rx.Modu) {
	case "LORA":
		sf, bw, err := ParseLoRaDatR(rx.DatR.LoRa)
		if err != nil {
			return nil, err
		}
		return &gw.Modulation{Parameters: &gw.Modulation_Lora{Lora: &gw.LoraModulationInfo{
			Bandwidth: bw, SpreadingFactor: sf, CodeRate: CodeRate(rx.CodR),
		}}}, nil
	case "FSK":
		return &gw.Modulation{Parameters: &gw.Modulation_Fsk{Fsk: &gw.FskModulationInfo{Datarate: rx.DatR.FSK}}}, nil
	case "LR-FHSS":
		ocw, err := parseLRFHSSDatR(rx.DatR.LoRa)
		if err != nil {
			return nil, err
		}
		return &gw.Modulation{Parameters: &gw.Modulation_LrFhss{LrFhss: &gw.LrFhssModulationInfo{
			OperatingChannelWidth: ocw, CodeRate: CodeRate(rx.CodR),
		}}}, nil
	}
	return nil, fmt.Errorf("rxpk modu %q: want LORA, FSK or LR-FHSS", rx.Modu)
}

// CRCStatus maps rxpk stat.
func CRCStatus(stat int8) gw.CRCStatus {
	switch stat {
	case 1:
		return gw.CRCStatus_CRC_OK
	case -1:
		return gw.CRCStatus_BAD_CRC
	}
	return gw.CRCStatus_NO_CRC
}

// Context returns the 4-byte uplink context for tmst.
func Context(tmst uint32) []byte {
	return binary.BigEndian.AppendUint32(make([]byte, 0, ContextSize), tmst)
}

// UplinkFrames converts one rxpk into UplinkFrames: one, or one per rsig
// entry for multi-antenna gateways. uplinkID gives each frame its id.
func UplinkFrames(gatewayID string, rx *gwmp.RXPK, uplinkID func() uint32) ([]*gw.UplinkFrame, error) {
	mod, err := Modulation(rx)
	if err != nil {
		return nil, err
	}
	tx := &gw.UplinkTxInfo{Frequency: HzFromMHz(rx.Freq), Modulation: mod}
	base := func() *gw.UplinkRxInfo {
		ri := &gw.UplinkRxInfo{
			GatewayId: gatewayID,
			UplinkId:  uplinkID(),
			Rssi:      int32(rx.RSSI),
			Channel:   uint32(rx.Chan),
			RfChain:   uint32(rx.RFCh),
			Board:     uint32(rx.Brd),
			Antenna:   uint32(rx.Ant),
			Context:   Context(rx.Tmst),
			CrcStatus: CRCStatus(rx.Stat),
		}
		if rx.LSNR != nil {
			ri.Snr = float32(*rx.LSNR)
		}
		if rx.Time != nil {
			ri.GwTime = timestamppb.New(time.Time(*rx.Time))
		}
		if rx.Tmms != nil {
			ri.TimeSinceGpsEpoch = durationpb.New(time.Duration(*rx.Tmms) * time.Millisecond)
			if rx.FTime != nil {
				// ftime counts ns since the PPS that started the second of tmms.
				sec := time.Duration(*rx.Tmms) * time.Millisecond
				sec -= sec % time.Second
				ri.FineTimeSinceGpsEpoch = durationpb.New(sec + time.Duration(*rx.FTime))
			}
		}
		if rx.RSSIS != nil || rx.FOff != nil {
			ri.Metadata = make(map[string]string, 2)
			if rx.RSSIS != nil {
				ri.Metadata["rssis"] = strconv.Itoa(int(*rx.RSSIS))
			}
			if rx.FOff != nil {
				ri.Metadata["foff"] = strconv.Itoa(int(*rx.FOff))
			}
		}
		return ri
	}
	if len(rx.RSig) == 0 {
		return []*gw.UplinkFrame{{PhyPayload: rx.Data, TxInfo: tx, RxInfo: base()}}, nil
	}
	out := make([]*gw.UplinkFrame, 0, len(rx.RSig))
	for i := range rx.RSig {
		s := &rx.RSig[i]
		ri := base()
		ri.Antenna = uint32(s.Ant)
		ri.Channel = uint32(s.Chan)
		ri.Rssi = int32(s.RSSIC)
		if s.LSNR != nil {
			ri.Snr = float32(*s.LSNR)
		}
		if len(s.ETime) > 0 {
			if ri.Metadata == nil {
				ri.Metadata = map[string]string{}
			}
			ri.Metadata["etime"] = fmt.Sprintf("%x", []byte(s.ETime))
		}
		out = append(out, &gw.UplinkFrame{PhyPayload: rx.Data, TxInfo: tx, RxInfo: ri})
	}
	return out, nil
}

// GatewayStats converts a stat object.
func GatewayStats(gatewayID string, st *gwmp.Stat) *gw.GatewayStats {
	s := &gw.GatewayStats{
		GatewayId:           gatewayID,
		Time:                timestamppb.New(time.Time(st.Time)),
		RxPacketsReceived:   st.RXNb,
		RxPacketsReceivedOk: st.RXOK,
		TxPacketsReceived:   st.DWNb,
		TxPacketsEmitted:    st.TXNb,
	}
	if st.Lati != nil && st.Long != nil && (*st.Lati != 0 || *st.Long != 0) {
		s.Location = &common.Location{Latitude: *st.Lati, Longitude: *st.Long, Source: common.LocationSource_GPS}
		if st.Alti != nil {
			s.Location.Altitude = float64(*st.Alti)
		}
	}
	md := map[string]string{"rxfw": strconv.FormatUint(uint64(st.RXFW), 10)}
	if st.ACKR != nil {
		md["ackr"] = strconv.FormatFloat(*st.ACKR, 'f', -1, 64)
	}
	if st.Temp != nil {
		md["temp"] = strconv.FormatFloat(*st.Temp, 'f', -1, 64)
	}
	s.Metadata = md
	return s
}

// TXPK converts a downlink item into a txpk.
func TXPK(item *gw.DownlinkFrameItem) (gwmp.TXPK, error) {
	ti := item.GetTxInfo()
	if ti == nil {
		return gwmp.TXPK{}, ErrNoTxInfo
	}
	pk := gwmp.TXPK{
		Freq: MHzFromHz(ti.Frequency),
		Powe: int16(ti.Power),
		Size: uint16(len(item.PhyPayload)),
		Data: gwmp.B64(item.PhyPayload),
		Brd:  uint8(ti.Board),
		Ant:  uint8(ti.Antenna),
	}
	switch m := ti.GetModulation().GetParameters().(type) {
	case *gw.Modulation_Lora:
		l := m.Lora
		pk.Modu = "LORA"
		pk.DatR = gwmp.DatR{LoRa: fmt.Sprintf("SF%dBW%d", l.SpreadingFactor, l.Bandwidth/1000)}
		pk.CodR = CodR(l.CodeRate)
		pk.IPol = l.PolarizationInversion
		pk.Prea = uint16(l.Preamble)
		pk.NCRC = l.NoCrc
	case *gw.Modulation_Fsk:
		pk.Modu = "FSK"
		pk.DatR = gwmp.DatR{FSK: m.Fsk.Datarate}
		pk.FDev = m.Fsk.FrequencyDeviation
	default:
		return gwmp.TXPK{}, ErrModulation
	}
	switch t := ti.GetTiming().GetParameters().(type) {
	case *gw.Timing_Immediately:
		pk.Imme = true
	case *gw.Timing_Delay:
		if len(ti.Context) != ContextSize {
			return gwmp.TXPK{}, ErrDelayContext
		}
		tmst := binary.BigEndian.Uint32(ti.Context) + uint32(t.Delay.GetDelay().AsDuration()/time.Microsecond)
		pk.Tmst = &tmst
	case *gw.Timing_GpsEpoch:
		ms := int64(t.GpsEpoch.GetTimeSinceGpsEpoch().AsDuration() / time.Millisecond)
		pk.Tmms = &ms
	default:
		return gwmp.TXPK{}, ErrTiming
	}
	return pk, nil
}

// TxAckStatus maps a TX_ACK payload (nil means success) to the gw status.
// Warnings (packet forwarder v1.6 reports TX_POWER as a warning when it
// lowered the power) count as OK: the packet was emitted. The second result
// is the warning, if any.
func TxAckStatus(p *gwmp.TxAckPayload) (gw.TxAckStatus, string) {
	if p == nil {
		return gw.TxAckStatus_OK, ""
	}
	a := p.TXPKACK
	switch a.Error {
	case "", "NONE":
		return gw.TxAckStatus_OK, a.Warn
	case "TOO_LATE":
		return gw.TxAckStatus_TOO_LATE, ""
	case "TOO_EARLY":
		return gw.TxAckStatus_TOO_EARLY, ""
	case "COLLISION_PACKET":
		return gw.TxAckStatus_COLLISION_PACKET, ""
	case "COLLISION_BEACON":
		return gw.TxAckStatus_COLLISION_BEACON, ""
	case "TX_FREQ":
		return gw.TxAckStatus_TX_FREQ, ""
	case "TX_POWER":
		return gw.TxAckStatus_TX_POWER, ""
	case "GPS_UNLOCKED":
		return gw.TxAckStatus_GPS_UNLOCKED, ""
	}
	return gw.TxAckStatus_INTERNAL_ERROR, ""
}
