package route

import (
	"encoding/binary"
	"errors"
	"testing"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func data(mtype byte, devAddr uint32) []byte {
	b := []byte{mtype}
	b = binary.LittleEndian.AppendUint32(b, devAddr)
	b = append(b, 0, 1, 0, 1, 0xaa)
	return append(b, 1, 2, 3, 4)
}

func join(joinEUI, devEUI uint64) []byte {
	b := []byte{0x00}
	b = binary.LittleEndian.AppendUint64(b, joinEUI)
	b = binary.LittleEndian.AppendUint64(b, devEUI)
	return append(b, 7, 7, 1, 2, 3, 4)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		phy  []byte
		want Frame
		err  error
	}{
		{"unconfirmed data up", data(0x40, 0x26011234), Frame{Kind: KindData, DevAddr: 0x26011234}, nil},
		{"confirmed data up", data(0x80, 0xfe000001), Frame{Kind: KindData, DevAddr: 0xfe000001}, nil},
		{"join request", join(0x70b3d57ed0000001, 0x0102030405060708), Frame{Kind: KindJoin, JoinEUI: 0x70b3d57ed0000001, DevEUI: 0x0102030405060708}, nil},
		{"data down", data(0x60, 1), Frame{}, ErrNotUplink},
		{"join accept", append([]byte{0x20}, make([]byte, 16)...), Frame{}, ErrNotUplink},
		{"proprietary (beacon)", append([]byte{0xe0}, make([]byte, 51)...), Frame{}, ErrUnsupported},
		{"too short", []byte{0x40, 1, 2}, Frame{}, ErrBadFrame},
		{"too long", append(data(0x40, 1), make([]byte, 250)...), Frame{}, ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.phy)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("frame = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tab := NewTable([]OUI{
		{ID: 7, Config: &hexproofv1.OuiConfig{
			DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x100, End: 0x1ff}, {Start: 0x500, End: 0x500}},
			EuiPairs:      []*hexproofv1.EuiPair{{JoinEui: 1, DevEui: 0}, {JoinEui: 2, DevEui: 5}},
		}},
		{ID: 3, Config: &hexproofv1.OuiConfig{
			DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x180, End: 0x2ff}, {Start: 0x900, End: 0x800}},
			EuiPairs:      []*hexproofv1.EuiPair{{JoinEui: 2, DevEui: 0}, {JoinEui: 1, DevEui: 9}},
		}},
	})
	tests := []struct {
		name string
		f    Frame
		want uint64
		err  error
	}{
		{"inside one range", Frame{Kind: KindData, DevAddr: 0x150}, 7, nil},
		{"overlap goes to the lower OUI", Frame{Kind: KindData, DevAddr: 0x190}, 3, nil},
		{"range end is inclusive", Frame{Kind: KindData, DevAddr: 0x2ff}, 3, nil},
		{"single-address range", Frame{Kind: KindData, DevAddr: 0x500}, 7, nil},
		{"gap", Frame{Kind: KindData, DevAddr: 0x400}, 0, ErrNoRoute},
		{"inverted range is ignored", Frame{Kind: KindData, DevAddr: 0x850}, 0, ErrNoRoute},
		{"below every range", Frame{Kind: KindData, DevAddr: 0}, 0, ErrNoRoute},
		{"JoinEUI wildcard", Frame{Kind: KindJoin, JoinEUI: 1, DevEUI: 1234}, 7, nil},
		{"exact pair wins over the wildcard of another OUI", Frame{Kind: KindJoin, JoinEUI: 2, DevEUI: 5}, 7, nil},
		{"wildcard of the JoinEUI", Frame{Kind: KindJoin, JoinEUI: 2, DevEUI: 6}, 3, nil},
		{"both OUIs claim the pair: lower wins", Frame{Kind: KindJoin, JoinEUI: 1, DevEUI: 9}, 3, nil},
		{"unknown JoinEUI", Frame{Kind: KindJoin, JoinEUI: 3}, 0, ErrNoRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tab.Lookup(tt.f)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("Lookup = %d, %v; want %d, %v", got, err, tt.want, tt.err)
			}
		})
	}
	var empty *Table
	if _, err := empty.Lookup(Frame{Kind: KindData}); !errors.Is(err, ErrNoRoute) {
		t.Fatal("nil table routed a frame")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(data(0x40, 1))
	f.Add(join(1, 2))
	f.Fuzz(func(t *testing.T, phy []byte) {
		fr, err := Parse(phy)
		if err == nil && fr.Kind != KindData && fr.Kind != KindJoin {
			t.Fatalf("parsed a frame of kind %v", fr.Kind)
		}
	})
}
