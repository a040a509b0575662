package convert

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

func benchRXPK() gwmp.RXPK {
	ts := gwmp.CompactTime(time.Now().UTC())
	snr, rssis, foff := 7.0, int16(-60), int32(-120)
	return gwmp.RXPK{Time: &ts, Tmst: 1000, Freq: 868.1, Chan: 1, Stat: 1, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF7BW125"},
		CodR: "4/5", RSSI: -57, RSSIS: &rssis, LSNR: &snr, FOff: &foff, Size: 23, Data: make(gwmp.B64, 23)}
}

// BenchmarkUplinkConvert is rxpk -> gw.UplinkFrame.
func BenchmarkUplinkConvert(b *testing.B) {
	rx := benchRXPK()
	b.ReportAllocs()
	for b.Loop() {
		UplinkFrames("0102030405060708", &rx, func() uint32 { return 1 })
	}
}

// BenchmarkUplinkMarshal is the protobuf encoding of one UplinkFrame.
func BenchmarkUplinkMarshal(b *testing.B) {
	rx := benchRXPK()
	f, _ := UplinkFrames("0102030405060708", &rx, func() uint32 { return 1 })
	b.ReportAllocs()
	for b.Loop() {
		proto.Marshal(f[0])
	}
}

func BenchmarkUplinkMarshalNoMetadata(b *testing.B) {
	rx := benchRXPK()
	rx.RSSIS, rx.FOff = nil, nil
	f, _ := UplinkFrames("0102030405060708", &rx, func() uint32 { return 1 })
	b.ReportAllocs()
	for b.Loop() {
		proto.Marshal(f[0])
	}
}

func BenchmarkUplinkAppendFast(b *testing.B) {
	rx := benchRXPK()
	f, _ := UplinkFrames("0102030405060708", &rx, func() uint32 { return 1 })
	b.ReportAllocs()
	for b.Loop() {
		AppendUplinkFrame(make([]byte, 0, 160), f[0])
	}
}
