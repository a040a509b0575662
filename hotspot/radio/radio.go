package radio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"google.golang.org/protobuf/types/known/durationpb"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// ErrDataRate is returned for a data rate string that is not "SF<7..12>BW<kHz>".
var ErrDataRate = errors.New("bad LoRa data rate")

// LoRa is one LoRa modulation: spreading factor and bandwidth in Hz.
type LoRa struct {
	SF        uint32
	Bandwidth uint32
}

// String renders the packet-forwarder notation, e.g. "SF9BW125".
func (l LoRa) String() string {
	return fmt.Sprintf("SF%dBW%d", l.SF, l.Bandwidth/1000)
}

// ParseDataRate parses the packet-forwarder notation "SF9BW125".
func ParseDataRate(s string) (LoRa, error) {
	rest, ok := strings.CutPrefix(strings.ToUpper(s), "SF")
	if !ok {
		return LoRa{}, fmt.Errorf("%w %q: want SF<n>BW<kHz>, e.g. SF9BW125", ErrDataRate, s)
	}
	sfs, bws, ok := strings.Cut(rest, "BW")
	if !ok {
		return LoRa{}, fmt.Errorf("%w %q: want SF<n>BW<kHz>, e.g. SF9BW125", ErrDataRate, s)
	}
	sf, err := strconv.ParseUint(sfs, 10, 8)
	if err != nil || sf < 5 || sf > 12 {
		return LoRa{}, fmt.Errorf("%w %q: spreading factor must be 5..12", ErrDataRate, s)
	}
	bw, err := strconv.ParseUint(bws, 10, 16)
	if err != nil || (bw != 125 && bw != 250 && bw != 500) {
		return LoRa{}, fmt.Errorf("%w %q: bandwidth must be 125, 250 or 500 kHz", ErrDataRate, s)
	}
	return LoRa{SF: uint32(sf), Bandwidth: uint32(bw) * 1000}, nil
}

// UplinkMeta extracts the radio metadata of a bridge uplink. tmst is read
// from the rx context, which Semtech UDP bridges (ChirpStack's and ours) fill
// with the big-endian concentrator counter. ok is false for non-LoRa frames.
func UplinkMeta(f *gw.UplinkFrame, region hexproofv1.Region, receivedAtMs uint64) (*hexproofv1.RadioMeta, bool) {
	tx, rx := f.GetTxInfo(), f.GetRxInfo()
	lora := tx.GetModulation().GetLora()
	if tx == nil || rx == nil || lora == nil {
		return nil, false
	}
	m := &hexproofv1.RadioMeta{
		FrequencyHz:  uint64(tx.GetFrequency()),
		Datarate:     LoRa{SF: lora.GetSpreadingFactor(), Bandwidth: lora.GetBandwidth()}.String(),
		RssiDbm:      rx.GetRssi(),
		SnrCb:        int32(math.Round(float64(rx.GetSnr()) * 10)),
		ReceivedAtMs: receivedAtMs,
		Region:       region,
	}
	if c := rx.GetContext(); len(c) >= 4 {
		m.Tmst = binary.BigEndian.Uint32(c[:4])
	}
	return m, true
}

// CRCFailed reports whether the concentrator flagged the frame's CRC as bad.
// Frames without a CRC (NO_CRC) are uplinks from devices that always send
// one, so they are treated as failed too.
func CRCFailed(f *gw.UplinkFrame) bool {
	return f.GetRxInfo().GetCrcStatus() != gw.CRCStatus_CRC_OK
}

// DownlinkItem builds one transmit attempt for the bridge.
func DownlinkItem(phy []byte, w *hexproofv1.DownlinkWindow) (*gw.DownlinkFrameItem, error) {
	dr, err := ParseDataRate(w.GetDatarate())
	if err != nil {
		return nil, err
	}
	if w.GetFrequencyHz() == 0 || w.GetFrequencyHz() > math.MaxUint32 {
		return nil, fmt.Errorf("bad downlink frequency %d Hz", w.GetFrequencyHz())
	}
	timing := &gw.Timing{}
	var ctx []byte
	if w.GetImmediate() {
		timing.Parameters = &gw.Timing_Immediately{Immediately: &gw.ImmediatelyTimingInfo{}}
	} else {
		// The bridge transmits at context counter + delay; the router gave the
		// absolute counter, so the delay is zero.
		ctx = binary.BigEndian.AppendUint32(nil, w.GetTmst())
		timing.Parameters = &gw.Timing_Delay{Delay: &gw.DelayTimingInfo{Delay: durationpb.New(0)}}
	}
	return &gw.DownlinkFrameItem{
		PhyPayload: phy,
		TxInfo: &gw.DownlinkTxInfo{
			Frequency: uint32(w.GetFrequencyHz()),
			Power:     w.GetPowerDbm(),
			Modulation: &gw.Modulation{Parameters: &gw.Modulation_Lora{Lora: &gw.LoraModulationInfo{
				Bandwidth:             dr.Bandwidth,
				SpreadingFactor:       dr.SF,
				CodeRate:              CodeRate(w.GetCodingRate()),
				PolarizationInversion: w.GetPolarizationInversion(),
			}}},
			Timing:  timing,
			Context: ctx,
		},
	}, nil
}

// CodeRate maps "4/5".."4/8" to the bridge enum; anything else is 4/5, the
// LoRaWAN default.
func CodeRate(s string) gw.CodeRate {
	switch s {
	case "4/6":
		return gw.CodeRate_CR_4_6
	case "4/7":
		return gw.CodeRate_CR_4_7
	case "4/8":
		return gw.CodeRate_CR_4_8
	default:
		return gw.CodeRate_CR_4_5
	}
}

// AckResult folds the bridge's per-item ack into the router's TxAck: the
// first item that was emitted wins (window = its index + 1); when none was,
// the status of the last item that was tried is reported with window 0.
func AckResult(a *gw.DownlinkTxAck) (hexproofv1.TxAckStatus, uint32) {
	status := hexproofv1.TxAckStatus_TX_ACK_STATUS_INTERNAL_ERROR
	for i, it := range a.GetItems() {
		switch it.GetStatus() {
		case gw.TxAckStatus_OK:
			return hexproofv1.TxAckStatus_TX_ACK_STATUS_OK, uint32(i + 1)
		case gw.TxAckStatus_IGNORED:
		default:
			status = AckStatus(it.GetStatus())
		}
	}
	return status, 0
}

// AckStatus maps one bridge status to the Hexproof enum.
func AckStatus(s gw.TxAckStatus) hexproofv1.TxAckStatus {
	switch s {
	case gw.TxAckStatus_OK:
		return hexproofv1.TxAckStatus_TX_ACK_STATUS_OK
	case gw.TxAckStatus_TOO_LATE:
		return hexproofv1.TxAckStatus_TX_ACK_STATUS_TOO_LATE
	case gw.TxAckStatus_TOO_EARLY:
		return hexproofv1.TxAckStatus_TX_ACK_STATUS_TOO_EARLY
	case gw.TxAckStatus_COLLISION_PACKET:
		return hexproofv1.TxAckStatus_TX_ACK_STATUS_COLLISION_PACKET
	case gw.TxAckStatus_COLLISION_BEACON:
		return hexproofv1.TxAckStatus_TX_ACK_STATUS_COLLISION_BEACON
	case gw.TxAckStatus_TX_FREQ:
		return hexproofv1.TxAckStatus_TX_ACK_STATUS_TX_FREQ
	case gw.TxAckStatus_TX_POWER:
		return hexproofv1.TxAckStatus_TX_ACK_STATUS_TX_POWER
	case gw.TxAckStatus_GPS_UNLOCKED:
		return hexproofv1.TxAckStatus_TX_ACK_STATUS_GPS_UNLOCKED
	case gw.TxAckStatus_QUEUE_FULL, gw.TxAckStatus_DUTY_CYCLE_OVERFLOW:
		return hexproofv1.TxAckStatus_TX_ACK_STATUS_QUEUE_FULL
	default:
		return hexproofv1.TxAckStatus_TX_ACK_STATUS_INTERNAL_ERROR
	}
}
