package convert

import (
	"errors"
	"testing"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/common"
	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

func ptr[T any](v T) *T { return &v }

const gid = "0102030405060708"

func ids() func() uint32 {
	n := uint32(0)
	return func() uint32 { n++; return n }
}

func TestUplinkFrames(t *testing.T) {
	rxTime := gwmp.CompactTime(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC))
	lora := &gw.Modulation{Parameters: &gw.Modulation_Lora{Lora: &gw.LoraModulationInfo{Bandwidth: 125000, SpreadingFactor: 7, CodeRate: gw.CodeRate_CR_4_5}}}
	tests := []struct {
		name string
		in   gwmp.RXPK
		want []*gw.UplinkFrame
		err  bool
	}{
		{"lora full", gwmp.RXPK{Time: &rxTime, Tmms: ptr(int64(1500)), FTime: ptr(uint32(250)), Tmst: 0x01020304, Freq: 868.1, Chan: 2, RFCh: 1, Stat: 1,
			Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF7BW125"}, CodR: "4/5", RSSI: -40, RSSIS: ptr(int16(-42)), LSNR: ptr(7.5), FOff: ptr(int32(-20)), Size: 2, Data: gwmp.B64{1, 2}, Brd: 1, Ant: 1},
			[]*gw.UplinkFrame{{PhyPayload: []byte{1, 2}, TxInfo: &gw.UplinkTxInfo{Frequency: 868100000, Modulation: lora}, RxInfo: &gw.UplinkRxInfo{
				GatewayId: gid, UplinkId: 1, GwTime: timestamppb.New(time.Time(rxTime)), TimeSinceGpsEpoch: durationpb.New(1500 * time.Millisecond),
				FineTimeSinceGpsEpoch: durationpb.New(time.Second + 250), Rssi: -40, Snr: 7.5, Channel: 2, RfChain: 1, Board: 1, Antenna: 1,
				Context: []byte{1, 2, 3, 4}, CrcStatus: gw.CRCStatus_CRC_OK, Metadata: map[string]string{"rssis": "-42", "foff": "-20"}}}}, false},
		{"fsk bad crc", gwmp.RXPK{Tmst: 5, Freq: 868.8, Stat: -1, Modu: "FSK", DatR: gwmp.DatR{FSK: 50000}, RSSI: -90, Data: gwmp.B64{3}},
			[]*gw.UplinkFrame{{PhyPayload: []byte{3}, TxInfo: &gw.UplinkTxInfo{Frequency: 868800000, Modulation: &gw.Modulation{Parameters: &gw.Modulation_Fsk{Fsk: &gw.FskModulationInfo{Datarate: 50000}}}},
				RxInfo: &gw.UplinkRxInfo{GatewayId: gid, UplinkId: 1, Rssi: -90, Context: []byte{0, 0, 0, 5}, CrcStatus: gw.CRCStatus_BAD_CRC}}}, false},
		{"rsig two antennas", gwmp.RXPK{Tmst: 1, Freq: 868.1, Stat: 1, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF7BW125"}, CodR: "4/5", Data: gwmp.B64{9},
			RSig: []gwmp.RSig{{Ant: 0, Chan: 3, RSSIC: -50, LSNR: ptr(1.0)}, {Ant: 1, Chan: 3, RSSIC: -60, ETime: gwmp.B64{0xab}}}},
			[]*gw.UplinkFrame{
				{PhyPayload: []byte{9}, TxInfo: &gw.UplinkTxInfo{Frequency: 868100000, Modulation: lora}, RxInfo: &gw.UplinkRxInfo{GatewayId: gid, UplinkId: 1, Rssi: -50, Snr: 1, Channel: 3, Context: []byte{0, 0, 0, 1}, CrcStatus: gw.CRCStatus_CRC_OK}},
				{PhyPayload: []byte{9}, TxInfo: &gw.UplinkTxInfo{Frequency: 868100000, Modulation: lora}, RxInfo: &gw.UplinkRxInfo{GatewayId: gid, UplinkId: 2, Rssi: -60, Channel: 3, Antenna: 1, Context: []byte{0, 0, 0, 1}, CrcStatus: gw.CRCStatus_CRC_OK, Metadata: map[string]string{"etime": "ab"}}},
			}, false},
		{"lr-fhss", gwmp.RXPK{Modu: "LR-FHSS", DatR: gwmp.DatR{LoRa: "M0CW137"}, CodR: "1/3", Freq: 868.1, Data: gwmp.B64{1}},
			[]*gw.UplinkFrame{{PhyPayload: []byte{1}, TxInfo: &gw.UplinkTxInfo{Frequency: 868100000, Modulation: &gw.Modulation{Parameters: &gw.Modulation_LrFhss{LrFhss: &gw.LrFhssModulationInfo{OperatingChannelWidth: 137000, CodeRate: gw.CodeRate_CR_2_6}}}},
				RxInfo: &gw.UplinkRxInfo{GatewayId: gid, UplinkId: 1, Context: []byte{0, 0, 0, 0}}}}, false},
		{"bad datr", gwmp.RXPK{Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF99BW125"}}, nil, true},
		{"fsk datr on lora", gwmp.RXPK{Modu: "LORA", DatR: gwmp.DatR{FSK: 50000}}, nil, true},
		{"unknown modu", gwmp.RXPK{Modu: "OOK", DatR: gwmp.DatR{LoRa: "SF7BW125"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UplinkFrames(gid, &tt.in, ids())
			if (err != nil) != tt.err {
				t.Fatalf("err %v, want error %v", err, tt.err)
			}
			if d := cmp.Diff(tt.want, got, protocmp.Transform()); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestGatewayStats(t *testing.T) {
	ts := time.Date(2014, 1, 12, 8, 59, 28, 0, time.UTC)
	got := GatewayStats(gid, &gwmp.Stat{Time: gwmp.StatTime(ts), Lati: ptr(46.24), Long: ptr(3.25), Alti: ptr(int32(145)),
		RXNb: 10, RXOK: 8, RXFW: 7, ACKR: ptr(100.0), DWNb: 3, TXNb: 2, Temp: ptr(30.5)})
	want := &gw.GatewayStats{GatewayId: gid, Time: timestamppb.New(ts), Location: &common.Location{Latitude: 46.24, Longitude: 3.25, Altitude: 145, Source: common.LocationSource_GPS},
		RxPacketsReceived: 10, RxPacketsReceivedOk: 8, TxPacketsReceived: 3, TxPacketsEmitted: 2,
		Metadata: map[string]string{"rxfw": "7", "ackr": "100", "temp": "30.5"}}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if s := GatewayStats(gid, &gwmp.Stat{Lati: ptr(0.0), Long: ptr(0.0)}); s.Location != nil {
		t.Fatal("0,0 (no GPS fix) became a location")
	}
}

func TestTXPK(t *testing.T) {
	lora := func(timing *gw.Timing, ctx []byte) *gw.DownlinkFrameItem {
		return &gw.DownlinkFrameItem{PhyPayload: []byte{1, 2, 3}, TxInfo: &gw.DownlinkTxInfo{Frequency: 869525000, Power: 27, Board: 1, Antenna: 1, Context: ctx, Timing: timing,
			Modulation: &gw.Modulation{Parameters: &gw.Modulation_Lora{Lora: &gw.LoraModulationInfo{Bandwidth: 125000, SpreadingFactor: 9, CodeRate: gw.CodeRate_CR_4_5, PolarizationInversion: true, Preamble: 8}}}}}
	}
	delay := &gw.Timing{Parameters: &gw.Timing_Delay{Delay: &gw.DelayTimingInfo{Delay: durationpb.New(time.Second)}}}
	tests := []struct {
		name string
		in   *gw.DownlinkFrameItem
		want gwmp.TXPK
		err  error
	}{
		{"lora delay", lora(delay, []byte{0xff, 0xff, 0xff, 0x00}), gwmp.TXPK{Tmst: ptr(uint32(0xffffff00 + 1000000 - 1<<32)), Freq: 869.525, Powe: 27, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF9BW125"}, CodR: "4/5", IPol: true, Prea: 8, Size: 3, Data: gwmp.B64{1, 2, 3}, Brd: 1, Ant: 1}, nil},
		{"lora immediately", lora(&gw.Timing{Parameters: &gw.Timing_Immediately{Immediately: &gw.ImmediatelyTimingInfo{}}}, nil), gwmp.TXPK{Imme: true, Freq: 869.525, Powe: 27, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF9BW125"}, CodR: "4/5", IPol: true, Prea: 8, Size: 3, Data: gwmp.B64{1, 2, 3}, Brd: 1, Ant: 1}, nil},
		{"lora gps", lora(&gw.Timing{Parameters: &gw.Timing_GpsEpoch{GpsEpoch: &gw.GPSEpochTimingInfo{TimeSinceGpsEpoch: durationpb.New(90 * time.Second)}}}, nil), gwmp.TXPK{Tmms: ptr(int64(90000)), Freq: 869.525, Powe: 27, Modu: "LORA", DatR: gwmp.DatR{LoRa: "SF9BW125"}, CodR: "4/5", IPol: true, Prea: 8, Size: 3, Data: gwmp.B64{1, 2, 3}, Brd: 1, Ant: 1}, nil},
		{"fsk", &gw.DownlinkFrameItem{PhyPayload: []byte{7}, TxInfo: &gw.DownlinkTxInfo{Frequency: 868800000, Power: 14, Timing: &gw.Timing{Parameters: &gw.Timing_Immediately{Immediately: &gw.ImmediatelyTimingInfo{}}},
			Modulation: &gw.Modulation{Parameters: &gw.Modulation_Fsk{Fsk: &gw.FskModulationInfo{Datarate: 50000, FrequencyDeviation: 25000}}}}},
			gwmp.TXPK{Imme: true, Freq: 868.8, Powe: 14, Modu: "FSK", DatR: gwmp.DatR{FSK: 50000}, FDev: 25000, Size: 1, Data: gwmp.B64{7}}, nil},
		{"delay without context", lora(delay, nil), gwmp.TXPK{}, ErrDelayContext},
		{"no timing", lora(nil, nil), gwmp.TXPK{}, ErrTiming},
		{"no tx info", &gw.DownlinkFrameItem{PhyPayload: []byte{1}}, gwmp.TXPK{}, ErrNoTxInfo},
		{"no modulation", &gw.DownlinkFrameItem{TxInfo: &gw.DownlinkTxInfo{}}, gwmp.TXPK{}, ErrModulation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TXPK(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestTxAckStatus(t *testing.T) {
	tests := []struct {
		in   *gwmp.TxAckPayload
		want gw.TxAckStatus
		warn string
	}{
		{nil, gw.TxAckStatus_OK, ""},
		{&gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Error: "NONE"}}, gw.TxAckStatus_OK, ""},
		{&gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Warn: "TX_POWER", Value: ptr(int32(20))}}, gw.TxAckStatus_OK, "TX_POWER"},
		{&gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Error: "TOO_LATE"}}, gw.TxAckStatus_TOO_LATE, ""},
		{&gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Error: "TOO_EARLY"}}, gw.TxAckStatus_TOO_EARLY, ""},
		{&gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Error: "COLLISION_PACKET"}}, gw.TxAckStatus_COLLISION_PACKET, ""},
		{&gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Error: "COLLISION_BEACON"}}, gw.TxAckStatus_COLLISION_BEACON, ""},
		{&gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Error: "TX_FREQ"}}, gw.TxAckStatus_TX_FREQ, ""},
		{&gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Error: "TX_POWER"}}, gw.TxAckStatus_TX_POWER, ""},
		{&gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Error: "GPS_UNLOCKED"}}, gw.TxAckStatus_GPS_UNLOCKED, ""},
		{&gwmp.TxAckPayload{TXPKACK: gwmp.TXPKACK{Error: "SOMETHING_NEW"}}, gw.TxAckStatus_INTERNAL_ERROR, ""},
	}
	for _, tt := range tests {
		name := "nil"
		if tt.in != nil {
			name = tt.in.TXPKACK.Error + tt.in.TXPKACK.Warn
		}
		t.Run(name, func(t *testing.T) {
			got, warn := TxAckStatus(tt.in)
			if got != tt.want || warn != tt.warn {
				t.Fatalf("got %v %q, want %v %q", got, warn, tt.want, tt.warn)
			}
		})
	}
}

func TestFrequency(t *testing.T) {
	for _, hz := range []uint32{868100000, 869525000, 923300000, 433175000, 902300000} {
		if got := HzFromMHz(MHzFromHz(hz)); got != hz {
			t.Errorf("%d -> %d", hz, got)
		}
	}
	if HzFromMHz(-1) != 0 {
		t.Error("negative frequency accepted")
	}
}
