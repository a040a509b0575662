package mqtt

import (
	"fmt"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/firmware-bridge/convert"
)

// Marshaler selects the payload encoding.
type Marshaler int

// Payload encodings.
const (
	Protobuf Marshaler = iota
	JSON
)

// ParseMarshaler parses "protobuf" or "json".
func ParseMarshaler(s string) (Marshaler, error) {
	switch s {
	case "protobuf", "":
		return Protobuf, nil
	case "json":
		return JSON, nil
	}
	return 0, fmt.Errorf("marshaler %q: use protobuf or json", s)
}

func (m Marshaler) String() string {
	if m == JSON {
		return "json"
	}
	return "protobuf"
}

// Marshal encodes msg.
func (m Marshaler) Marshal(msg proto.Message) ([]byte, error) {
	if m == JSON {
		return protojson.MarshalOptions{UseProtoNames: false}.Marshal(msg)
	}
	if f, ok := msg.(*gw.UplinkFrame); ok {
		// The hot path: uplinks without reflection (same bytes on decode).
		if b, ok := convert.AppendUplinkFrame(make([]byte, 0, 64+len(f.PhyPayload)*5/4+64), f); ok {
			return b, nil
		}
	}
	return proto.Marshal(msg)
}

// Unmarshal decodes b into msg; JSON is recognised by its leading '{' so a
// command in either encoding is accepted.
func (m Marshaler) Unmarshal(b []byte, msg proto.Message) error {
	for _, c := range b {
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			continue
		}
		if c == '{' {
			return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, msg)
		}
		break
	}
	return proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, msg)
}
