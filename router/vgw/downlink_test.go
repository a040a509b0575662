package vgw

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

func TestParsePullRespRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		dl   Downlink
	}{
		{"rx1", Downlink{Tmst: 1_000_000, FrequencyHz: 868_100_000, PowerDBm: 14, Modulation: "LORA", DataRate: "SF7BW125", CodingRate: "4/5", IPol: true, Data: []byte{0x60, 1, 2, 3}}},
		{"immediate", Downlink{Immediate: true, FrequencyHz: 869_525_000, PowerDBm: 27, Modulation: "LORA", DataRate: "SF12BW125", CodingRate: "4/5", IPol: true, Data: []byte{0x20}}},
		{"wrapping tmst", Downlink{Tmst: 4294967295, FrequencyHz: 923_300_000, PowerDBm: 20, Modulation: "LORA", DataRate: "SF12BW500", CodingRate: "4/5", IPol: true, Data: []byte{1, 2}}},
		{"fsk", Downlink{Tmst: 7, FrequencyHz: 868_800_000, PowerDBm: 14, Modulation: "FSK", DataRate: "50000", Preamble: 5, NoCRC: true, Data: []byte{3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := gwmp.PullResp{Version: gwmp.Version2, Token: 7, Payload: gwmp.PullRespPayload{TXPK: tt.dl.TXPK()}}.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			tok, got, err := ParsePullResp(b)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, b[4:])
			}
			if tok != 7 {
				t.Fatalf("token %d, want 7", tok)
			}
			if diff := cmp.Diff(tt.dl, got); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePullRespRefuses(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"gps time", `{"txpk":{"tmms":123,"freq":868.1,"powe":14,"modu":"LORA","datr":"SF7BW125","size":1,"data":"AQ=="}}`, ErrTimeOnGPS},
		{"no time", `{"txpk":{"freq":868.1,"powe":14,"modu":"LORA","datr":"SF7BW125","size":1,"data":"AQ=="}}`, nil},
		{"size mismatch", `{"txpk":{"imme":true,"freq":868.1,"modu":"LORA","datr":"SF7BW125","size":2,"data":"AQ=="}}`, gwmp.ErrSize},
		{"no datr", `{"txpk":{"imme":true,"freq":868.1,"modu":"LORA","size":1,"data":"AQ=="}}`, nil},
		{"negative frequency", `{"txpk":{"imme":true,"freq":-1,"modu":"LORA","datr":"SF7BW125","size":1,"data":"AQ=="}}`, nil},
		{"no txpk", `{}`, nil},
		{"bad json", `{"txpk":`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append([]byte{2, 0, 1, byte(gwmp.TypePullResp)}, tt.body...)
			_, _, err := ParsePullResp(b)
			if err == nil {
				t.Fatal("parsed, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, _, err := ParsePullResp(append([]byte{2, 0, 1, byte(gwmp.TypePushAck)}, `{"txpk":{}}`...)); !errors.Is(err, gwmp.ErrWrongType) {
		t.Fatalf("PUSH_ACK parsed as PULL_RESP: %v", err)
	}
}

// FuzzParsePullResp feeds arbitrary datagrams from the LNS side: whatever is
// accepted re-encodes to the same downlink.
func FuzzParsePullResp(f *testing.F) {
	b, _ := gwmp.PullResp{Token: 1, Payload: gwmp.PullRespPayload{TXPK: Downlink{Tmst: 5, FrequencyHz: 868_100_000, DataRate: "SF7BW125", Modulation: "LORA", Data: []byte{1}}.TXPK()}}.MarshalBinary()
	f.Add(b)
	f.Add(append([]byte{2, 0, 1, 3}, `{"txpk":{"imme":true,"freq":869.525,"powe":14,"modu":"FSK","datr":50000,"size":1,"data":"AQ"}}`...))
	f.Add([]byte{2, 0, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, d, err := ParsePullResp(b)
		if err != nil {
			return
		}
		out, err := gwmp.PullResp{Token: tok, Payload: gwmp.PullRespPayload{TXPK: d.TXPK()}}.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		tok2, d2, err := ParsePullResp(out)
		if err != nil {
			t.Fatalf("re-encoded PULL_RESP does not parse: %v\n%q", err, out)
		}
		if tok2 != tok || !cmp.Equal(d, d2, cmpopts.EquateEmpty()) {
			t.Fatalf("round trip: %+v -> %+v", d, d2)
		}
	})
}
