package gwmp

import (
	"bytes"
	"strings"
	"testing"
)

// TestWireBytes pins the exact datagrams of the JSON-less types and the
// header of the others, version 1 and 2.
func TestWireBytes(t *testing.T) {
	tests := []struct {
		name string
		p    interface{ MarshalBinary() ([]byte, error) }
		want []byte
	}{
		{"push_ack", Ack{Version: 2, Token: 0x1234, Type: TypePushAck}, []byte{2, 0x12, 0x34, 1}},
		{"pull_ack v1", Ack{Version: 1, Token: 0xbeef, Type: TypePullAck}, []byte{1, 0xbe, 0xef, 4}},
		{"pull_data", PullData{Version: 2, Token: 1, GatewayID: gwID}, []byte{2, 0, 1, 2, 0xaa, 0x55, 0x5a, 0, 0, 0, 1, 1}},
		{"push_data", PushData{Version: 2, Token: 2, GatewayID: gwID}, []byte{2, 0, 2, 0, 0xaa, 0x55, 0x5a, 0, 0, 0, 1, 1, '{', '}'}},
		{"tx_ack empty", TxAck{Version: 2, Token: 9, GatewayID: gwID}, []byte{2, 0, 9, 5, 0xaa, 0x55, 0x5a, 0, 0, 0, 1, 1}},
		{"tx_ack", NewTxAck(9, gwID, TxAckTooLate), append([]byte{2, 0, 9, 5, 0xaa, 0x55, 0x5a, 0, 0, 0, 1, 1}, `{"txpk_ack":{"error":"TOO_LATE"}}`...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("marshal % x, want % x", got, tt.want)
			}
		})
	}
}

func TestTxAckOutcome(t *testing.T) {
	tests := []struct {
		name string
		ack  TxAck
		want string
	}{
		{"no json", TxAck{}, TxAckNone},
		{"empty error", TxAck{Payload: &TxAckPayload{}}, TxAckNone},
		{"power warning", TxAck{Payload: &TxAckPayload{TXPKACK: TXPKACK{Warn: TxAckTxPower, Value: ptr(int32(14))}}}, TxAckNone},
		{"refused", NewTxAck(1, gwID, TxAckCollisionBeacon), TxAckCollisionBeacon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ack.Outcome(); got != tt.want {
				t.Fatalf("Outcome() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckSize(t *testing.T) {
	if err := (&TXPK{Size: 2, Data: B64{1}}).CheckSize(); err == nil {
		t.Fatal("txpk size 2 with 1 byte accepted")
	}
	if err := (&TXPK{Size: 1, Data: B64{1}}).CheckSize(); err != nil {
		t.Fatal(err)
	}
	p := PushDataPayload{RXPK: []RXPK{{Size: 1, Data: B64{1}}, {Size: 0, Data: B64{1}}}}
	if err := p.CheckSizes(); err == nil || !strings.Contains(err.Error(), "rxpk 1") {
		t.Fatalf("CheckSizes = %v, want an error for rxpk 1", err)
	}
}

// The example of Semtech's PROTOCOL.TXT: two rxpk, the second FSK with a
// numeric datr.
func TestPushDataSemtechExample(t *testing.T) {
	js := `{"rxpk":[{"time":"2013-03-31T16:21:17.528002Z","tmst":3512348611,"chan":2,"rfch":0,"freq":866.349812,
"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/6","rssi":-35,"lsnr":5.1,"size":32,
"data":"-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84"},{"time":"2013-03-31T16:21:17.530974Z","tmst":3512348514,
"chan":9,"rfch":1,"freq":869.1,"stat":1,"modu":"FSK","datr":50000,"rssi":-75,"size":16,"data":"VEVTVF9QQUNLRVRfMTIzNA=="}]}`
	push := append([]byte{2, 0, 1, 0}, gwID[:]...)
	var p PushData
	// The first data field of the document is not standard base64 (the
	// forwarder writes standard base64): refused, not guessed.
	if err := p.UnmarshalBinary(append(push, js...)); err == nil {
		t.Fatal("invalid base64 accepted")
	}
	js = strings.Replace(js, "-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1)
	if err := p.UnmarshalBinary(append(push, js...)); err != nil {
		t.Fatal(err)
	}
	v := p.Payload
	if v.RXPK[1].DatR.FSK != 50000 || v.RXPK[0].DatR.LoRa != "SF7BW125" || string(v.RXPK[1].Data) != "TEST_PACKET_1234" {
		t.Fatalf("%+v", v.RXPK)
	}
	if err := v.CheckSizes(); err != nil {
		t.Fatal(err)
	}
}
