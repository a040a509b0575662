package radio

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func TestParseDataRate(t *testing.T) {
	tests := []struct {
		in      string
		want    LoRa
		wantErr bool
	}{
		{"SF9BW125", LoRa{9, 125000}, false},
		{"sf12bw500", LoRa{12, 500000}, false},
		{"SF7BW250", LoRa{7, 250000}, false},
		{"SF13BW125", LoRa{}, true},
		{"SF9BW126", LoRa{}, true},
		{"SF9", LoRa{}, true},
		{"", LoRa{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDataRate(tc.in)
			if tc.wantErr != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			if err != nil && !errors.Is(err, ErrDataRate) {
				t.Fatalf("err %v is not ErrDataRate", err)
			}
			if got != tc.want {
				t.Fatalf("got %+v want %+v", got, tc.want)
			}
			if err == nil {
				if rt, _ := ParseDataRate(got.String()); rt != got {
					t.Fatalf("round trip %q -> %+v", got.String(), rt)
				}
			}
		})
	}
}

func FuzzParseDataRate(f *testing.F) {
	f.Add("SF9BW125")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseDataRate(s)
		if err != nil {
			return
		}
		if back, err := ParseDataRate(l.String()); err != nil || back != l {
			t.Fatalf("%q -> %+v -> %q fails: %v", s, l, l.String(), err)
		}
	})
}

func TestUplinkMeta(t *testing.T) {
	f := &gw.UplinkFrame{
		PhyPayload: []byte{1},
		TxInfo: &gw.UplinkTxInfo{Frequency: 868100000, Modulation: &gw.Modulation{Parameters: &gw.Modulation_Lora{
			Lora: &gw.LoraModulationInfo{Bandwidth: 125000, SpreadingFactor: 9}}}},
		RxInfo: &gw.UplinkRxInfo{Rssi: -97, Snr: -7.25, Context: binary.BigEndian.AppendUint32(nil, 123456), CrcStatus: gw.CRCStatus_CRC_OK},
	}
	m, ok := UplinkMeta(f, hexproofv1.Region_REGION_EU868, 42)
	if !ok {
		t.Fatal("not ok")
	}
	if m.FrequencyHz != 868100000 || m.Datarate != "SF9BW125" || m.RssiDbm != -97 || m.SnrCb != -73 || m.Tmst != 123456 || m.ReceivedAtMs != 42 {
		t.Fatalf("meta %v", m)
	}
	if CRCFailed(f) {
		t.Fatal("CRC_OK reported failed")
	}
	f.RxInfo.CrcStatus = gw.CRCStatus_BAD_CRC
	if !CRCFailed(f) {
		t.Fatal("BAD_CRC not failed")
	}
	if _, ok := UplinkMeta(&gw.UplinkFrame{}, 0, 0); ok {
		t.Fatal("empty frame accepted")
	}
}

func TestDownlinkItem(t *testing.T) {
	it, err := DownlinkItem([]byte{9}, &hexproofv1.DownlinkWindow{FrequencyHz: 869525000, Datarate: "SF12BW125", PowerDbm: 27, Tmst: 5000000, PolarizationInversion: true, CodingRate: "4/5"})
	if err != nil {
		t.Fatal(err)
	}
	tx := it.GetTxInfo()
	if tx.GetFrequency() != 869525000 || tx.GetPower() != 27 || tx.GetModulation().GetLora().GetSpreadingFactor() != 12 ||
		!tx.GetModulation().GetLora().GetPolarizationInversion() || binary.BigEndian.Uint32(tx.GetContext()) != 5000000 ||
		tx.GetTiming().GetDelay() == nil {
		t.Fatalf("item %v", it)
	}
	imm, err := DownlinkItem([]byte{9}, &hexproofv1.DownlinkWindow{FrequencyHz: 1, Datarate: "SF9BW125", Immediate: true})
	if err != nil || imm.GetTxInfo().GetTiming().GetImmediately() == nil {
		t.Fatalf("immediate: %v %v", imm, err)
	}
	if _, err := DownlinkItem(nil, &hexproofv1.DownlinkWindow{FrequencyHz: 1, Datarate: "FSK"}); err == nil {
		t.Fatal("bad data rate accepted")
	}
}

func TestAckResult(t *testing.T) {
	item := func(s ...gw.TxAckStatus) *gw.DownlinkTxAck {
		a := &gw.DownlinkTxAck{}
		for _, x := range s {
			a.Items = append(a.Items, &gw.DownlinkTxAckItem{Status: x})
		}
		return a
	}
	tests := []struct {
		name   string
		ack    *gw.DownlinkTxAck
		status hexproofv1.TxAckStatus
		window uint32
	}{
		{"rx1 ok", item(gw.TxAckStatus_OK, gw.TxAckStatus_IGNORED), hexproofv1.TxAckStatus_TX_ACK_STATUS_OK, 1},
		{"rx2 ok", item(gw.TxAckStatus_TOO_LATE, gw.TxAckStatus_OK), hexproofv1.TxAckStatus_TX_ACK_STATUS_OK, 2},
		{"both fail", item(gw.TxAckStatus_TOO_LATE, gw.TxAckStatus_COLLISION_PACKET), hexproofv1.TxAckStatus_TX_ACK_STATUS_COLLISION_PACKET, 0},
		{"empty", item(), hexproofv1.TxAckStatus_TX_ACK_STATUS_INTERNAL_ERROR, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, w := AckResult(tc.ack)
			if s != tc.status || w != tc.window {
				t.Fatalf("got %v/%d want %v/%d", s, w, tc.status, tc.window)
			}
		})
	}
}
