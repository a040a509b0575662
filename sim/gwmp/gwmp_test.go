package gwmp

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var eui = EUI{0xaa, 0x55, 0x5a, 0x00, 0x00, 0x00, 0x01, 0x01}

func u32(v uint32) *uint32 { return &v }

func TestWireBytes(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want []byte
	}{
		{"push_ack", Packet{Version: 2, Token: 0x1234, Type: PushAck}, []byte{2, 0x12, 0x34, 1}},
		{"pull_ack", Packet{Version: 2, Token: 0xbeef, Type: PullAck}, []byte{2, 0xbe, 0xef, 4}},
		{"pull_data", Packet{Version: 2, Token: 1, Type: PullData, EUI: eui}, []byte{2, 0, 1, 2, 0xaa, 0x55, 0x5a, 0, 0, 0, 1, 1}},
		{"push_data", Packet{Version: 2, Token: 2, Type: PushData, EUI: eui, JSON: []byte(`{}`)},
			[]byte{2, 0, 2, 0, 0xaa, 0x55, 0x5a, 0, 0, 0, 1, 1, '{', '}'}},
		{"pull_resp v1", Packet{Version: 1, Token: 0, Type: PullResp, JSON: []byte(`{}`)}, []byte{1, 0, 0, 3, '{', '}'}},
		{"tx_ack empty", Packet{Version: 2, Token: 9, Type: TxAck, EUI: eui}, []byte{2, 0, 9, 5, 0xaa, 0x55, 0x5a, 0, 0, 0, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Marshal(); !bytes.Equal(got, tc.want) {
				t.Fatalf("marshal % x, want % x", got, tc.want)
			}
			back, err := Unmarshal(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.p, back); diff != "" {
				t.Fatalf("unmarshal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"3 bytes", []byte{2, 0, 0}, ErrShort},
		{"version 3", []byte{3, 0, 0, 1}, ErrVersion},
		{"type 9", []byte{2, 0, 0, 9}, ErrType},
		{"pull_data no eui", []byte{2, 0, 0, 2, 1, 2, 3}, ErrShort},
		{"push_data no json", []byte{2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, ErrShort},
		{"pull_resp no json", []byte{2, 0, 0, 3}, ErrShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Unmarshal(tc.b); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPushDataRoundTrip(t *testing.T) {
	in := PushDataPayload{
		RXPK: []RXPK{{Tmst: 3512348611, Chan: 2, RFCh: 0, Freq: 866.349812, Stat: 1, Modu: "LORA", DatR: DataRate{LoRa: "SF7BW125"},
			CodR: "4/6", RSSI: -35, LSNR: 5.1, Size: 3, Data: []byte{1, 2, 3}}},
		Stat: &Stat{Time: "2014-01-12 08:59:28 GMT", RXNb: 2, RXOK: 2, RXFW: 2, ACKR: 100},
	}
	p, err := NewPushData(7, eui, in)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Unmarshal(p.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodePushData(q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Fatal(diff)
	}
}

// The example of Semtech's PROTOCOL.TXT (rxpk with an FSK datr number).
func TestPushDataSemtechExample(t *testing.T) {
	js := `{"rxpk":[{"time":"2013-03-31T16:21:17.528002Z","tmst":3512348611,"chan":2,"rfch":0,"freq":866.349812,
"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/6","rssi":-35,"lsnr":5.1,"size":32,
"data":"-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84"},{"time":"2013-03-31T16:21:17.530974Z","tmst":3512348514,
"chan":9,"rfch":1,"freq":869.1,"stat":1,"modu":"FSK","datr":50000,"rssi":-75,"size":16,"data":"VEVTVF9QQUNLRVRfMTIzNA=="}]}`
	_, err := DecodePushData(Packet{Version: 2, Type: PushData, JSON: []byte(js)})
	// The first data field of the document is base64url-ish and not valid
	// standard base64: a decoder must say so, not panic.
	if err == nil {
		t.Fatal("invalid base64 accepted")
	}
	js = strings.Replace(js, "-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1)
	v, err := DecodePushData(Packet{Version: 2, Type: PushData, JSON: []byte(js)})
	if err != nil {
		t.Fatal(err)
	}
	if v.RXPK[1].DatR.FSK != 50000 || v.RXPK[0].DatR.LoRa != "SF7BW125" || string(v.RXPK[1].Data) != "TEST_PACKET_1234" {
		t.Fatalf("%+v", v.RXPK)
	}
}

func TestPullRespRoundTrip(t *testing.T) {
	in := TXPK{Tmst: u32(814938960), Freq: 869.525, RFCh: 0, Powe: 14, Modu: "LORA", DatR: DataRate{LoRa: "SF12BW125"},
		CodR: "4/5", IPol: true, Data: []byte{0x60, 1, 2, 3}}
	p, err := NewPullResp(2, 0x4242, in)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Unmarshal(p.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodePullResp(q)
	if err != nil {
		t.Fatal(err)
	}
	in.Size = 4
	if diff := cmp.Diff(in, out); diff != "" {
		t.Fatal(diff)
	}
	if q.Token != 0x4242 {
		t.Fatalf("token %x", q.Token)
	}
	bad := []string{
		`{"txpk":{"freq":868.1,"size":1,"data":"AAE="}}`, // size mismatch
		`{"txpk":{"freq":868.1,"size":2,"data":"AAE="}}`, // no timing
		`{"txpk":`, // truncated
		`{"txpk":{"imme":true,"freq":868.1,"datr":true,"size":2,"data":"AAE="}}`, // bad datr
	}
	for _, js := range bad {
		if _, err := DecodePullResp(Packet{Version: 2, Type: PullResp, JSON: []byte(js)}); err == nil {
			t.Errorf("%s accepted", js)
		}
	}
}

func TestTxAck(t *testing.T) {
	for _, outcome := range []string{TxNone, TxTooLate, TxTooEarly, TxCollisionPacket} {
		p := NewTxAck(5, eui, outcome)
		q, err := Unmarshal(p.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		a, err := DecodeTxAck(q)
		if err != nil || a.Error() != outcome || q.EUI != eui || q.Token != 5 {
			t.Fatalf("%s: %+v %v", outcome, a, err)
		}
	}
	a, err := DecodeTxAck(Packet{Type: TxAck})
	if err != nil || a.Error() != TxNone {
		t.Fatalf("empty TX_ACK: %v %v", a.Error(), err)
	}
}

func TestParseEUI(t *testing.T) {
	e, err := ParseEUI("aa555a0000000101")
	if err != nil || e != eui || e.String() != "aa555a0000000101" {
		t.Fatal(e, err)
	}
	for _, bad := range []string{"", "aa55", "zz555a0000000101", "aa555a000000010101"} {
		if _, err := ParseEUI(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	p, _ := NewPushData(1, eui, PushDataPayload{RXPK: []RXPK{{Tmst: 1, Modu: "LORA", DatR: DataRate{LoRa: "SF7BW125"}, Size: 1, Data: []byte{1}}}})
	f.Add(p.Marshal())
	r, _ := NewPullResp(2, 3, TXPK{Imme: true, Data: []byte{1}})
	f.Add(r.Marshal())
	f.Add(NewTxAck(1, eui, TxTooLate).Marshal())
	f.Add([]byte{2, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Unmarshal(b)
		if err != nil {
			return
		}
		again, err := Unmarshal(p.Marshal())
		if err != nil {
			t.Fatalf("re-encoded packet does not decode: %v", err)
		}
		if diff := cmp.Diff(p, again); diff != "" {
			t.Fatalf("round trip changed the packet: %s", diff)
		}
		switch p.Type {
		case PushData:
			DecodePushData(p)
		case PullResp:
			DecodePullResp(p)
		case TxAck:
			DecodeTxAck(p)
		}
	})
}
