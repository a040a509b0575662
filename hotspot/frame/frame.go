package frame

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/brocaar/lorawan"
)

// Kind is what a frame is for routing.
type Kind int

const (
	// Other frames (downlink types, malformed proprietary) are not forwarded.
	Other Kind = iota
	// Join is a join request or a rejoin request that carries a JoinEUI.
	Join
	// Data is a (confirmed or unconfirmed) data uplink.
	Data
	// Beacon is a proprietary frame of the Hexproof beacon size.
	Beacon
)

func (k Kind) String() string {
	switch k {
	case Join:
		return "join"
	case Data:
		return "data"
	case Beacon:
		return "beacon"
	default:
		return "other"
	}
}

// BeaconFrameSize is the on-air size of a beacon: MHDR + 51-byte payload.
const BeaconFrameSize = 52

// Info is the routing-relevant content of a frame.
type Info struct {
	Kind    Kind
	JoinEUI uint64
	DevEUI  uint64
	DevAddr uint32
	// Payload is the beacon payload (the frame without its MHDR) for Beacon.
	Payload []byte
}

// ErrMalformed is returned for frames that can't be parsed.
var ErrMalformed = errors.New("malformed LoRaWAN frame")

// Classify parses phy. The caller counts ErrMalformed frames as unroutable.
func Classify(phy []byte) (Info, error) {
	if len(phy) < 1 {
		return Info{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	var mhdr lorawan.MHDR
	if err := mhdr.UnmarshalBinary(phy[:1]); err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if mhdr.MType == lorawan.Proprietary {
		if len(phy) == BeaconFrameSize {
			return Info{Kind: Beacon, Payload: append([]byte(nil), phy[1:]...)}, nil
		}
		return Info{Kind: Other}, nil
	}
	switch mhdr.MType {
	case lorawan.JoinRequest, lorawan.RejoinRequest, lorawan.UnconfirmedDataUp, lorawan.ConfirmedDataUp:
	default:
		return Info{Kind: Other}, nil
	}
	var p lorawan.PHYPayload
	if err := p.UnmarshalBinary(phy); err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch pl := p.MACPayload.(type) {
	case *lorawan.JoinRequestPayload:
		return Info{Kind: Join, JoinEUI: eui(pl.JoinEUI), DevEUI: eui(pl.DevEUI)}, nil
	case *lorawan.RejoinRequestType1Payload:
		return Info{Kind: Join, JoinEUI: eui(pl.JoinEUI), DevEUI: eui(pl.DevEUI)}, nil
	case *lorawan.MACPayload:
		b, err := pl.FHDR.DevAddr.MarshalBinary()
		if err != nil {
			return Info{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		// MarshalBinary gives the little-endian wire order.
		return Info{Kind: Data, DevAddr: binary.LittleEndian.Uint32(b)}, nil
	default:
		// Rejoin types 0 and 2 carry a NetID, not a JoinEUI; the hotspot has
		// no route for them.
		return Info{Kind: Other}, nil
	}
}

func eui(e lorawan.EUI64) uint64 { return binary.BigEndian.Uint64(e[:]) }
