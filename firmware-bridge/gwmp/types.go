package gwmp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// RXPK is one received packet. Optional fields are pointers so that a value
// the gateway did not send is told apart from zero.
type RXPK struct {
	Time  *CompactTime `json:"time,omitempty"`  // UTC time of reception (GPS)
	Tmms  *int64       `json:"tmms,omitempty"`  // ms since GPS epoch
	Tmst  uint32       `json:"tmst"`            // concentrator counter, µs
	FTime *uint32      `json:"ftime,omitempty"` // fine timestamp, ns since last PPS
	Freq  float64      `json:"freq"`            // MHz
	Chan  uint8        `json:"chan"`
	RFCh  uint8        `json:"rfch"`
	Stat  int8         `json:"stat"` // 1 CRC ok, -1 CRC bad, 0 no CRC
	Modu  string       `json:"modu"` // LORA, FSK, LR-FHSS
	DatR  DatR         `json:"datr"`
	CodR  string       `json:"codr,omitempty"`
	RSSI  int16        `json:"rssi"`
	RSSIS *int16       `json:"rssis,omitempty"` // signal RSSI (sx1302)
	LSNR  *float64     `json:"lsnr,omitempty"`
	FOff  *int32       `json:"foff,omitempty"` // frequency offset, Hz (sx1302)
	Size  uint16       `json:"size"`
	Data  B64          `json:"data"`
	Brd   uint8        `json:"brd,omitempty"`
	Ant   uint8        `json:"ant,omitempty"`
	RSig  []RSig       `json:"rsig,omitempty"` // per-antenna signal (v2 multi-antenna gateways)
}

// RSig is the per-antenna signal of a multi-antenna gateway.
type RSig struct {
	Ant    uint8    `json:"ant"`
	Chan   uint8    `json:"chan"`
	RSSIC  int16    `json:"rssic"`
	RSSIS  *int16   `json:"rssis,omitempty"`
	LSNR   *float64 `json:"lsnr,omitempty"`
	ETime  B64      `json:"etime,omitempty"` // encrypted fine timestamp
	FOff   *int32   `json:"foff,omitempty"`
	FTStat *uint8   `json:"ftstat,omitempty"`
}

// Stat is the gateway status report.
type Stat struct {
	Time StatTime `json:"time"`
	Lati *float64 `json:"lati,omitempty"`
	Long *float64 `json:"long,omitempty"`
	Alti *int32   `json:"alti,omitempty"`
	RXNb uint32   `json:"rxnb"`
	RXOK uint32   `json:"rxok"`
	RXFW uint32   `json:"rxfw"`
	ACKR *float64 `json:"ackr,omitempty"`
	DWNb uint32   `json:"dwnb"`
	TXNb uint32   `json:"txnb"`
	Temp *float64 `json:"temp,omitempty"`
}

// TXPK is one packet to transmit.
type TXPK struct {
	Imme bool    `json:"imme,omitempty"`
	Tmst *uint32 `json:"tmst,omitempty"`
	Tmms *int64  `json:"tmms,omitempty"`
	Freq float64 `json:"freq"`
	RFCh uint8   `json:"rfch"`
	Powe int16   `json:"powe"`
	Modu string  `json:"modu"`
	DatR DatR    `json:"datr"`
	CodR string  `json:"codr,omitempty"`
	FDev uint32  `json:"fdev,omitempty"`
	IPol bool    `json:"ipol"`
	Prea uint16  `json:"prea,omitempty"`
	Size uint16  `json:"size"`
	Data B64     `json:"data"`
	NCRC bool    `json:"ncrc,omitempty"`
	Brd  uint8   `json:"brd,omitempty"`
	Ant  uint8   `json:"ant,omitempty"`
}

// plainString returns the contents of a JSON string token without
// escapes; ok is false when encoding/json must unquote it.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' || bytes.IndexByte(b, '\\') >= 0 {
		return "", false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < 0x20 || c >= 0x80 || c == '"' {
			return "", false
		}
	}
	return string(b[1 : len(b)-1]), true
}

// DatR is the data rate: a string such as "SF7BW125" for LoRa and LR-FHSS
// ("M0CW137"), a number of bits/s for FSK.
type DatR struct {
	LoRa string
	FSK  uint32
}

// MarshalJSON implements json.Marshaler.
func (d DatR) MarshalJSON() ([]byte, error) {
	if d.LoRa != "" {
		return json.Marshal(d.LoRa)
	}
	return strconv.AppendUint(nil, uint64(d.FSK), 10), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *DatR) UnmarshalJSON(b []byte) error {
	*d = DatR{}
	if len(b) > 0 && b[0] == '"' {
		if s, ok := plainString(b); ok {
			d.LoRa = s
		} else if err := json.Unmarshal(b, &d.LoRa); err != nil {
			return err
		}
		if d.LoRa == "" {
			return errors.New("datr: empty string")
		}
		return nil
	}
	v, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f < 0 || f > 4e9 {
			return fmt.Errorf("datr %q: want a LoRa string or an FSK bit rate", b)
		}
		v = uint64(f)
	}
	d.FSK = uint32(v)
	return nil
}

// B64 is binary data in base64; decoding accepts padded and unpadded input
// (forwarders differ).
type B64 []byte

// MarshalJSON implements json.Marshaler.
func (b B64) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, base64.StdEncoding.EncodedLen(len(b))+2)
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, b)
	return append(out, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (b *B64) UnmarshalJSON(in []byte) error {
	if bytes.Equal(in, []byte("null")) {
		*b = nil
		return nil
	}
	if len(in) < 2 || in[0] != '"' || in[len(in)-1] != '"' {
		return errors.New("base64 data: want a JSON string")
	}
	s := in[1 : len(in)-1]
	if bytes.IndexByte(s, '\\') >= 0 { // escaped, e.g. "\/": unquote first
		var u string
		if err := json.Unmarshal(in, &u); err != nil {
			return err
		}
		s = []byte(u)
	}
	s = bytes.TrimRight(s, "=")
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(s)))
	n, err := base64.RawStdEncoding.Decode(out, s)
	if err != nil {
		return fmt.Errorf("base64 data: %w", err)
	}
	*b = out[:n]
	return nil
}

// CompactTime is the ISO 8601 UTC time of rxpk ("2013-03-31T16:21:17.528002Z").
type CompactTime time.Time

// MarshalJSON implements json.Marshaler.
func (t CompactTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format(time.RFC3339Nano))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *CompactTime) UnmarshalJSON(b []byte) error {
	s, ok := plainString(b)
	if !ok {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("rxpk time: %w", err)
	}
	*t = CompactTime(v.UTC())
	return nil
}

// StatTime is the time of a stat report ("2014-01-12 08:59:28 GMT").
type StatTime time.Time

const statLayout = "2006-01-02 15:04:05 MST"

// MarshalJSON implements json.Marshaler.
func (t StatTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format("2006-01-02 15:04:05") + " GMT")
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *StatTime) UnmarshalJSON(b []byte) error {
	s, ok := plainString(b)
	if !ok {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	for _, layout := range []string{statLayout, time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if v, err := time.Parse(layout, s); err == nil {
			*t = StatTime(v.UTC())
			return nil
		}
	}
	return fmt.Errorf("stat time %q: want \"2006-01-02 15:04:05 GMT\"", s)
}
