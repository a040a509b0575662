package gwmp

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
	"unicode/utf8"
)

// checkEncoderMatchesJSON fails unless the hand-written PUSH_DATA encoder
// writes exactly what encoding/json writes for p (or both refuse it).
func checkEncoderMatchesJSON(t *testing.T, p *PushDataPayload) {
	t.Helper()
	want, jerr := json.Marshal(p)
	got, err := appendPushDataJSON(nil, p)
	if (err != nil) != (jerr != nil) {
		t.Fatalf("encoder error %v, encoding/json error %v", err, jerr)
	}
	if err == nil && !bytes.Equal(got, want) {
		t.Fatalf("encoder wrote\n%s\nencoding/json wrote\n%s", got, want)
	}
}

func TestEncodePushDataMatchesJSON(t *testing.T) {
	rxTime := CompactTime(time.Date(2026, 11, 22, 1, 2, 3, 528002000, time.UTC))
	full := RXPK{Time: &rxTime, Tmms: ptr(int64(-5)), Tmst: math.MaxUint32, FTime: ptr(uint32(7)), Freq: 868.1, Chan: 7, RFCh: 1,
		Stat: -1, Modu: "LORA", DatR: DatR{LoRa: "SF7BW125"}, CodR: "4/5", RSSI: -120, RSSIS: ptr(int16(-121)), LSNR: ptr(-7.5),
		FOff: ptr(int32(-125)), Size: 3, Data: B64{1, 2, 3}, Brd: 1, Ant: 2,
		RSig: []RSig{{Ant: 1, Chan: 2, RSSIC: -70, RSSIS: ptr(int16(-71)), LSNR: ptr(9.25), ETime: B64{9}, FOff: ptr(int32(3)), FTStat: ptr(uint8(1))}, {}}}
	tests := []struct {
		name string
		in   PushDataPayload
	}{
		{"empty", PushDataPayload{}},
		{"full rxpk", PushDataPayload{RXPK: []RXPK{full}}},
		{"zero rxpk", PushDataPayload{RXPK: []RXPK{{}}}},
		{"fsk", PushDataPayload{RXPK: []RXPK{{Modu: "FSK", DatR: DatR{FSK: 50000}, Data: B64{}}}}},
		{"tiny and huge floats", PushDataPayload{RXPK: []RXPK{{Freq: 1e-7, LSNR: ptr(-1e21)}, {Freq: 123456789e15, LSNR: ptr(0.000001)}}}},
		{"escaped strings", PushDataPayload{RXPK: []RXPK{{Modu: "<&>\b\f\r\t\x1f\x7f", DatR: DatR{LoRa: "SF\"7\\\x00\xff\u2028\u2029é\xe2\x80"}, CodR: "4/5\n"}}}},
		{"stat", PushDataPayload{Stat: &Stat{Time: StatTime(time.Date(2014, 1, 12, 8, 59, 28, 0, time.UTC)), Lati: ptr(46.24), Long: ptr(-3.2523),
			Alti: ptr(int32(-145)), RXNb: 2, RXOK: 1, RXFW: 1, ACKR: ptr(100.0), DWNb: 4, TXNb: 3, Temp: ptr(31.5)}}},
		{"rxpk and stat", PushDataPayload{RXPK: []RXPK{full, full}, Stat: &Stat{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkEncoderMatchesJSON(t, &tt.in) })
	}
}

func TestEncodePushDataRefusesNonFinite(t *testing.T) {
	for _, p := range []PushDataPayload{
		{RXPK: []RXPK{{Freq: math.NaN()}}},
		{RXPK: []RXPK{{LSNR: ptr(math.Inf(1))}}},
		{RXPK: []RXPK{{RSig: []RSig{{LSNR: ptr(math.Inf(-1))}}}}},
		{Stat: &Stat{Temp: ptr(math.NaN())}},
	} {
		_, err := PushData{Payload: p}.MarshalBinary()
		if !errors.Is(err, errNonFinite) {
			t.Errorf("%+v: err = %v, want a non-finite number error", p, err)
		}
	}
}

// Whatever PUSH_DATA the decoder accepts, the hand-written encoder writes
// it exactly as encoding/json does.
func FuzzEncodePushDataMatchesJSON(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var p PushData
		if p.UnmarshalBinary(b) != nil {
			return
		}
		checkEncoderMatchesJSON(t, &p.Payload)
	})
}

// FuzzEncodeRXPK checks that whatever a hotspot reports, the PUSH_DATA
// written is one a network server parses back to the same values.
func FuzzEncodeRXPK(f *testing.F) {
	f.Add("SF7BW125", []byte{0x40, 1}, uint32(1), int16(-120), -7.5, 868.1)
	f.Add("SF\"12\\BW\x00\xff", []byte{}, uint32(0), int16(0), 0.1, 0.0)
	f.Fuzz(func(t *testing.T, datr string, data []byte, tmst uint32, rssi int16, snr, freq float64) {
		in := PushData{Token: 1, GatewayID: gwID, Payload: PushDataPayload{RXPK: []RXPK{{Tmst: tmst, Freq: freq, Stat: 1,
			Modu: "LORA", DatR: DatR{LoRa: datr}, RSSI: rssi, LSNR: &snr, Size: uint16(len(data)), Data: data}}}}
		b, err := in.MarshalBinary()
		if err != nil {
			if math.IsNaN(snr) || math.IsInf(snr, 0) || math.IsNaN(freq) || math.IsInf(freq, 0) {
				return
			}
			t.Fatal(err)
		}
		var out PushData
		if err := out.UnmarshalBinary(b); err != nil {
			if datr == "" {
				return // an empty data rate is refused by the decoder
			}
			t.Fatalf("encoded PUSH_DATA does not decode: %v\n%q", err, b)
		}
		got := out.Payload.RXPK[0]
		if got.Tmst != tmst || got.Freq != freq || got.RSSI != rssi || *got.LSNR != snr || !bytes.Equal(got.Data, data) {
			t.Fatalf("round trip: got %+v, want %+v", got, in.Payload.RXPK[0])
		}
		if utf8.ValidString(datr) && got.DatR.LoRa != datr {
			t.Fatalf("data rate %q came back as %q", datr, got.DatR.LoRa)
		}
	})
}

// Any string, valid UTF-8 or not, is written as encoding/json writes it.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"SF7BW125", "<&>\b\f\u2028\u2029", "\xff\xe2\x80", "a\"b\\c\x00\x1f\x7f", "é€𝄞"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}
