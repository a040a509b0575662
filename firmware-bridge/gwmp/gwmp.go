package gwmp

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Type is the identifier byte of a GWMP datagram.
type Type byte

// The datagram types of PROTOCOL.TXT.
const (
	TypePushData Type = 0x00
	TypePushAck  Type = 0x01
	TypePullData Type = 0x02
	TypePullResp Type = 0x03
	TypePullAck  Type = 0x04
	TypeTxAck    Type = 0x05
)

var typeNames = [...]string{"push_data", "push_ack", "pull_data", "pull_resp", "pull_ack", "tx_ack"}

// String returns the snake_case name used in logs and metric labels.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("unknown_0x%02x", byte(t))
}

// Protocol versions.
const (
	Version1 = 1
	Version2 = 2
)

// MaxDatagram is the largest datagram the bridge accepts (the largest UDP
// payload over IPv4).
const MaxDatagram = 65507

// Sentinel errors; wrap-checked with errors.Is.
var (
	ErrShort       = errors.New("gwmp: datagram too short")
	ErrVersion     = errors.New("gwmp: unsupported protocol version (want 1 or 2)")
	ErrUnknownType = errors.New("gwmp: unknown datagram type")
	ErrWrongType   = errors.New("gwmp: datagram has another type")
	ErrTooLarge    = errors.New("gwmp: datagram too large")
)

// EUI64 is a gateway identifier (MAC / EUI).
type EUI64 [8]byte

// String is the 16 lower-case hex digits used in MQTT topics.
func (e EUI64) String() string { return hex.EncodeToString(e[:]) }

// Uint64 returns the EUI as a big-endian integer.
func (e EUI64) Uint64() uint64 { return binary.BigEndian.Uint64(e[:]) }

// ParseEUI64 parses 16 hex digits (either case).
func ParseEUI64(s string) (EUI64, error) {
	var e EUI64
	if len(s) != 16 {
		return e, fmt.Errorf("gateway id %q: want 16 hex digits", s)
	}
	if _, err := hex.Decode(e[:], []byte(s)); err != nil {
		return e, fmt.Errorf("gateway id %q: %w", s, err)
	}
	return e, nil
}

// MarshalText implements encoding.TextMarshaler.
func (e EUI64) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *EUI64) UnmarshalText(b []byte) error {
	v, err := ParseEUI64(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// Header is the common start of every datagram.
type Header struct {
	Version uint8
	Token   uint16
	Type    Type
}

// ParseHeader checks the first four bytes of b and returns them.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < 4 {
		return Header{}, ErrShort
	}
	if len(b) > MaxDatagram {
		return Header{}, ErrTooLarge
	}
	h := Header{Version: b[0], Token: binary.BigEndian.Uint16(b[1:3]), Type: Type(b[3])}
	if h.Version != Version1 && h.Version != Version2 {
		return h, fmt.Errorf("%w: got %d", ErrVersion, h.Version)
	}
	if h.Type > TypeTxAck {
		return h, fmt.Errorf("%w: 0x%02x", ErrUnknownType, byte(h.Type))
	}
	return h, nil
}

func appendHeader(dst []byte, version uint8, token uint16, t Type) []byte {
	if version == 0 {
		version = Version2
	}
	return append(dst, version, byte(token>>8), byte(token), byte(t))
}

// header checks b is a datagram of type want with at least min bytes.
func header(b []byte, want Type, min int) (Header, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if h.Type != want {
		return h, fmt.Errorf("%w: %s, want %s", ErrWrongType, h.Type, want)
	}
	if len(b) < min {
		return h, fmt.Errorf("%s: %w (%d bytes, need %d)", want, ErrShort, len(b), min)
	}
	return h, nil
}

// PushData carries uplinks (rxpk) and status (stat) from a gateway.
type PushData struct {
	Version   uint8
	Token     uint16
	GatewayID EUI64
	Payload   PushDataPayload
}

// PushDataPayload is the JSON object of PUSH_DATA.
type PushDataPayload struct {
	RXPK []RXPK `json:"rxpk,omitempty"`
	Stat *Stat  `json:"stat,omitempty"`
}

// UnmarshalBinary decodes a PUSH_DATA datagram.
func (p *PushData) UnmarshalBinary(b []byte) error {
	h, err := header(b, TypePushData, 12)
	if err != nil {
		return err
	}
	p.Version, p.Token = h.Version, h.Token
	copy(p.GatewayID[:], b[4:12])
	body := trimJSON(b[12:])
	if fast, ok := decodePushDataFast(body); ok {
		p.Payload = fast
		return nil
	}
	p.Payload = PushDataPayload{}
	if err := json.Unmarshal(body, &p.Payload); err != nil {
		return fmt.Errorf("push_data json: %w", err)
	}
	return nil
}

// AppendBinary appends the datagram to dst.
func (p PushData) AppendBinary(dst []byte) ([]byte, error) {
	dst = appendHeader(dst, p.Version, p.Token, TypePushData)
	dst = append(dst, p.GatewayID[:]...)
	out, err := appendPushDataJSON(dst, &p.Payload)
	if err != nil {
		return nil, fmt.Errorf("push_data json: %w", err)
	}
	return out, nil
}

// MarshalBinary encodes the datagram.
func (p PushData) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// Ack is PUSH_ACK or PULL_ACK: the header alone, echoing the token.
type Ack struct {
	Version uint8
	Token   uint16
	Type    Type // TypePushAck or TypePullAck
}

// UnmarshalBinary decodes a PUSH_ACK or PULL_ACK datagram.
func (a *Ack) UnmarshalBinary(b []byte) error {
	h, err := ParseHeader(b)
	if err != nil {
		return err
	}
	if h.Type != TypePushAck && h.Type != TypePullAck {
		return fmt.Errorf("%w: %s, want push_ack or pull_ack", ErrWrongType, h.Type)
	}
	*a = Ack(h)
	return nil
}

// AppendBinary appends the datagram to dst.
func (a Ack) AppendBinary(dst []byte) ([]byte, error) {
	if a.Type != TypePushAck && a.Type != TypePullAck {
		return nil, fmt.Errorf("%w: ack of type %s", ErrWrongType, a.Type)
	}
	return appendHeader(dst, a.Version, a.Token, a.Type), nil
}

// MarshalBinary encodes the datagram.
func (a Ack) MarshalBinary() ([]byte, error) { return a.AppendBinary(nil) }

// PullData is a gateway's keep-alive that opens the downlink path.
type PullData struct {
	Version   uint8
	Token     uint16
	GatewayID EUI64
}

// UnmarshalBinary decodes a PULL_DATA datagram.
func (p *PullData) UnmarshalBinary(b []byte) error {
	h, err := header(b, TypePullData, 12)
	if err != nil {
		return err
	}
	p.Version, p.Token = h.Version, h.Token
	copy(p.GatewayID[:], b[4:12])
	return nil
}

// AppendBinary appends the datagram to dst.
func (p PullData) AppendBinary(dst []byte) ([]byte, error) {
	dst = appendHeader(dst, p.Version, p.Token, TypePullData)
	return append(dst, p.GatewayID[:]...), nil
}

// MarshalBinary encodes the datagram.
func (p PullData) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// PullResp carries one downlink (txpk) to a gateway.
type PullResp struct {
	Version uint8
	Token   uint16
	Payload PullRespPayload
}

// PullRespPayload is the JSON object of PULL_RESP.
type PullRespPayload struct {
	TXPK TXPK `json:"txpk"`
}

// UnmarshalBinary decodes a PULL_RESP datagram.
func (p *PullResp) UnmarshalBinary(b []byte) error {
	h, err := header(b, TypePullResp, 5)
	if err != nil {
		return err
	}
	p.Version, p.Token = h.Version, h.Token
	p.Payload = PullRespPayload{}
	if err := json.Unmarshal(trimJSON(b[4:]), &p.Payload); err != nil {
		return fmt.Errorf("pull_resp json: %w", err)
	}
	return nil
}

// AppendBinary appends the datagram to dst.
func (p PullResp) AppendBinary(dst []byte) ([]byte, error) {
	dst = appendHeader(dst, p.Version, p.Token, TypePullResp)
	js, err := json.Marshal(p.Payload)
	if err != nil {
		return nil, fmt.Errorf("pull_resp json: %w", err)
	}
	return append(dst, js...), nil
}

// MarshalBinary encodes the datagram.
func (p PullResp) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// TxAck is a gateway's answer to PULL_RESP (protocol version 2 only).
type TxAck struct {
	Version   uint8
	Token     uint16
	GatewayID EUI64
	// Payload is nil when the gateway sent no JSON (which means success).
	Payload *TxAckPayload
}

// TxAckPayload is the JSON object of TX_ACK.
type TxAckPayload struct {
	TXPKACK TXPKACK `json:"txpk_ack"`
}

// TXPKACK reports the fate of a txpk. Error is "" or "NONE" on success;
// packet forwarder v1.6+ reports a power adjustment as Warn "TX_POWER" with
// the power used in Value, the packet is still emitted.
type TXPKACK struct {
	Error string `json:"error,omitempty"`
	Warn  string `json:"warn,omitempty"`
	Value *int32 `json:"value,omitempty"`
}

// TX_ACK error values of the packet forwarder (PROTOCOL.TXT, section 6).
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

// NewTxAck returns the TX_ACK a gateway sends for the PULL_RESP with token;
// outcome is one of the TxAck* values.
func NewTxAck(token uint16, gw EUI64, outcome string) TxAck {
	return TxAck{Version: Version2, Token: token, GatewayID: gw, Payload: &TxAckPayload{TXPKACK: TXPKACK{Error: outcome}}}
}

// Outcome is the acknowledgement's error value; no JSON or an empty error
// means TxAckNone (success).
func (a TxAck) Outcome() string {
	if a.Payload == nil || a.Payload.TXPKACK.Error == "" {
		return TxAckNone
	}
	return a.Payload.TXPKACK.Error
}

// ErrSize is returned by CheckSize when a packet's size field disagrees
// with its data.
var ErrSize = errors.New("gwmp: size does not match data")

// CheckSize checks the size field against the data; the packet forwarder
// refuses a txpk whose size and data differ.
func (t *TXPK) CheckSize() error {
	if int(t.Size) != len(t.Data) {
		return fmt.Errorf("%w: txpk size %d but %d data bytes", ErrSize, t.Size, len(t.Data))
	}
	return nil
}

// CheckSizes checks the size field of every rxpk against its data.
func (p *PushDataPayload) CheckSizes() error {
	for i := range p.RXPK {
		if r := &p.RXPK[i]; int(r.Size) != len(r.Data) {
			return fmt.Errorf("%w: rxpk %d size %d but %d data bytes", ErrSize, i, r.Size, len(r.Data))
		}
	}
	return nil
}

// UnmarshalBinary decodes a TX_ACK datagram.
func (a *TxAck) UnmarshalBinary(b []byte) error {
	h, err := header(b, TypeTxAck, 12)
	if err != nil {
		return err
	}
	a.Version, a.Token = h.Version, h.Token
	copy(a.GatewayID[:], b[4:12])
	a.Payload = nil
	body := trimJSON(b[12:])
	if len(body) == 0 {
		return nil
	}
	var p TxAckPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("tx_ack json: %w", err)
	}
	a.Payload = &p
	return nil
}

// AppendBinary appends the datagram to dst.
func (a TxAck) AppendBinary(dst []byte) ([]byte, error) {
	dst = appendHeader(dst, a.Version, a.Token, TypeTxAck)
	dst = append(dst, a.GatewayID[:]...)
	if a.Payload == nil {
		return dst, nil
	}
	js, err := json.Marshal(a.Payload)
	if err != nil {
		return nil, fmt.Errorf("tx_ack json: %w", err)
	}
	return append(dst, js...), nil
}

// MarshalBinary encodes the datagram.
func (a TxAck) MarshalBinary() ([]byte, error) { return a.AppendBinary(nil) }

// trimJSON drops the whitespace and NUL padding some forwarders send.
func trimJSON(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case 0, ' ', '\n', '\r', '\t':
			b = b[:len(b)-1]
			continue
		}
		break
	}
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}
