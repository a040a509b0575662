package gwmp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// The PUSH_DATA JSON is written by hand: it is the router's hot path (one
// datagram per purchased uplink) and encoding/json's reflection costs more
// than the rest of that path. The output is byte for byte what
// encoding/json writes for the same value (FuzzEncodePushDataMatchesJSON),
// so both are interchangeable for every reader.

var errNonFinite = errors.New("NaN or infinite number")

// appendPushDataJSON appends the JSON object of p.
func appendPushDataJSON(b []byte, p *PushDataPayload) ([]byte, error) {
	var err error
	b = append(b, '{')
	if len(p.RXPK) > 0 {
		b = append(b, `"rxpk":[`...)
		for i := range p.RXPK {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendRXPK(b, &p.RXPK[i]); err != nil {
				return nil, fmt.Errorf("rxpk %d: %w", i, err)
			}
		}
		b = append(b, ']')
	}
	if p.Stat != nil {
		if len(p.RXPK) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"stat":`...)
		if b, err = appendStat(b, p.Stat); err != nil {
			return nil, fmt.Errorf("stat: %w", err)
		}
	}
	return append(b, '}'), nil
}

func appendRXPK(b []byte, r *RXPK) ([]byte, error) {
	var err error
	b = append(b, '{')
	if r.Time != nil {
		b = append(b, `"time":`...)
		b = append(b, '"')
		b = time.Time(*r.Time).UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"', ',')
	}
	if r.Tmms != nil {
		b = append(b, `"tmms":`...)
		b = strconv.AppendInt(b, *r.Tmms, 10)
		b = append(b, ',')
	}
	b = append(b, `"tmst":`...)
	b = strconv.AppendUint(b, uint64(r.Tmst), 10)
	if r.FTime != nil {
		b = append(b, `,"ftime":`...)
		b = strconv.AppendUint(b, uint64(*r.FTime), 10)
	}
	b = append(b, `,"freq":`...)
	if b, err = appendFloat(b, r.Freq); err != nil {
		return nil, err
	}
	b = append(b, `,"chan":`...)
	b = strconv.AppendUint(b, uint64(r.Chan), 10)
	b = append(b, `,"rfch":`...)
	b = strconv.AppendUint(b, uint64(r.RFCh), 10)
	b = append(b, `,"stat":`...)
	b = strconv.AppendInt(b, int64(r.Stat), 10)
	b = append(b, `,"modu":`...)
	b = appendString(b, r.Modu)
	b = append(b, `,"datr":`...)
	b = appendDatR(b, r.DatR)
	if r.CodR != "" {
		b = append(b, `,"codr":`...)
		b = appendString(b, r.CodR)
	}
	b = append(b, `,"rssi":`...)
	b = strconv.AppendInt(b, int64(r.RSSI), 10)
	if r.RSSIS != nil {
		b = append(b, `,"rssis":`...)
		b = strconv.AppendInt(b, int64(*r.RSSIS), 10)
	}
	if r.LSNR != nil {
		b = append(b, `,"lsnr":`...)
		if b, err = appendFloat(b, *r.LSNR); err != nil {
			return nil, err
		}
	}
	if r.FOff != nil {
		b = append(b, `,"foff":`...)
		b = strconv.AppendInt(b, int64(*r.FOff), 10)
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendUint(b, uint64(r.Size), 10)
	b = append(b, `,"data":`...)
	b = appendB64(b, r.Data)
	if r.Brd != 0 {
		b = append(b, `,"brd":`...)
		b = strconv.AppendUint(b, uint64(r.Brd), 10)
	}
	if r.Ant != 0 {
		b = append(b, `,"ant":`...)
		b = strconv.AppendUint(b, uint64(r.Ant), 10)
	}
	if len(r.RSig) > 0 {
		b = append(b, `,"rsig":[`...)
		for i := range r.RSig {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendRSig(b, &r.RSig[i]); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func appendRSig(b []byte, s *RSig) ([]byte, error) {
	var err error
	b = append(b, `{"ant":`...)
	b = strconv.AppendUint(b, uint64(s.Ant), 10)
	b = append(b, `,"chan":`...)
	b = strconv.AppendUint(b, uint64(s.Chan), 10)
	b = append(b, `,"rssic":`...)
	b = strconv.AppendInt(b, int64(s.RSSIC), 10)
	if s.RSSIS != nil {
		b = append(b, `,"rssis":`...)
		b = strconv.AppendInt(b, int64(*s.RSSIS), 10)
	}
	if s.LSNR != nil {
		b = append(b, `,"lsnr":`...)
		if b, err = appendFloat(b, *s.LSNR); err != nil {
			return nil, err
		}
	}
	if len(s.ETime) > 0 {
		b = append(b, `,"etime":`...)
		b = appendB64(b, s.ETime)
	}
	if s.FOff != nil {
		b = append(b, `,"foff":`...)
		b = strconv.AppendInt(b, int64(*s.FOff), 10)
	}
	if s.FTStat != nil {
		b = append(b, `,"ftstat":`...)
		b = strconv.AppendUint(b, uint64(*s.FTStat), 10)
	}
	return append(b, '}'), nil
}

func appendStat(b []byte, s *Stat) ([]byte, error) {
	var err error
	b = append(b, `{"time":`...)
	b = appendString(b, time.Time(s.Time).UTC().Format("2006-01-02 15:04:05")+" GMT")
	for _, f := range [...]struct {
		key string
		v   *float64
	}{{`,"lati":`, s.Lati}, {`,"long":`, s.Long}} {
		if f.v != nil {
			b = append(b, f.key...)
			if b, err = appendFloat(b, *f.v); err != nil {
				return nil, err
			}
		}
	}
	if s.Alti != nil {
		b = append(b, `,"alti":`...)
		b = strconv.AppendInt(b, int64(*s.Alti), 10)
	}
	b = append(b, `,"rxnb":`...)
	b = strconv.AppendUint(b, uint64(s.RXNb), 10)
	b = append(b, `,"rxok":`...)
	b = strconv.AppendUint(b, uint64(s.RXOK), 10)
	b = append(b, `,"rxfw":`...)
	b = strconv.AppendUint(b, uint64(s.RXFW), 10)
	if s.ACKR != nil {
		b = append(b, `,"ackr":`...)
		if b, err = appendFloat(b, *s.ACKR); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"dwnb":`...)
	b = strconv.AppendUint(b, uint64(s.DWNb), 10)
	b = append(b, `,"txnb":`...)
	b = strconv.AppendUint(b, uint64(s.TXNb), 10)
	if s.Temp != nil {
		b = append(b, `,"temp":`...)
		if b, err = appendFloat(b, *s.Temp); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendFloat writes f as encoding/json does.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, errNonFinite
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // "1e-07" -> "1e-7", as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

func appendDatR(b []byte, d DatR) []byte {
	if d.LoRa != "" {
		return appendString(b, d.LoRa)
	}
	return strconv.AppendUint(b, uint64(d.FSK), 10)
}

func appendB64(b []byte, data []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}

// appendString writes s as a JSON string with encoding/json's escapes
// (HTML characters, U+2028/U+2029, invalid UTF-8 as U+FFFD). It does not
// call encoding/json: that would make every string, and with it the
// RXPK's pointer fields, escape to the heap on the router's hot path.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
