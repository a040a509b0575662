package gwmp

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ProtocolVersion is the GWMP version the router speaks (lora_pkt_fwd 4.x).
const ProtocolVersion = 2

// Type is a GWMP packet identifier.
type Type byte

// GWMP packet identifiers.
const (
	PushData Type = 0x00
	PushAck  Type = 0x01
	PullData Type = 0x02
	PullResp Type = 0x03
	PullAck  Type = 0x04
	TxAck    Type = 0x05
)

func (t Type) String() string {
	switch t {
	case PushData:
		return "PUSH_DATA"
	case PushAck:
		return "PUSH_ACK"
	case PullData:
		return "PULL_DATA"
	case PullResp:
		return "PULL_RESP"
	case PullAck:
		return "PULL_ACK"
	case TxAck:
		return "TX_ACK"
	}
	return fmt.Sprintf("type 0x%02x", byte(t))
}

// ErrShort is returned for a datagram too short for its packet type.
var ErrShort = errors.New("gwmp: datagram too short")

// Header is the fixed part of every GWMP datagram.
type Header struct {
	Version byte
	Token   uint16
	Type    Type
}

// ParseHeader reads the first four bytes of a datagram.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < 4 {
		return Header{}, ErrShort
	}
	h := Header{Version: b[0], Token: binary.BigEndian.Uint16(b[1:3]), Type: Type(b[3])}
	if h.Version != 1 && h.Version != 2 {
		return h, fmt.Errorf("gwmp: protocol version %d, want 1 or 2", h.Version)
	}
	if h.Type > TxAck {
		return h, fmt.Errorf("gwmp: unknown packet type 0x%02x", byte(h.Type))
	}
	return h, nil
}

func appendHeader(b []byte, token uint16, t Type) []byte {
	return append(b, ProtocolVersion, byte(token>>8), byte(token), byte(t))
}

// AppendPullData appends a PULL_DATA datagram (the downlink keepalive).
func AppendPullData(b []byte, token uint16, eui uint64) []byte {
	b = appendHeader(b, token, PullData)
	return binary.BigEndian.AppendUint64(b, eui)
}

// RXPK is one received frame in a PUSH_DATA.
type RXPK struct {
	// Time is the UTC receive time in RFC 3339 with sub-seconds; empty omits it.
	Time        string
	Tmst        uint32
	Chan        uint32
	RFCh        uint32
	FrequencyHz uint64
	Stat        int
	DataRate    string // "SF9BW125"
	CodingRate  string // "4/5"
	RSSI        int32
	SNRcB       int32 // centibels
	Data        []byte
}

// Stat is the gateway status object of a PUSH_DATA.
type Stat struct {
	Time string // "2006-01-02 15:04:05 MST"
	RXNb uint32
	RXOK uint32
	RXFW uint32
	ACKR float64
	DWNb uint32
	TXNb uint32
}

// AppendPushData appends a PUSH_DATA datagram with rxpk (may be empty) and an
// optional stat object. It writes the JSON by hand: this is the router's hot
// path and encoding/json's reflection costs more than the rest of it.
func AppendPushData(b []byte, token uint16, eui uint64, rxpk []RXPK, stat *Stat) []byte {
	b = appendHeader(b, token, PushData)
	b = binary.BigEndian.AppendUint64(b, eui)
	b = append(b, '{')
	if len(rxpk) > 0 {
		b = append(b, `"rxpk":[`...)
		for i := range rxpk {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRXPK(b, &rxpk[i])
		}
		b = append(b, ']')
	}
	if stat != nil {
		if len(rxpk) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"stat":{"time":`...)
		b = appendJSONString(b, stat.Time)
		b = append(b, `,"rxnb":`...)
		b = strconv.AppendUint(b, uint64(stat.RXNb), 10)
		b = append(b, `,"rxok":`...)
		b = strconv.AppendUint(b, uint64(stat.RXOK), 10)
		b = append(b, `,"rxfw":`...)
		b = strconv.AppendUint(b, uint64(stat.RXFW), 10)
		b = append(b, `,"ackr":`...)
		b = strconv.AppendFloat(b, stat.ACKR, 'f', 1, 64)
		b = append(b, `,"dwnb":`...)
		b = strconv.AppendUint(b, uint64(stat.DWNb), 10)
		b = append(b, `,"txnb":`...)
		b = strconv.AppendUint(b, uint64(stat.TXNb), 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendRXPK(b []byte, p *RXPK) []byte {
	b = append(b, '{')
	if p.Time != "" {
		b = append(b, `"time":`...)
		b = appendJSONString(b, p.Time)
		b = append(b, ',')
	}
	b = append(b, `"tmst":`...)
	b = strconv.AppendUint(b, uint64(p.Tmst), 10)
	b = append(b, `,"chan":`...)
	b = strconv.AppendUint(b, uint64(p.Chan), 10)
	b = append(b, `,"rfch":`...)
	b = strconv.AppendUint(b, uint64(p.RFCh), 10)
	b = append(b, `,"freq":`...)
	b = appendMHz(b, p.FrequencyHz)
	b = append(b, `,"stat":`...)
	b = strconv.AppendInt(b, int64(p.Stat), 10)
	b = append(b, `,"modu":"LORA","datr":`...)
	b = appendJSONString(b, p.DataRate)
	b = append(b, `,"codr":`...)
	b = appendJSONString(b, p.CodingRate)
	b = append(b, `,"rssi":`...)
	b = strconv.AppendInt(b, int64(p.RSSI), 10)
	b = append(b, `,"lsnr":`...)
	b = appendCentibels(b, p.SNRcB)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(len(p.Data)), 10)
	b = append(b, `,"data":"`...)
	b = base64.StdEncoding.AppendEncode(b, p.Data)
	return append(b, `"}`...)
}

// appendMHz writes hz as MHz with exactly six decimals, so the value is exact.
func appendMHz(b []byte, hz uint64) []byte {
	b = strconv.AppendUint(b, hz/1_000_000, 10)
	b = append(b, '.')
	frac := strconv.FormatUint(hz%1_000_000, 10)
	for i := len(frac); i < 6; i++ {
		b = append(b, '0')
	}
	return append(b, frac...)
}

func appendCentibels(b []byte, cb int32) []byte {
	if cb < 0 {
		b = append(b, '-')
		cb = -cb
	}
	b = strconv.AppendInt(b, int64(cb/10), 10)
	b = append(b, '.')
	return strconv.AppendInt(b, int64(cb%10), 10)
}

// PushDataPacket is a decoded PUSH_DATA (used by tests and test servers).
type PushDataPacket struct {
	Token uint16
	EUI   uint64
	RXPK  []RXPK
	Stat  *Stat
}

type jsonRXPK struct {
	Time string  `json:"time"`
	Tmst uint32  `json:"tmst"`
	Chan uint32  `json:"chan"`
	RFCh uint32  `json:"rfch"`
	Freq float64 `json:"freq"`
	Stat int     `json:"stat"`
	Modu string  `json:"modu"`
	Datr string  `json:"datr"`
	Codr string  `json:"codr"`
	RSSI int32   `json:"rssi"`
	LSNR float64 `json:"lsnr"`
	Size int     `json:"size"`
	Data string  `json:"data"`
}

type jsonStat struct {
	Time string  `json:"time"`
	RXNb uint32  `json:"rxnb"`
	RXOK uint32  `json:"rxok"`
	RXFW uint32  `json:"rxfw"`
	ACKR float64 `json:"ackr"`
	DWNb uint32  `json:"dwnb"`
	TXNb uint32  `json:"txnb"`
}

// ParsePushData decodes a PUSH_DATA datagram.
func ParsePushData(b []byte) (PushDataPacket, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return PushDataPacket{}, err
	}
	if h.Type != PushData {
		return PushDataPacket{}, fmt.Errorf("gwmp: %v, want PUSH_DATA", h.Type)
	}
	if len(b) < 12 {
		return PushDataPacket{}, ErrShort
	}
	p := PushDataPacket{Token: h.Token, EUI: binary.BigEndian.Uint64(b[4:12])}
	var body struct {
		RXPK []jsonRXPK `json:"rxpk"`
		Stat *jsonStat  `json:"stat"`
	}
	if err := json.Unmarshal(b[12:], &body); err != nil {
		return p, fmt.Errorf("gwmp: PUSH_DATA json: %w", err)
	}
	for _, r := range body.RXPK {
		data, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil {
			return p, fmt.Errorf("gwmp: rxpk data: %w", err)
		}
		if r.Size != len(data) {
			return p, fmt.Errorf("gwmp: rxpk size %d but %d data bytes", r.Size, len(data))
		}
		hz, err := mhzToHz(r.Freq)
		if err != nil {
			return p, err
		}
		p.RXPK = append(p.RXPK, RXPK{
			Time: r.Time, Tmst: r.Tmst, Chan: r.Chan, RFCh: r.RFCh, FrequencyHz: hz, Stat: r.Stat,
			DataRate: r.Datr, CodingRate: r.Codr, RSSI: r.RSSI, SNRcB: int32(math.Round(r.LSNR * 10)), Data: data,
		})
	}
	if s := body.Stat; s != nil {
		p.Stat = &Stat{Time: s.Time, RXNb: s.RXNb, RXOK: s.RXOK, RXFW: s.RXFW, ACKR: s.ACKR, DWNb: s.DWNb, TXNb: s.TXNb}
	}
	return p, nil
}

func mhzToHz(mhz float64) (uint64, error) {
	if math.IsNaN(mhz) || mhz < 0 || mhz > 10_000 {
		return 0, fmt.Errorf("gwmp: frequency %v MHz out of range", mhz)
	}
	return uint64(math.Round(mhz * 1e6)), nil
}

// AppendAck appends a PUSH_ACK or PULL_ACK (server side; used by test servers).
func AppendAck(b []byte, token uint16, t Type) []byte {
	return appendHeader(b, token, t)
}

// TXPK is the downlink of a PULL_RESP.
type TXPK struct {
	Immediate   bool
	Tmst        uint32
	FrequencyHz uint64
	RFCh        uint32
	PowerDBm    int32
	Modulation  string
	DataRate    string
	CodingRate  string
	IPol        bool
	Preamble    uint32
	NoCRC       bool
	Data        []byte
}

type jsonTXPK struct {
	Imme bool    `json:"imme"`
	Tmst *uint32 `json:"tmst,omitempty"`
	Tmms *uint64 `json:"tmms,omitempty"`
	Freq float64 `json:"freq"`
	RFCh uint32  `json:"rfch"`
	Powe int32   `json:"powe"`
	Modu string  `json:"modu"`
	Datr any     `json:"datr"`
	Codr string  `json:"codr,omitempty"`
	IPol bool    `json:"ipol"`
	Prea uint32  `json:"prea,omitempty"`
	Size int     `json:"size"`
	Data string  `json:"data"`
	NCRC bool    `json:"ncrc,omitempty"`
}

// ErrTimeOnGPS is returned for a PULL_RESP scheduled on GPS time (tmms): a
// virtual gateway has no GPS, so the LNS must schedule on tmst.
var ErrTimeOnGPS = errors.New("gwmp: txpk scheduled on GPS time (tmms); the router only supports tmst or immediate")

// PullRespPacket is a decoded PULL_RESP.
type PullRespPacket struct {
	Token uint16
	TXPK  TXPK
}

// ParsePullResp decodes a PULL_RESP datagram.
func ParsePullResp(b []byte) (PullRespPacket, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return PullRespPacket{}, err
	}
	if h.Type != PullResp {
		return PullRespPacket{}, fmt.Errorf("gwmp: %v, want PULL_RESP", h.Type)
	}
	p := PullRespPacket{Token: h.Token}
	var body struct {
		TXPK *jsonTXPK `json:"txpk"`
	}
	if err := json.Unmarshal(b[4:], &body); err != nil {
		return p, fmt.Errorf("gwmp: PULL_RESP json: %w", err)
	}
	t := body.TXPK
	if t == nil {
		return p, errors.New("gwmp: PULL_RESP without txpk")
	}
	if !t.Imme && t.Tmst == nil {
		if t.Tmms != nil {
			return p, ErrTimeOnGPS
		}
		return p, errors.New("gwmp: txpk has neither imme nor tmst")
	}
	data, err := base64.StdEncoding.DecodeString(t.Data)
	if err != nil {
		return p, fmt.Errorf("gwmp: txpk data: %w", err)
	}
	if t.Size != len(data) {
		return p, fmt.Errorf("gwmp: txpk size %d but %d data bytes", t.Size, len(data))
	}
	hz, err := mhzToHz(t.Freq)
	if err != nil {
		return p, err
	}
	var datr string
	switch d := t.Datr.(type) {
	case string:
		datr = d
	case float64:
		// FSK gives the bit rate as a number.
		datr = strconv.FormatFloat(d, 'f', -1, 64)
	default:
		return p, errors.New("gwmp: txpk datr missing")
	}
	p.TXPK = TXPK{
		Immediate: t.Imme, FrequencyHz: hz, RFCh: t.RFCh, PowerDBm: t.Powe, Modulation: t.Modu,
		DataRate: datr, CodingRate: t.Codr, IPol: t.IPol, Preamble: t.Prea, NoCRC: t.NCRC, Data: data,
	}
	if t.Tmst != nil {
		p.TXPK.Tmst = *t.Tmst
	}
	return p, nil
}

// AppendPullResp appends a PULL_RESP (server side; used by test servers).
func AppendPullResp(b []byte, token uint16, t TXPK) ([]byte, error) {
	j := jsonTXPK{
		Imme: t.Immediate, Freq: float64(t.FrequencyHz) / 1e6, RFCh: t.RFCh, Powe: t.PowerDBm, Modu: t.Modulation,
		Datr: t.DataRate, Codr: t.CodingRate, IPol: t.IPol, Prea: t.Preamble, Size: len(t.Data),
		Data: base64.StdEncoding.EncodeToString(t.Data), NCRC: t.NoCRC,
	}
	if !t.Immediate {
		tm := t.Tmst
		j.Tmst = &tm
	}
	body, err := json.Marshal(struct {
		TXPK jsonTXPK `json:"txpk"`
	}{j})
	if err != nil {
		return b, err
	}
	return append(appendHeader(b, token, PullResp), body...), nil
}

// TX_ACK error strings of the packet forwarder.
const (
	TxAckNone            = "NONE"
	TxAckTooLate         = "TOO_LATE"
	TxAckTooEarly        = "TOO_EARLY"
	TxAckCollisionPacket = "COLLISION_PACKET"
	TxAckCollisionBeacon = "COLLISION_BEACON"
	TxAckTxFreq          = "TX_FREQ"
	TxAckTxPower         = "TX_POWER"
	TxAckGPSUnlocked     = "GPS_UNLOCKED"
)

// AppendTxAck appends a TX_ACK for the PULL_RESP with token; errStr is one
// of the TxAck* strings.
func AppendTxAck(b []byte, token uint16, eui uint64, errStr string) []byte {
	b = appendHeader(b, token, TxAck)
	b = binary.BigEndian.AppendUint64(b, eui)
	b = append(b, `{"txpk_ack":{"error":`...)
	b = appendJSONString(b, errStr)
	return append(b, "}}"...)
}

// TxAckPacket is a decoded TX_ACK.
type TxAckPacket struct {
	Token uint16
	EUI   uint64
	Error string // "NONE" (or empty) when the downlink was sent
}

// ParseTxAck decodes a TX_ACK (used by test servers).
func ParseTxAck(b []byte) (TxAckPacket, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return TxAckPacket{}, err
	}
	if h.Type != TxAck {
		return TxAckPacket{}, fmt.Errorf("gwmp: %v, want TX_ACK", h.Type)
	}
	if len(b) < 12 {
		return TxAckPacket{}, ErrShort
	}
	p := TxAckPacket{Token: h.Token, EUI: binary.BigEndian.Uint64(b[4:12])}
	if len(b) > 12 {
		var body struct {
			Ack struct {
				Error string `json:"error"`
			} `json:"txpk_ack"`
		}
		if err := json.Unmarshal(b[12:], &body); err != nil {
			return p, fmt.Errorf("gwmp: TX_ACK json: %w", err)
		}
		p.Error = body.Ack.Error
	}
	return p, nil
}

// ParsePullData decodes a PULL_DATA (used by test servers): token and EUI.
func ParsePullData(b []byte) (uint16, uint64, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return 0, 0, err
	}
	if h.Type != PullData {
		return 0, 0, fmt.Errorf("gwmp: %v, want PULL_DATA", h.Type)
	}
	if len(b) < 12 {
		return 0, 0, ErrShort
	}
	return h.Token, binary.BigEndian.Uint64(b[4:12]), nil
}

// appendJSONString appends s as a JSON string. Values come from hotspots
// (data rate) and must never break the LNS's JSON parser.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c >= 0x7f:
			// Non-ASCII bytes are escaped one by one so invalid UTF-8
			// still yields valid JSON.
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
