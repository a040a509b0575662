package frame

import (
	"bytes"
	"errors"
	"testing"

	"github.com/brocaar/lorawan"
)

func mustPHY(t testing.TB, p lorawan.PHYPayload) []byte {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClassify(t *testing.T) {
	join := mustPHY(t, lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: lorawan.JoinRequest, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinRequestPayload{
			JoinEUI: lorawan.EUI64{1, 2, 3, 4, 5, 6, 7, 8}, DevEUI: lorawan.EUI64{8, 7, 6, 5, 4, 3, 2, 1}, DevNonce: 7,
		},
	})
	fport := uint8(1)
	data := mustPHY(t, lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: lorawan.UnconfirmedDataUp, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{
			FHDR:       lorawan.FHDR{DevAddr: lorawan.DevAddr{0x26, 0x01, 0x1b, 0xda}, FCnt: 3},
			FPort:      &fport,
			FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: []byte{1, 2, 3}}},
		},
	})
	beacon := append([]byte{0xE0}, bytes.Repeat([]byte{0xAB}, 51)...)
	short := append([]byte{0xE0}, bytes.Repeat([]byte{0xAB}, 20)...)
	down := mustPHY(t, lorawan.PHYPayload{
		MHDR:       lorawan.MHDR{MType: lorawan.UnconfirmedDataDown, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: lorawan.DevAddr{1, 2, 3, 4}}},
	})

	tests := []struct {
		name    string
		phy     []byte
		want    Info
		wantErr bool
	}{
		{"join", join, Info{Kind: Join, JoinEUI: 0x0102030405060708, DevEUI: 0x0807060504030201}, false},
		{"data", data, Info{Kind: Data, DevAddr: 0x26011bda}, false},
		{"beacon", beacon, Info{Kind: Beacon, Payload: beacon[1:]}, false},
		{"short proprietary", short, Info{Kind: Other}, false},
		{"downlink", down, Info{Kind: Other}, false},
		{"empty", nil, Info{}, true},
		{"truncated data", data[:4], Info{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Classify(tc.phy)
			if tc.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tc.want.Kind || got.JoinEUI != tc.want.JoinEUI || got.DevEUI != tc.want.DevEUI ||
				got.DevAddr != tc.want.DevAddr || !bytes.Equal(got.Payload, tc.want.Payload) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzClassify(f *testing.F) {
	f.Add([]byte{0x40, 1, 2, 3, 4, 0, 0, 0, 1, 2, 3, 4, 5})
	f.Add(append([]byte{0xE0}, bytes.Repeat([]byte{1}, 51)...))
	f.Add([]byte{0x00, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, phy []byte) {
		info, err := Classify(phy)
		if err != nil {
			return
		}
		if info.Kind == Beacon && len(info.Payload) != BeaconFrameSize-1 {
			t.Fatalf("beacon payload %d bytes", len(info.Payload))
		}
	})
}

func BenchmarkClassifyData(b *testing.B) {
	fport := uint8(1)
	phy := mustPHY(b, lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: lorawan.UnconfirmedDataUp, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: lorawan.DevAddr{0x26, 1, 2, 3}}, FPort: &fport,
			FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: make([]byte, 20)}}},
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Classify(phy); err != nil {
			b.Fatal(err)
		}
	}
}
