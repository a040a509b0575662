package gwmp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Protocol versions.
const (
	Version1 = 1
	Version2 = 2
)

// Type is a GWMP packet type.
type Type byte

// Packet types.
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
	return fmt.Sprintf("TYPE_0x%02x", byte(t))
}

// hasEUI and hasJSON say which parts follow the header for each type.
func (t Type) hasEUI() bool { return t == PushData || t == PullData || t == TxAck }

// EUI is a gateway EUI as sent on the wire (big endian).
type EUI [8]byte

func (e EUI) String() string { return fmt.Sprintf("%016x", e[:]) }

// ParseEUI parses 16 hex digits.
func ParseEUI(s string) (EUI, error) {
	var e EUI
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil || len(s) != 16 {
		return e, fmt.Errorf("gateway EUI %q: want 16 hex digits", s)
	}
	binary.BigEndian.PutUint64(e[:], v)
	return e, nil
}

// Packet is one GWMP datagram.
type Packet struct {
	Version byte
	Token   uint16
	Type    Type
	EUI     EUI    // PUSH_DATA, PULL_DATA, TX_ACK
	JSON    []byte // PUSH_DATA, PULL_RESP, TX_ACK (optional)
}

// Errors of Unmarshal.
var (
	ErrShort   = errors.New("gwmp: packet too short")
	ErrVersion = errors.New("gwmp: unsupported protocol version")
	ErrType    = errors.New("gwmp: unknown packet type")
)

// Marshal encodes the packet.
func (p Packet) Marshal() []byte {
	b := make([]byte, 4, 12+len(p.JSON))
	b[0] = p.Version
	binary.BigEndian.PutUint16(b[1:3], p.Token)
	b[3] = byte(p.Type)
	if p.Type.hasEUI() {
		b = append(b, p.EUI[:]...)
	}
	return append(b, p.JSON...)
}

// Unmarshal decodes a datagram. The JSON part is copied, not parsed.
func Unmarshal(b []byte) (Packet, error) {
	var p Packet
	if len(b) < 4 {
		return p, ErrShort
	}
	p.Version = b[0]
	if p.Version != Version1 && p.Version != Version2 {
		return p, fmt.Errorf("%w: %d", ErrVersion, p.Version)
	}
	p.Token = binary.BigEndian.Uint16(b[1:3])
	p.Type = Type(b[3])
	rest := b[4:]
	switch p.Type {
	case PushData, PullData, TxAck:
		if len(rest) < 8 {
			return p, fmt.Errorf("%w: %s without gateway EUI", ErrShort, p.Type)
		}
		copy(p.EUI[:], rest[:8])
		rest = rest[8:]
	case PushAck, PullAck, PullResp:
	default:
		return p, fmt.Errorf("%w: 0x%02x", ErrType, byte(p.Type))
	}
	switch p.Type {
	case PushData, PullResp:
		if len(rest) == 0 {
			return p, fmt.Errorf("%w: %s without JSON", ErrShort, p.Type)
		}
	}
	if len(rest) > 0 {
		p.JSON = bytes.Clone(rest)
	}
	return p, nil
}

// DataRate is a LoRa data rate ("SF7BW125") or an FSK bit rate, which
// the protocol sends as a JSON number.
type DataRate struct {
	LoRa string
	FSK  uint32
}

// MarshalJSON writes a string for LoRa and a number for FSK.
func (d DataRate) MarshalJSON() ([]byte, error) {
	if d.LoRa == "" {
		return []byte(strconv.FormatUint(uint64(d.FSK), 10)), nil
	}
	return json.Marshal(d.LoRa)
}

// UnmarshalJSON accepts both forms.
func (d *DataRate) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &d.LoRa)
	}
	return json.Unmarshal(b, &d.FSK)
}

// RXPK is one received frame in PUSH_DATA.
type RXPK struct {
	Time string   `json:"time,omitempty"` // RFC 3339 UTC, when GPS-synced
	Tmst uint32   `json:"tmst"`           // concentrator µs counter at RX end
	Chan int      `json:"chan"`
	RFCh int      `json:"rfch"`
	Freq float64  `json:"freq"` // MHz
	Stat int      `json:"stat"` // 1 CRC ok, -1 bad, 0 none
	Modu string   `json:"modu"` // "LORA" or "FSK"
	DatR DataRate `json:"datr"`
	CodR string   `json:"codr,omitempty"` // "4/5"
	RSSI int      `json:"rssi"`
	LSNR float64  `json:"lsnr"`
	Size int      `json:"size"`
	Data []byte   `json:"data"` // base64 in JSON
}

// Stat is the gateway status in PUSH_DATA.
type Stat struct {
	Time string  `json:"time"` // "2006-01-02 15:04:05 MST"
	Lati float64 `json:"lati,omitempty"`
	Long float64 `json:"long,omitempty"`
	Alti int     `json:"alti,omitempty"`
	RXNb uint32  `json:"rxnb"`
	RXOK uint32  `json:"rxok"`
	RXFW uint32  `json:"rxfw"`
	ACKR float64 `json:"ackr"`
	DWNb uint32  `json:"dwnb"`
	TXNb uint32  `json:"txnb"`
}

// PushDataPayload is the JSON of PUSH_DATA.
type PushDataPayload struct {
	RXPK []RXPK `json:"rxpk,omitempty"`
	Stat *Stat  `json:"stat,omitempty"`
}

// TXPK is the frame to send in PULL_RESP.
type TXPK struct {
	Imme bool     `json:"imme,omitempty"` // send now
	Tmst *uint32  `json:"tmst,omitempty"` // send when the counter reaches this
	Tmms *uint64  `json:"tmms,omitempty"` // GPS time (not simulated)
	Freq float64  `json:"freq"`           // MHz
	RFCh int      `json:"rfch"`
	Powe int      `json:"powe"` // dBm
	Modu string   `json:"modu"`
	DatR DataRate `json:"datr"`
	CodR string   `json:"codr,omitempty"`
	IPol bool     `json:"ipol"`
	Prea int      `json:"prea,omitempty"`
	Size int      `json:"size"`
	Data []byte   `json:"data"`
	NCRC bool     `json:"ncrc,omitempty"`
}

// PullRespPayload is the JSON of PULL_RESP.
type PullRespPayload struct {
	TXPK TXPK `json:"txpk"`
}

// TX_ACK error values (Semtech packet forwarder, protocol v2).
const (
	TxNone            = "NONE"
	TxTooLate         = "TOO_LATE"
	TxTooEarly        = "TOO_EARLY"
	TxCollisionPacket = "COLLISION_PACKET"
	TxCollisionBeacon = "COLLISION_BEACON"
	TxFreq            = "TX_FREQ"
	TxPower           = "TX_POWER"
	TxGPSUnlocked     = "GPS_UNLOCKED"
)

// TxAckPayload is the JSON of TX_ACK.
type TxAckPayload struct {
	TxpkAck struct {
		Error string `json:"error,omitempty"`
		Warn  string `json:"warn,omitempty"`
		Value *int   `json:"value,omitempty"`
	} `json:"txpk_ack"`
}

// Error is the acknowledgement's outcome; an empty or missing body means
// NONE (success).
func (a TxAckPayload) Error() string {
	if a.TxpkAck.Error == "" {
		return TxNone
	}
	return a.TxpkAck.Error
}

// DecodePushData parses the JSON of a PUSH_DATA packet.
func DecodePushData(p Packet) (PushDataPayload, error) {
	var v PushDataPayload
	if p.Type != PushData {
		return v, fmt.Errorf("gwmp: %s is not PUSH_DATA", p.Type)
	}
	if err := json.Unmarshal(p.JSON, &v); err != nil {
		return v, fmt.Errorf("gwmp: PUSH_DATA JSON: %w", err)
	}
	for i, rx := range v.RXPK {
		if rx.Size != len(rx.Data) {
			return v, fmt.Errorf("gwmp: rxpk %d: size %d but %d bytes of data", i, rx.Size, len(rx.Data))
		}
	}
	return v, nil
}

// DecodePullResp parses the JSON of a PULL_RESP packet.
func DecodePullResp(p Packet) (TXPK, error) {
	var v PullRespPayload
	if p.Type != PullResp {
		return v.TXPK, fmt.Errorf("gwmp: %s is not PULL_RESP", p.Type)
	}
	if err := json.Unmarshal(p.JSON, &v); err != nil {
		return v.TXPK, fmt.Errorf("gwmp: PULL_RESP JSON: %w", err)
	}
	if v.TXPK.Size != len(v.TXPK.Data) {
		return v.TXPK, fmt.Errorf("gwmp: txpk size %d but %d bytes of data", v.TXPK.Size, len(v.TXPK.Data))
	}
	if !v.TXPK.Imme && v.TXPK.Tmst == nil && v.TXPK.Tmms == nil {
		return v.TXPK, errors.New("gwmp: txpk has neither imme, tmst nor tmms")
	}
	return v.TXPK, nil
}

// DecodeTxAck parses the JSON of a TX_ACK packet (empty means success).
func DecodeTxAck(p Packet) (TxAckPayload, error) {
	var v TxAckPayload
	if p.Type != TxAck {
		return v, fmt.Errorf("gwmp: %s is not TX_ACK", p.Type)
	}
	if len(bytes.TrimRight(p.JSON, "\x00 \n")) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(bytes.TrimRight(p.JSON, "\x00"), &v); err != nil {
		return v, fmt.Errorf("gwmp: TX_ACK JSON: %w", err)
	}
	return v, nil
}

// NewPushData builds a PUSH_DATA packet.
func NewPushData(token uint16, eui EUI, payload PushDataPayload) (Packet, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return Packet{}, err
	}
	return Packet{Version: Version2, Token: token, Type: PushData, EUI: eui, JSON: b}, nil
}

// NewPullResp builds a PULL_RESP packet.
func NewPullResp(version byte, token uint16, tx TXPK) (Packet, error) {
	tx.Size = len(tx.Data)
	b, err := json.Marshal(PullRespPayload{TXPK: tx})
	if err != nil {
		return Packet{}, err
	}
	return Packet{Version: version, Token: token, Type: PullResp, JSON: b}, nil
}

// NewTxAck builds a TX_ACK packet with an outcome (TxNone for success).
func NewTxAck(token uint16, eui EUI, outcome string) Packet {
	var v TxAckPayload
	v.TxpkAck.Error = outcome
	b, _ := json.Marshal(v)
	return Packet{Version: Version2, Token: token, Type: TxAck, EUI: eui, JSON: b}
}
