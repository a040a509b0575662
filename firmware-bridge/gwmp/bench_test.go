package gwmp

import (
	"encoding/json"
	"testing"
	"time"
)

var benchPush = append(append([]byte{2, 0x12, 0x34, 0}, gwID[:]...),
	`{"rxpk":[{"jver":1,"tmst":3512348611,"time":"2026-11-22T01:02:03.528002Z","tmms":1447987335528,"chan":2,"rfch":0,"freq":866.349812,"mid":8,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/6","rssis":-38,"lsnr":5.5,"foff":-125,"rssi":-35,"size":23,"data":"QAEQACaAAQABAQIDBAUGBwgJCqGio6Q="}]}`...)

// BenchmarkDecodePushData is the fast decoder on a typical datagram.
func BenchmarkDecodePushData(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPush)))
	for b.Loop() {
		var p PushData
		if err := p.UnmarshalBinary(benchPush); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodePushDataEncodingJSON is the same with encoding/json, for
// comparison.
func BenchmarkDecodePushDataEncodingJSON(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPush)))
	for b.Loop() {
		var p PushDataPayload
		if err := json.Unmarshal(benchPush[12:], &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodePushData is one uplink as the router sends it to an LNS.
func BenchmarkEncodePushData(b *testing.B) {
	lsnr := -7.5
	rxTime := CompactTime(time.Date(2026, 11, 22, 1, 2, 3, 528000000, time.UTC))
	p := PushData{Version: Version2, Token: 1, GatewayID: gwID, Payload: PushDataPayload{RXPK: []RXPK{{Time: &rxTime,
		Tmst: 3512348611, Freq: 868.1, Stat: 1, Modu: "LORA", DatR: DatR{LoRa: "SF7BW125"}, CodR: "4/5", RSSI: -97, LSNR: &lsnr,
		Size: 23, Data: make(B64, 23)}}}}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = p.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodePushDataEncodingJSON is the same with encoding/json, for
// comparison.
func BenchmarkEncodePushDataEncodingJSON(b *testing.B) {
	lsnr := -7.5
	rxTime := CompactTime(time.Date(2026, 11, 22, 1, 2, 3, 528000000, time.UTC))
	p := PushDataPayload{RXPK: []RXPK{{Time: &rxTime, Tmst: 3512348611, Freq: 868.1, Stat: 1, Modu: "LORA",
		DatR: DatR{LoRa: "SF7BW125"}, CodR: "4/5", RSSI: -97, LSNR: &lsnr, Size: 23, Data: make(B64, 23)}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(p); err != nil {
			b.Fatal(err)
		}
	}
}
