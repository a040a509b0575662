package filter

import (
	"testing"

	"github.com/brocaar/lorawan"
)

func dataUp(t *testing.T, addr lorawan.DevAddr) []byte {
	t.Helper()
	p := lorawan.PHYPayload{MHDR: lorawan.MHDR{MType: lorawan.UnconfirmedDataUp, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: addr, FCnt: 1}}}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func joinReq(t *testing.T, joinEUI lorawan.EUI64) []byte {
	t.Helper()
	p := lorawan.PHYPayload{MHDR: lorawan.MHDR{MType: lorawan.JoinRequest, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinRequestPayload{JoinEUI: joinEUI, DevEUI: lorawan.EUI64{1}, DevNonce: 3}}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAllow(t *testing.T) {
	netID := lorawan.NetID{0x00, 0x00, 0x13}
	inNet := lorawan.DevAddr{0x01, 0x02, 0x03, 0x04}
	inNet.SetAddrPrefix(netID)
	otherNet := inNet
	otherNet.SetAddrPrefix(lorawan.NetID{0x00, 0x00, 0x01})
	f, err := Parse([]string{"000013"}, []string{"0000000000000100-00000000000001ff"})
	if err != nil {
		t.Fatal(err)
	}
	netOnly, _ := Parse([]string{"000013"}, nil)
	tests := []struct {
		name string
		f    Filter
		phy  []byte
		want bool
	}{
		{"no filter", Filter{}, dataUp(t, otherNet), true},
		{"data in net", f, dataUp(t, inNet), true},
		{"data other net", f, dataUp(t, otherNet), false},
		{"join in range", f, joinReq(t, lorawan.EUI64{0, 0, 0, 0, 0, 0, 1, 0x42}), true},
		{"join out of range", f, joinReq(t, lorawan.EUI64{0, 0, 0, 0, 0, 0, 2, 0}), false},
		{"join with only net filter", netOnly, joinReq(t, lorawan.EUI64{9}), true},
		{"proprietary", f, []byte{0xe0, 1, 2, 3}, true},
		{"short data frame", f, []byte{0x40, 1, 2}, true},
		{"empty", f, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Allow(tt.phy); got != tt.want {
				t.Fatalf("Allow = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ net, join []string }{
		{[]string{"13"}, nil},
		{[]string{"zzzzzz"}, nil},
		{nil, []string{"00000000000001ff-0000000000000100"}},
		{nil, []string{"0001"}},
	} {
		if _, err := Parse(tt.net, tt.join); err == nil {
			t.Errorf("Parse(%v, %v) accepted", tt.net, tt.join)
		}
	}
}

func FuzzAllow(f *testing.F) {
	flt, _ := Parse([]string{"000013"}, []string{"0000000000000100-00000000000001ff"})
	f.Add([]byte{0x40, 1, 2, 3, 4, 0, 1, 0, 0, 0, 0, 0})
	f.Add(make([]byte, 23))
	f.Fuzz(func(t *testing.T, phy []byte) { flt.Allow(phy) })
}
