package filter

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/brocaar/lorawan"
)

// Filter holds the allowed NetIDs and JoinEUI ranges. The zero value lets
// everything through.
type Filter struct {
	netIDs   []lorawan.NetID
	joinEUIs [][2]uint64 // inclusive ranges
}

// Parse builds a filter from NetIDs ("000013", 6 hex digits) and JoinEUI
// ranges ("0000000000000000-00000000000000ff", or a single EUI).
func Parse(netIDs, joinEUIRanges []string) (Filter, error) {
	var f Filter
	for _, s := range netIDs {
		var n lorawan.NetID
		if err := n.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil || len(strings.TrimSpace(s)) != 6 {
			return Filter{}, fmt.Errorf("net id filter %q: want 6 hex digits such as 000013", s)
		}
		f.netIDs = append(f.netIDs, n)
	}
	for _, s := range joinEUIRanges {
		lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
		if !ok {
			hi = lo
		}
		a, err1 := parseEUI(lo)
		b, err2 := parseEUI(hi)
		if err1 != nil || err2 != nil || a > b {
			return Filter{}, fmt.Errorf("join eui filter %q: want MIN-MAX, each 16 hex digits, MIN <= MAX", s)
		}
		f.joinEUIs = append(f.joinEUIs, [2]uint64{a, b})
	}
	return f, nil
}

func parseEUI(s string) (uint64, error) {
	var b [8]byte
	if len(s) != 16 {
		return 0, fmt.Errorf("want 16 hex digits")
	}
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// Empty reports whether the filter lets everything through.
func (f Filter) Empty() bool { return len(f.netIDs) == 0 && len(f.joinEUIs) == 0 }

// LoRaWAN message types (MHDR bits 7..5).
const (
	mtypeJoinRequest   = 0
	mtypeUnconfirmedUp = 2
	mtypeConfirmedUp   = 4
	mtypeRejoinRequest = 6
	minDataUpLength    = 12 // MHDR + DevAddr + FCtrl + FCnt + MIC
	joinRequestLength  = 23
	devAddrOffset      = 1
	joinEUIOffset      = 1
)

// Allow reports whether an uplink with this PHYPayload passes. Data uplinks
// are checked against the NetIDs and join requests against the JoinEUI
// ranges, each only when that list is set; other frames (rejoin,
// proprietary) and frames too short to carry the field pass.
func (f Filter) Allow(phy []byte) bool {
	if f.Empty() || len(phy) == 0 {
		return true
	}
	switch phy[0] >> 5 {
	case mtypeUnconfirmedUp, mtypeConfirmedUp:
		if len(f.netIDs) == 0 || len(phy) < minDataUpLength {
			return true
		}
		// DevAddr is little-endian on air.
		var a lorawan.DevAddr
		for i := range 4 {
			a[i] = phy[devAddrOffset+3-i]
		}
		for _, n := range f.netIDs {
			if a.IsNetID(n) {
				return true
			}
		}
		return false
	case mtypeJoinRequest:
		if len(f.joinEUIs) == 0 || len(phy) < joinRequestLength {
			return true
		}
		eui := binary.LittleEndian.Uint64(phy[joinEUIOffset : joinEUIOffset+8])
		for _, r := range f.joinEUIs {
			if eui >= r[0] && eui <= r[1] {
				return true
			}
		}
		return false
	}
	return true
}
