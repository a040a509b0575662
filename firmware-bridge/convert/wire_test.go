package convert

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/common"
	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

func randomRXPK(r *rand.Rand) gwmp.RXPK {
	rx := gwmp.RXPK{Tmst: r.Uint32(), Freq: float64(r.IntN(1000_000_000)) / 1e6, Chan: uint8(r.IntN(16)), RFCh: uint8(r.IntN(2)),
		Stat: int8(r.IntN(3) - 1), RSSI: int16(-r.IntN(140)), Size: 0, Brd: uint8(r.IntN(3)), Ant: uint8(r.IntN(3))}
	rx.Data = make(gwmp.B64, r.IntN(300))
	for i := range rx.Data {
		rx.Data[i] = byte(r.Uint32())
	}
	switch r.IntN(3) {
	case 0:
		rx.Modu, rx.DatR.LoRa = "LORA", []string{"SF7BW125", "SF12BW500", "SF5BW250"}[r.IntN(3)]
		rx.CodR = []string{"4/5", "4/8", "", "OFF"}[r.IntN(4)]
	case 1:
		rx.Modu, rx.DatR.FSK = "FSK", r.Uint32()
	case 2:
		rx.Modu, rx.DatR.LoRa, rx.CodR = "LR-FHSS", "M0CW137", "2/3"
	}
	if r.IntN(2) == 0 {
		ts := gwmp.CompactTime(time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC())
		rx.Time = &ts
	}
	if r.IntN(2) == 0 {
		v := r.Int64N(2e12)
		rx.Tmms = &v
		if r.IntN(2) == 0 {
			ft := r.Uint32N(1e9)
			rx.FTime = &ft
		}
	}
	if r.IntN(2) == 0 {
		v := float64(r.IntN(400)-200) / 10
		rx.LSNR = &v
	}
	if r.IntN(2) == 0 {
		v := int16(-r.IntN(140))
		rx.RSSIS = &v
	}
	if r.IntN(2) == 0 {
		v := int32(r.IntN(20000) - 10000)
		rx.FOff = &v
	}
	if r.IntN(4) == 0 {
		rx.RSig = []gwmp.RSig{{Ant: 1, Chan: 2, RSSIC: -40, ETime: gwmp.B64{1, 2}}, {Ant: 0, RSSIC: -50}}
	}
	return rx
}

// AppendUplinkFrame decodes to the same message as proto.Marshal, for
// every kind of frame UplinkFrames makes.
func TestAppendUplinkFrameMatchesProto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		rx := randomRXPK(r)
		frames, err := UplinkFrames("0102030405060708", &rx, r.Uint32)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			b, ok := AppendUplinkFrame(nil, f)
			if !ok {
				t.Fatalf("case %d: fast encoder declined %v", i, f)
			}
			var got gw.UplinkFrame
			if err := proto.Unmarshal(b, &got); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			if !proto.Equal(&got, f) {
				t.Fatalf("case %d:\nwant %v\ngot  %v", i, f, &got)
			}
		}
	}
}

func TestAppendUplinkFrameDeclines(t *testing.T) {
	for _, f := range []*gw.UplinkFrame{
		{RxInfoLegacy: &gw.UplinkRxInfoLegacy{}},
		{RxInfo: &gw.UplinkRxInfo{Location: &common.Location{}}},
		{RxInfo: &gw.UplinkRxInfo{NsTime: timestamppb.Now()}},
		{TxInfo: &gw.UplinkTxInfo{Modulation: &gw.Modulation{Parameters: &gw.Modulation_Lora{Lora: &gw.LoraModulationInfo{CodeRateLegacy: "4/5"}}}}},
	} {
		if _, ok := AppendUplinkFrame(nil, f); ok {
			t.Errorf("encoded %v", f)
		}
	}
}
