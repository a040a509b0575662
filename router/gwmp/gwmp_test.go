package gwmp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPushDataRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rxpk []RXPK
		stat *Stat
	}{
		{"one uplink", []RXPK{{Time: "2026-11-22T00:00:00.123456Z", Tmst: 4294967295, Chan: 2, RFCh: 1, FrequencyHz: 868_100_000, Stat: 1, DataRate: "SF7BW125", CodingRate: "4/5", RSSI: -120, SNRcB: -75, Data: []byte{0x40, 1, 2, 3, 4, 0, 0, 0, 1, 2, 3, 4}}}, nil},
		{"two uplinks and stat", []RXPK{
			{Tmst: 1, FrequencyHz: 902_300_000, Stat: 1, DataRate: "SF10BW125", CodingRate: "4/5", RSSI: -30, SNRcB: 95, Data: []byte{1}},
			{Tmst: 2, FrequencyHz: 923_300_001, Stat: 1, DataRate: "SF12BW500", CodingRate: "4/6", RSSI: 0, SNRcB: 0, Data: make([]byte, 255)},
		}, &Stat{Time: "2026-11-22 00:00:00 UTC", RXNb: 3, RXOK: 2, RXFW: 2, ACKR: 100, DWNb: 1, TXNb: 1}},
		{"stat only", nil, &Stat{Time: "2026-11-22 00:00:00 UTC"}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendPushData(nil, 0xabcd, 0x0102030405060708, tt.rxpk, tt.stat)
			p, err := ParsePushData(b)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, b[12:])
			}
			want := PushDataPacket{Token: 0xabcd, EUI: 0x0102030405060708, RXPK: tt.rxpk, Stat: tt.stat}
			if diff := cmp.Diff(want, p); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPullRespRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		txpk TXPK
	}{
		{"rx1", TXPK{Tmst: 1_000_000, FrequencyHz: 868_100_000, PowerDBm: 14, Modulation: "LORA", DataRate: "SF7BW125", CodingRate: "4/5", IPol: true, Data: []byte{0x60, 1, 2, 3}}},
		{"immediate", TXPK{Immediate: true, FrequencyHz: 869_525_000, PowerDBm: 27, Modulation: "LORA", DataRate: "SF12BW125", CodingRate: "4/5", IPol: true, Data: []byte{0x20}}},
		{"wrapping tmst", TXPK{Tmst: 4294967295, FrequencyHz: 923_300_000, PowerDBm: 20, Modulation: "LORA", DataRate: "SF12BW500", CodingRate: "4/5", IPol: true, Data: []byte{1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendPullResp(nil, 7, tt.txpk)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePullResp(b)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, b[4:])
			}
			if diff := cmp.Diff(PullRespPacket{Token: 7, TXPK: tt.txpk}, p); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePullRespRefuses(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"gps time", `{"txpk":{"tmms":123,"freq":868.1,"powe":14,"modu":"LORA","datr":"SF7BW125","size":1,"data":"AQ=="}}`},
		{"no time", `{"txpk":{"freq":868.1,"powe":14,"modu":"LORA","datr":"SF7BW125","size":1,"data":"AQ=="}}`},
		{"size mismatch", `{"txpk":{"imme":true,"freq":868.1,"modu":"LORA","datr":"SF7BW125","size":2,"data":"AQ=="}}`},
		{"no txpk", `{}`},
		{"bad json", `{"txpk":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append([]byte{2, 0, 1, byte(PullResp)}, tt.body...)
			if _, err := ParsePullResp(b); err == nil {
				t.Fatal("parsed, want an error")
			}
		})
	}
}

func TestTxAckAndPullDataRoundTrip(t *testing.T) {
	b := AppendTxAck(nil, 9, 42, TxAckTooLate)
	p, err := ParseTxAck(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(TxAckPacket{Token: 9, EUI: 42, Error: TxAckTooLate}, p); diff != "" {
		t.Fatal(diff)
	}
	tok, eui, err := ParsePullData(AppendPullData(nil, 11, 43))
	if err != nil || tok != 11 || eui != 43 {
		t.Fatalf("pull data = %d %d %v", tok, eui, err)
	}
	h, err := ParseHeader(AppendAck(nil, 12, PullAck))
	if err != nil || h.Type != PullAck || h.Token != 12 {
		t.Fatalf("ack header = %+v %v", h, err)
	}
	if _, err := ParseHeader([]byte{3, 0, 0, 0}); err == nil {
		t.Fatal("version 3 accepted")
	}
}

// FuzzParse feeds arbitrary datagrams from the LNS side to every decoder.
func FuzzParse(f *testing.F) {
	b, _ := AppendPullResp(nil, 1, TXPK{Tmst: 5, FrequencyHz: 868_100_000, DataRate: "SF7BW125", Modulation: "LORA", Data: []byte{1}})
	f.Add(b)
	f.Add(AppendAck(nil, 1, PushAck))
	f.Add(AppendTxAck(nil, 1, 1, TxAckNone))
	f.Add(AppendPushData(nil, 1, 1, []RXPK{{Data: []byte{1}, DataRate: "SF7BW125"}}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParsePullResp(b); err == nil {
			out, err := AppendPullResp(nil, p.Token, p.TXPK)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParsePullResp(out); err != nil {
				t.Fatalf("re-encoded PULL_RESP does not parse: %v", err)
			}
		}
		_, _ = ParsePushData(b)
		_, _ = ParseTxAck(b)
		_, _, _ = ParsePullData(b)
	})
}

// FuzzPushData checks that whatever a hotspot reports, the PUSH_DATA the
// router writes is valid JSON the LNS can parse, with the same values.
func FuzzPushData(f *testing.F) {
	f.Add("SF7BW125", []byte{0x40, 1}, uint32(1), int32(-120), int32(-75), uint64(868_100_000))
	f.Add("SF\"12\\BW\x00\xff", []byte{}, uint32(0), int32(0), int32(1), uint64(0))
	f.Fuzz(func(t *testing.T, datr string, data []byte, tmst uint32, rssi, snr int32, hz uint64) {
		hz %= 9_000_000_000
		rx := RXPK{Tmst: tmst, FrequencyHz: hz, DataRate: datr, CodingRate: "4/5", RSSI: rssi, SNRcB: snr, Data: data, Stat: 1}
		p, err := ParsePushData(AppendPushData(nil, 1, 2, []RXPK{rx}, nil))
		if err != nil {
			t.Fatalf("router wrote a PUSH_DATA the LNS can't parse: %v", err)
		}
		got := p.RXPK[0]
		if got.Tmst != tmst || got.FrequencyHz != hz || got.RSSI != rssi || got.SNRcB != snr || string(got.Data) != string(data) {
			t.Fatalf("round trip: got %+v, want %+v", got, rx)
		}
		ascii := true
		for i := 0; i < len(datr); i++ {
			ascii = ascii && datr[i] < 0x7f
		}
		if ascii && got.DataRate != datr {
			t.Fatalf("datarate %q came back as %q", datr, got.DataRate)
		}
	})
}
