package gwmp

import (
	"bytes"
	"strconv"
)

// The PUSH_DATA payload is decoded by a hand-written parser for the shape
// packet forwarders send, because encoding/json's reflection was most of
// the bridge's CPU per uplink. Anything unusual (escapes, non-ASCII, null,
// keys that only differ in case, rsig, duplicates of rxpk/stat, any error)
// makes it give up, and encoding/json decodes the datagram instead, so the
// two can never disagree; FuzzPushDataFastMatchesJSON checks that.

type lexer struct {
	b []byte
	i int
}

func (l *lexer) ws() {
	for l.i < len(l.b) {
		switch l.b[l.i] {
		case ' ', '\t', '\n', '\r':
			l.i++
		default:
			return
		}
	}
}

func (l *lexer) peek() byte {
	l.ws()
	if l.i < len(l.b) {
		return l.b[l.i]
	}
	return 0
}

func (l *lexer) eat(c byte) bool {
	if l.peek() == c {
		l.i++
		return true
	}
	return false
}

// str returns a string token with its quotes; plain ASCII, no escapes.
func (l *lexer) str() ([]byte, bool) {
	if l.peek() != '"' {
		return nil, false
	}
	start := l.i
	for j := l.i + 1; j < len(l.b); j++ {
		c := l.b[j]
		switch {
		case c == '"':
			l.i = j + 1
			return l.b[start:l.i], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// num returns a number token that follows the JSON grammar.
func (l *lexer) num() ([]byte, bool) {
	l.ws()
	b, j := l.b, l.i
	start := j
	if j < len(b) && b[j] == '-' {
		j++
	}
	digits := func() int {
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j - k
	}
	if j < len(b) && b[j] == '0' {
		j++
	} else if digits() == 0 {
		return nil, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if digits() == 0 {
			return nil, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	l.i = j
	return b[start:j], true
}

// skip consumes any value (no null allowed: see above).
func (l *lexer) skip(depth int) bool {
	if depth > 32 {
		return false
	}
	switch l.peek() {
	case '"':
		_, ok := l.str()
		return ok
	case '{':
		return l.object(func(k []byte) bool { return l.skip(depth + 1) })
	case '[':
		return l.array(func() bool { return l.skip(depth + 1) })
	case 't':
		return l.lit("true")
	case 'f':
		return l.lit("false")
	default:
		_, ok := l.num()
		return ok
	}
}

func (l *lexer) lit(s string) bool {
	if bytes.HasPrefix(l.b[l.i:], []byte(s)) {
		l.i += len(s)
		return true
	}
	return false
}

func (l *lexer) object(field func(key []byte) bool) bool {
	if !l.eat('{') {
		return false
	}
	if l.eat('}') {
		return true
	}
	for {
		k, ok := l.str()
		if !ok || !l.eat(':') || !field(k[1:len(k)-1]) {
			return false
		}
		if l.eat(',') {
			continue
		}
		return l.eat('}')
	}
}

func (l *lexer) array(elem func() bool) bool {
	if !l.eat('[') {
		return false
	}
	if l.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if l.eat(',') {
			continue
		}
		return l.eat(']')
	}
}

func (l *lexer) int(bits int) (int64, bool) {
	t, ok := l.num()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(string(t), 10, bits)
	return v, err == nil
}

func (l *lexer) uint(bits int) (uint64, bool) {
	t, ok := l.num()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(string(t), 10, bits)
	return v, err == nil
}

func (l *lexer) float() (float64, bool) {
	t, ok := l.num()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(t), 64)
	return v, err == nil
}

// known reports whether key differs from a known key only in case
// (encoding/json would match it; we leave such input to encoding/json).
func caseVariant(key []byte, known []string) bool {
	for _, k := range known {
		if bytes.EqualFold(key, []byte(k)) {
			return true
		}
	}
	return false
}

var rxpkKeys = []string{"time", "tmms", "tmst", "ftime", "freq", "chan", "rfch", "stat", "modu", "datr", "codr", "rssi", "rssis", "lsnr", "foff", "size", "data", "brd", "ant", "rsig"}
var statKeys = []string{"time", "lati", "long", "alti", "rxnb", "rxok", "rxfw", "ackr", "dwnb", "txnb", "temp"}

func (l *lexer) rxpk(rx *RXPK) bool {
	return l.object(func(k []byte) bool {
		var ok bool
		switch string(k) {
		case "time":
			t, sok := l.str()
			if !sok {
				return false
			}
			rx.Time = new(CompactTime)
			return rx.Time.UnmarshalJSON(t) == nil
		case "tmms":
			var v int64
			v, ok = l.int(64)
			rx.Tmms = &v
		case "tmst":
			var v uint64
			v, ok = l.uint(32)
			rx.Tmst = uint32(v)
		case "ftime":
			var v uint64
			v, ok = l.uint(32)
			u := uint32(v)
			rx.FTime = &u
		case "freq":
			rx.Freq, ok = l.float()
		case "chan":
			var v uint64
			v, ok = l.uint(8)
			rx.Chan = uint8(v)
		case "rfch":
			var v uint64
			v, ok = l.uint(8)
			rx.RFCh = uint8(v)
		case "stat":
			var v int64
			v, ok = l.int(8)
			rx.Stat = int8(v)
		case "modu":
			var s []byte
			s, ok = l.str()
			if ok {
				rx.Modu = string(s[1 : len(s)-1])
			}
		case "datr":
			var t []byte
			if l.peek() == '"' {
				t, ok = l.str()
			} else {
				t, ok = l.num()
			}
			return ok && rx.DatR.UnmarshalJSON(t) == nil
		case "codr":
			var s []byte
			s, ok = l.str()
			if ok {
				rx.CodR = string(s[1 : len(s)-1])
			}
		case "rssi":
			var v int64
			v, ok = l.int(16)
			rx.RSSI = int16(v)
		case "rssis":
			var v int64
			v, ok = l.int(16)
			s := int16(v)
			rx.RSSIS = &s
		case "lsnr":
			var v float64
			v, ok = l.float()
			rx.LSNR = &v
		case "foff":
			var v int64
			v, ok = l.int(32)
			f := int32(v)
			rx.FOff = &f
		case "size":
			var v uint64
			v, ok = l.uint(16)
			rx.Size = uint16(v)
		case "data":
			t, sok := l.str()
			return sok && rx.Data.UnmarshalJSON(t) == nil
		case "brd":
			var v uint64
			v, ok = l.uint(8)
			rx.Brd = uint8(v)
		case "ant":
			var v uint64
			v, ok = l.uint(8)
			rx.Ant = uint8(v)
		default:
			if caseVariant(k, rxpkKeys) {
				return false // includes "rsig": left to encoding/json
			}
			return l.skip(0)
		}
		return ok
	})
}

func (l *lexer) stat(st *Stat) bool {
	return l.object(func(k []byte) bool {
		var ok bool
		switch string(k) {
		case "time":
			t, sok := l.str()
			return sok && st.Time.UnmarshalJSON(t) == nil
		case "lati":
			var v float64
			v, ok = l.float()
			st.Lati = &v
		case "long":
			var v float64
			v, ok = l.float()
			st.Long = &v
		case "alti":
			var v int64
			v, ok = l.int(32)
			a := int32(v)
			st.Alti = &a
		case "rxnb", "rxok", "rxfw", "dwnb", "txnb":
			var v uint64
			v, ok = l.uint(32)
			switch string(k) {
			case "rxnb":
				st.RXNb = uint32(v)
			case "rxok":
				st.RXOK = uint32(v)
			case "rxfw":
				st.RXFW = uint32(v)
			case "dwnb":
				st.DWNb = uint32(v)
			case "txnb":
				st.TXNb = uint32(v)
			}
		case "ackr":
			var v float64
			v, ok = l.float()
			st.ACKR = &v
		case "temp":
			var v float64
			v, ok = l.float()
			st.Temp = &v
		default:
			if caseVariant(k, statKeys) {
				return false
			}
			return l.skip(0)
		}
		return ok
	})
}

// decodePushDataFast decodes the PUSH_DATA JSON, or reports false when
// encoding/json must do it.
func decodePushDataFast(b []byte) (PushDataPayload, bool) {
	var p PushDataPayload
	l := lexer{b: b}
	seenRX, seenStat := false, false
	ok := l.object(func(k []byte) bool {
		switch string(k) {
		case "rxpk":
			if seenRX {
				return false
			}
			seenRX = true
			return l.array(func() bool {
				p.RXPK = append(p.RXPK, RXPK{})
				return l.rxpk(&p.RXPK[len(p.RXPK)-1])
			})
		case "stat":
			if seenStat {
				return false
			}
			seenStat = true
			p.Stat = &Stat{}
			return l.stat(p.Stat)
		}
		if bytes.EqualFold(k, []byte("rxpk")) || bytes.EqualFold(k, []byte("stat")) {
			return false
		}
		return l.skip(0)
	})
	l.ws()
	if !ok || l.i != len(l.b) {
		return PushDataPayload{}, false
	}
	return p, true
}
