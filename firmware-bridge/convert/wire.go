package convert

import (
	"math"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// AppendUplinkFrame appends the protobuf encoding of f to b without
// reflection; proto.Marshal spends most of its time on the metadata map and
// was the largest CPU cost per uplink. It handles exactly the fields
// UplinkFrames sets and reports false for anything else (legacy fields,
// location, ns_time), so the caller falls back to proto.Marshal. Field
// numbers are those of chirpstack api/proto/gw/gw.proto; a test checks
// that proto.Unmarshal of the result equals f.
func AppendUplinkFrame(b []byte, f *gw.UplinkFrame) ([]byte, bool) {
	if f.TxInfoLegacy != nil || f.RxInfoLegacy != nil || len(f.ProtoReflect().GetUnknown()) > 0 {
		return b, false
	}
	ok := true
	b = appendBytes(b, 1, f.PhyPayload)
	if t := f.TxInfo; t != nil {
		b = appendMsg(b, 4, func(b []byte) []byte {
			b = appendVarint(b, 1, uint64(t.Frequency))
			if m := t.Modulation; m != nil {
				b = appendMsg(b, 2, func(b []byte) []byte {
					var mok bool
					b, mok = appendModulation(b, m)
					ok = ok && mok
					return b
				})
			}
			return b
		})
	}
	if r := f.RxInfo; r != nil {
		if r.Location != nil || r.NsTime != nil {
			return b, false
		}
		b = appendMsg(b, 5, func(b []byte) []byte {
			b = appendString(b, 1, r.GatewayId)
			b = appendVarint(b, 2, uint64(r.UplinkId))
			if r.GwTime != nil {
				b = appendMsg(b, 3, func(b []byte) []byte { return appendTimestamp(b, r.GwTime) })
			}
			if r.TimeSinceGpsEpoch != nil {
				b = appendMsg(b, 4, func(b []byte) []byte { return appendDuration(b, r.TimeSinceGpsEpoch) })
			}
			if r.FineTimeSinceGpsEpoch != nil {
				b = appendMsg(b, 5, func(b []byte) []byte { return appendDuration(b, r.FineTimeSinceGpsEpoch) })
			}
			b = appendVarint(b, 6, uint64(int64(r.Rssi)))
			if r.Snr != 0 || math.Signbit(float64(r.Snr)) {
				b = protowire.AppendTag(b, 7, protowire.Fixed32Type)
				b = protowire.AppendFixed32(b, math.Float32bits(r.Snr))
			}
			b = appendVarint(b, 8, uint64(r.Channel))
			b = appendVarint(b, 9, uint64(r.RfChain))
			b = appendVarint(b, 10, uint64(r.Board))
			b = appendVarint(b, 11, uint64(r.Antenna))
			b = appendBytes(b, 13, r.Context)
			for k, v := range r.Metadata {
				b = appendMsg(b, 15, func(b []byte) []byte {
					b = appendString(b, 1, k)
					return appendString(b, 2, v)
				})
			}
			b = appendVarint(b, 16, uint64(r.CrcStatus))
			return b
		})
	}
	return b, ok
}

func appendModulation(b []byte, m *gw.Modulation) ([]byte, bool) {
	switch p := m.Parameters.(type) {
	case *gw.Modulation_Lora:
		l := p.Lora
		if l.CodeRateLegacy != "" {
			return b, false
		}
		return appendMsg(b, 3, func(b []byte) []byte {
			b = appendVarint(b, 1, uint64(l.Bandwidth))
			b = appendVarint(b, 2, uint64(l.SpreadingFactor))
			b = appendBool(b, 4, l.PolarizationInversion)
			b = appendVarint(b, 5, uint64(l.CodeRate))
			b = appendVarint(b, 6, uint64(l.Preamble))
			return appendBool(b, 7, l.NoCrc)
		}), true
	case *gw.Modulation_Fsk:
		s := p.Fsk
		return appendMsg(b, 4, func(b []byte) []byte {
			b = appendVarint(b, 1, uint64(s.FrequencyDeviation))
			return appendVarint(b, 2, uint64(s.Datarate))
		}), true
	case *gw.Modulation_LrFhss:
		l := p.LrFhss
		if l.CodeRateLegacy != "" {
			return b, false
		}
		return appendMsg(b, 5, func(b []byte) []byte {
			b = appendVarint(b, 1, uint64(l.OperatingChannelWidth))
			b = appendVarint(b, 3, uint64(l.GridSteps))
			return appendVarint(b, 4, uint64(l.CodeRate))
		}), true
	case nil:
		return b, true
	}
	return b, false
}

func appendTimestamp(b []byte, t *timestamppb.Timestamp) []byte {
	b = appendVarint(b, 1, uint64(t.Seconds))
	return appendVarint(b, 2, uint64(int64(t.Nanos)))
}

func appendDuration(b []byte, d *durationpb.Duration) []byte {
	b = appendVarint(b, 1, uint64(d.Seconds))
	return appendVarint(b, 2, uint64(int64(d.Nanos)))
}

// appendVarint writes a non-zero varint field (proto3 omits zero).
func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBool(b []byte, num protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	return appendVarint(b, num, 1)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendString(b []byte, num protowire.Number, v string) []byte {
	if v == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// appendMsg writes a length-delimited sub-message: it reserves one byte
// for the length and moves the body when the length needs more.
func appendMsg(b []byte, num protowire.Number, body func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	at := len(b)
	b = append(b, 0)
	b = body(b)
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	extra := protowire.SizeVarint(uint64(n)) - 1
	b = append(b, make([]byte, extra)...)
	copy(b[at+1+extra:], b[at+1:at+1+n])
	protowire.AppendVarint(b[at:at], uint64(n))
	return b
}
