package gwmp

import (
	"encoding"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var cmpTimes = cmp.Options{
	cmp.Comparer(func(a, b CompactTime) bool { return time.Time(a).Equal(time.Time(b)) }),
	cmp.Comparer(func(a, b StatTime) bool { return time.Time(a).Equal(time.Time(b)) }),
}

func ptr[T any](v T) *T { return &v }

var gwID = EUI64{0xaa, 0x55, 0x5a, 0x00, 0x00, 0x00, 0x01, 0x01}

type packet interface {
	encoding.BinaryMarshaler
}

func TestRoundTrip(t *testing.T) {
	rxTime := CompactTime(time.Date(2026, 11, 22, 1, 2, 3, 528002000, time.UTC))
	tests := []struct {
		name string
		in   packet
		out  func() encoding.BinaryUnmarshaler
		typ  Type
	}{
		{"push_data rxpk lora v2", PushData{Version: 2, Token: 0x1234, GatewayID: gwID, Payload: PushDataPayload{RXPK: []RXPK{{
			Time: &rxTime, Tmms: ptr(int64(1447987335528)), Tmst: 3512348611, FTime: ptr(uint32(123456789)),
			Freq: 868.1, Chan: 2, RFCh: 1, Stat: 1, Modu: "LORA", DatR: DatR{LoRa: "SF7BW125"}, CodR: "4/5",
			RSSI: -35, RSSIS: ptr(int16(-38)), LSNR: ptr(5.1), FOff: ptr(int32(-125)), Size: 5, Data: B64{1, 2, 3, 4, 5}, Brd: 1, Ant: 2,
		}}}}, func() encoding.BinaryUnmarshaler { return &PushData{} }, TypePushData},
		{"push_data rxpk fsk + rsig v1", PushData{Version: 1, Token: 7, GatewayID: gwID, Payload: PushDataPayload{RXPK: []RXPK{{
			Tmst: 1, Freq: 868.8, Stat: -1, Modu: "FSK", DatR: DatR{FSK: 50000}, RSSI: -75, Size: 3, Data: B64{9, 8, 7},
			RSig: []RSig{{Ant: 0, Chan: 1, RSSIC: -70, LSNR: ptr(-3.5), ETime: B64{0xde, 0xad}, FTStat: ptr(uint8(0))}, {Ant: 1, Chan: 1, RSSIC: -80}},
		}}}}, func() encoding.BinaryUnmarshaler { return &PushData{} }, TypePushData},
		{"push_data stat", PushData{Version: 2, Token: 0xffff, GatewayID: gwID, Payload: PushDataPayload{Stat: &Stat{
			Time: StatTime(time.Date(2014, 1, 12, 8, 59, 28, 0, time.UTC)), Lati: ptr(46.24), Long: ptr(3.2523), Alti: ptr(int32(145)),
			RXNb: 2, RXOK: 2, RXFW: 2, ACKR: ptr(100.0), DWNb: 2, TXNb: 2, Temp: ptr(31.5),
		}}}, func() encoding.BinaryUnmarshaler { return &PushData{} }, TypePushData},
		{"push_data empty", PushData{Version: 2, Token: 1, GatewayID: gwID}, func() encoding.BinaryUnmarshaler { return &PushData{} }, TypePushData},
		{"push_ack", Ack{Version: 2, Token: 0xabcd, Type: TypePushAck}, func() encoding.BinaryUnmarshaler { return &Ack{} }, TypePushAck},
		{"pull_data", PullData{Version: 2, Token: 0x0102, GatewayID: gwID}, func() encoding.BinaryUnmarshaler { return &PullData{} }, TypePullData},
		{"pull_ack v1", Ack{Version: 1, Token: 0x0102, Type: TypePullAck}, func() encoding.BinaryUnmarshaler { return &Ack{} }, TypePullAck},
		{"pull_resp lora delayed", PullResp{Version: 2, Token: 0x4242, Payload: PullRespPayload{TXPK: TXPK{
			Tmst: ptr(uint32(3513348611)), Freq: 869.525, RFCh: 0, Powe: 27, Modu: "LORA", DatR: DatR{LoRa: "SF9BW125"}, CodR: "4/5",
			IPol: true, Prea: 8, Size: 4, Data: B64{1, 2, 3, 4}, Brd: 0, Ant: 0,
		}}}, func() encoding.BinaryUnmarshaler { return &PullResp{} }, TypePullResp},
		{"pull_resp fsk immediate", PullResp{Version: 2, Token: 1, Payload: PullRespPayload{TXPK: TXPK{
			Imme: true, Freq: 868.8, Powe: 14, Modu: "FSK", DatR: DatR{FSK: 50000}, FDev: 25000, Prea: 5, Size: 2, Data: B64{1, 2}, NCRC: true,
		}}}, func() encoding.BinaryUnmarshaler { return &PullResp{} }, TypePullResp},
		{"pull_resp gps", PullResp{Version: 2, Token: 2, Payload: PullRespPayload{TXPK: TXPK{
			Tmms: ptr(int64(1447987336528)), Freq: 868.1, Powe: 14, Modu: "LORA", DatR: DatR{LoRa: "SF12BW125"}, CodR: "4/5", IPol: true, Size: 1, Data: B64{1}, Brd: 1, Ant: 1,
		}}}, func() encoding.BinaryUnmarshaler { return &PullResp{} }, TypePullResp},
		{"tx_ack empty", TxAck{Version: 2, Token: 9, GatewayID: gwID}, func() encoding.BinaryUnmarshaler { return &TxAck{} }, TypeTxAck},
		{"tx_ack error", TxAck{Version: 2, Token: 9, GatewayID: gwID, Payload: &TxAckPayload{TXPKACK{Error: "TOO_LATE"}}}, func() encoding.BinaryUnmarshaler { return &TxAck{} }, TypeTxAck},
		{"tx_ack warn", TxAck{Version: 2, Token: 9, GatewayID: gwID, Payload: &TxAckPayload{TXPKACK{Warn: "TX_POWER", Value: ptr(int32(20))}}}, func() encoding.BinaryUnmarshaler { return &TxAck{} }, TypeTxAck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.in.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			h, err := ParseHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			if h.Type != tt.typ {
				t.Fatalf("type %s, want %s", h.Type, tt.typ)
			}
			out := tt.out()
			if err := out.UnmarshalBinary(b); err != nil {
				t.Fatalf("unmarshal %q: %v", b, err)
			}
			// Compare the pointed-to value with the input value.
			var got any
			switch v := out.(type) {
			case *PushData:
				got = *v
			case *Ack:
				got = *v
			case *PullData:
				got = *v
			case *PullResp:
				got = *v
			case *TxAck:
				got = *v
			}
			if d := cmp.Diff(tt.in, got, cmpTimes); d != "" {
				t.Fatalf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

// A datagram as Semtech's lora_pkt_fwd (sx1302_hal 2.x) writes it.
const loraPktFwdPush = `{"rxpk":[{"jver":1,"tmst":3512348611,"time":"2026-11-22T01:02:03.528002Z","tmms":1447987335528,"chan":2,"rfch":0,"freq":866.349812,"mid":8,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/6","rssis":-38,"lsnr":5.5,"foff":-125,"rssi":-35,"size":32,"data":"-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84"}],"stat":{"time":"2026-11-22 01:02:03 GMT","lati":46.24000,"long":3.25230,"alti":145,"rxnb":2,"rxok":2,"rxfw":2,"ackr":100.0,"dwnb":2,"txnb":2,"temp":32.1}}`

func TestDecodeForwarderDatagram(t *testing.T) {
	// The data above is deliberately not valid base64 (url alphabet): the
	// decoder must reject it rather than guess.
	b := append([]byte{2, 0x12, 0x34, 0}, gwID[:]...)
	var p PushData
	if err := p.UnmarshalBinary(append(b, loraPktFwdPush...)); err == nil {
		t.Fatal("url-alphabet base64 accepted")
	}
	good := `{"rxpk":[{"tmst":3512348611,"time":"2026-11-22T01:02:03.528002Z","tmms":1447987335528,"chan":2,"rfch":0,"freq":866.349812,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/6","rssis":-38,"lsnr":5.5,"foff":-125,"rssi":-35,"size":4,"data":"AQIDBA"}],"stat":{"time":"2026-11-22 01:02:03 GMT","rxnb":2,"rxok":2,"rxfw":2,"ackr":100.0,"dwnb":2,"txnb":2}}` + "\x00"
	if err := p.UnmarshalBinary(append(b, good...)); err != nil {
		t.Fatal(err)
	}
	if p.Token != 0x1234 || p.GatewayID != gwID || len(p.Payload.RXPK) != 1 || p.Payload.Stat == nil {
		t.Fatalf("decoded %+v", p)
	}
	rx := p.Payload.RXPK[0]
	if rx.Freq != 866.349812 || rx.DatR.LoRa != "SF7BW125" || *rx.RSSIS != -38 || *rx.FOff != -125 || string(rx.Data) != "\x01\x02\x03\x04" {
		t.Fatalf("rxpk %+v", rx)
	}
	if !time.Time(p.Payload.Stat.Time).Equal(time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)) {
		t.Fatalf("stat time %v", time.Time(p.Payload.Stat.Time))
	}
}

func TestDecodeErrors(t *testing.T) {
	push := append([]byte{2, 0, 1, 0}, gwID[:]...)
	tests := []struct {
		name string
		in   []byte
		dec  encoding.BinaryUnmarshaler
		want error
	}{
		{"empty", nil, &PushData{}, ErrShort},
		{"three bytes", []byte{2, 0, 1}, &PullData{}, ErrShort},
		{"version 3", []byte{3, 0, 1, 2, 1, 2, 3, 4, 5, 6, 7, 8}, &PullData{}, ErrVersion},
		{"unknown type", []byte{2, 0, 1, 9}, &Ack{}, ErrUnknownType},
		{"pull_data short", []byte{2, 0, 1, 2, 1, 2, 3}, &PullData{}, ErrShort},
		{"push_data as pull_data", push, &PullData{}, ErrWrongType},
		{"push_data as ack", push, &Ack{}, ErrWrongType},
		{"tx_ack short", []byte{2, 0, 1, 5, 1}, &TxAck{}, ErrShort},
		{"too large", append([]byte{2, 0, 1, 0}, make([]byte, MaxDatagram)...), &PushData{}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.dec.UnmarshalBinary(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
	bad := []struct {
		name, json string
	}{
		{"truncated json", `{"rxpk":[{"tmst":1`},
		{"not json", `hello`},
		{"datr bool", `{"rxpk":[{"datr":true,"data":""}]}`},
		{"datr empty", `{"rxpk":[{"datr":"","data":""}]}`},
		{"rssi out of range", `{"rxpk":[{"rssi":-99999,"datr":"SF7BW125","data":""}]}`},
		{"bad time", `{"rxpk":[{"time":"yesterday","datr":"SF7BW125","data":""}]}`},
		{"bad stat time", `{"stat":{"time":"12:00"}}`},
		{"data number", `{"rxpk":[{"datr":"SF7BW125","data":5}]}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			var p PushData
			if err := p.UnmarshalBinary(append(push, tt.json...)); err == nil {
				t.Fatalf("accepted %s: %+v", tt.json, p)
			}
		})
	}
}

func TestEUI64(t *testing.T) {
	if gwID.String() != "aa555a0000000101" {
		t.Fatal(gwID.String())
	}
	e, err := ParseEUI64("AA555A0000000101")
	if err != nil || e != gwID {
		t.Fatal(e, err)
	}
	for _, s := range []string{"", "aa555a000000010", "zz555a0000000101", "aa555a00000001011"} {
		if _, err := ParseEUI64(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// The datagrams real forwarders send take the fast decoder.
func TestFastPathTaken(t *testing.T) {
	for _, s := range []string{
		`{"rxpk":[{"jver":1,"tmst":3512348611,"time":"2026-11-22T01:02:03.528002Z","tmms":1447987335528,"chan":2,"rfch":0,"freq":866.349812,"mid":8,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/6","rssis":-38,"lsnr":5.5,"foff":-125,"rssi":-35,"size":4,"data":"AQIDBA=="}]}`,
		`{"stat":{"time":"2026-11-22 01:02:03 GMT","lati":46.24000,"long":3.25230,"alti":145,"rxnb":2,"rxok":2,"rxfw":2,"ackr":100.0,"dwnb":2,"txnb":2,"temp":32.1}}`,
		`{"rxpk":[{"tmst":1,"freq":868.3,"chan":0,"rfch":0,"stat":1,"modu":"FSK","datr":50000,"rssi":-80,"size":1,"data":"AQ=="}]}`,
	} {
		if _, ok := decodePushDataFast([]byte(s)); !ok {
			t.Errorf("fast decoder gave up on %s", s)
		}
	}
}
