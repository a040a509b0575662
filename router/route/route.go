package route

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/brocaar/lorawan"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Kind is the kind of uplink frame.
type Kind uint8

// Frame kinds the router routes.
const (
	KindData Kind = iota + 1
	KindJoin
)

func (k Kind) String() string {
	switch k {
	case KindData:
		return "data"
	case KindJoin:
		return "join"
	}
	return "unknown"
}

// Frame is what routing needs from a PHYPayload.
type Frame struct {
	Kind    Kind
	DevAddr uint32 // data frames
	JoinEUI uint64 // joins
	DevEUI  uint64 // joins
}

// Reasons a frame is not routed; they are metric labels, keep them short.
var (
	ErrBadFrame    = errors.New("bad_frame")
	ErrNotUplink   = errors.New("not_uplink")
	ErrUnsupported = errors.New("unsupported_frame")
	ErrNoRoute     = errors.New("no_route")
)

// Parse decodes phy with brocaar/lorawan and keeps the routing fields.
func Parse(phy []byte) (Frame, error) {
	if len(phy) > 255 {
		return Frame{}, fmt.Errorf("%w: %d bytes, LoRaWAN allows 255", ErrBadFrame, len(phy))
	}
	var p lorawan.PHYPayload
	if err := p.UnmarshalBinary(phy); err != nil {
		return Frame{}, fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	switch p.MHDR.MType {
	case lorawan.UnconfirmedDataUp, lorawan.ConfirmedDataUp:
		mp, ok := p.MACPayload.(*lorawan.MACPayload)
		if !ok {
			return Frame{}, ErrBadFrame
		}
		return Frame{Kind: KindData, DevAddr: binary.BigEndian.Uint32(mp.FHDR.DevAddr[:])}, nil
	case lorawan.JoinRequest:
		jr, ok := p.MACPayload.(*lorawan.JoinRequestPayload)
		if !ok {
			return Frame{}, ErrBadFrame
		}
		return Frame{Kind: KindJoin, JoinEUI: binary.BigEndian.Uint64(jr.JoinEUI[:]), DevEUI: binary.BigEndian.Uint64(jr.DevEUI[:])}, nil
	case lorawan.UnconfirmedDataDown, lorawan.ConfirmedDataDown, lorawan.JoinAccept:
		return Frame{}, ErrNotUplink
	default:
		// Rejoin requests and proprietary frames (beacons) are not routed yet.
		return Frame{}, ErrUnsupported
	}
}

// OUI is the routing part of one OUI's configuration.
type OUI struct {
	ID     uint64
	Config *hexproofv1.OuiConfig
}

type span struct {
	start, end uint32
	oui        uint64
}

// Table maps frames to OUIs. The zero Table routes nothing.
type Table struct {
	spans []span // sorted by start, then oui
	// joins: JoinEUI -> DevEUI -> OUI; DevEUI 0 matches every DevEUI.
	joins map[uint64]map[uint64]uint64
	ouis  map[uint64]*hexproofv1.OuiConfig
}

// NewTable builds a table of ouis. When ranges or pairs of two OUIs
// overlap, the lower OUI number wins, so every router computes the same
// answer.
func NewTable(ouis []OUI) *Table {
	sorted := append([]OUI(nil), ouis...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	t := &Table{joins: map[uint64]map[uint64]uint64{}, ouis: map[uint64]*hexproofv1.OuiConfig{}}
	for _, o := range sorted {
		if o.Config == nil {
			continue
		}
		t.ouis[o.ID] = o.Config
		for _, r := range o.Config.GetDevaddrRanges() {
			if r.GetStart() > r.GetEnd() {
				continue
			}
			t.spans = append(t.spans, span{r.GetStart(), r.GetEnd(), o.ID})
		}
		for _, p := range o.Config.GetEuiPairs() {
			m := t.joins[p.GetJoinEui()]
			if m == nil {
				m = map[uint64]uint64{}
				t.joins[p.GetJoinEui()] = m
			}
			if _, taken := m[p.GetDevEui()]; !taken {
				m[p.GetDevEui()] = o.ID
			}
		}
	}
	sort.SliceStable(t.spans, func(i, j int) bool {
		if t.spans[i].start != t.spans[j].start {
			return t.spans[i].start < t.spans[j].start
		}
		return t.spans[i].oui < t.spans[j].oui
	})
	return t
}

// Lookup returns the OUI a frame belongs to, or ErrNoRoute.
func (t *Table) Lookup(f Frame) (uint64, error) {
	if t == nil {
		return 0, ErrNoRoute
	}
	switch f.Kind {
	case KindData:
		// Spans are few per OUI; a scan over those starting at or below the
		// address finds the lowest OUI among overlapping ranges.
		n := sort.Search(len(t.spans), func(i int) bool { return t.spans[i].start > f.DevAddr })
		best, found := uint64(0), false
		for i := 0; i < n; i++ {
			s := t.spans[i]
			if f.DevAddr <= s.end && (!found || s.oui < best) {
				best, found = s.oui, true
			}
		}
		if found {
			return best, nil
		}
	case KindJoin:
		if m := t.joins[f.JoinEUI]; m != nil {
			if o, ok := m[f.DevEUI]; ok {
				return o, nil
			}
			if o, ok := m[0]; ok {
				return o, nil
			}
		}
	}
	return 0, ErrNoRoute
}

// Config returns the configuration of a routed OUI.
func (t *Table) Config(oui uint64) *hexproofv1.OuiConfig {
	if t == nil {
		return nil
	}
	return t.ouis[oui]
}
