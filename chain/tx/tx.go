package tx

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// MaxTxBytes is the largest transaction accepted.
const MaxTxBytes = 64 << 10

// Error is a refused transaction with its result code.
type Error struct {
	Code uint32
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error with code.
func Errorf(code uint32, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the result code of err (client.CodeInvalid for errors
// that are not *Error).
func CodeOf(err error) uint32 {
	if err == nil {
		return client.CodeOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return client.CodeInvalid
}

// Decoded is a decoded, signature-checked transaction.
type Decoded struct {
	Body   *hexproofv1.TxBody
	Signer identity.Address
}

var (
	strict = proto.UnmarshalOptions{DiscardUnknown: false}
	det    = proto.MarshalOptions{Deterministic: true}
)

// Decode parses raw as a Tx envelope and its TxBody, refusing anything
// but the canonical encoding and unknown fields.
func Decode(raw []byte) (*hexproofv1.Tx, *hexproofv1.TxBody, error) {
	if len(raw) == 0 {
		return nil, nil, Errorf(client.CodeDecode, "empty transaction")
	}
	if len(raw) > MaxTxBytes {
		return nil, nil, Errorf(client.CodeDecode, "transaction is %d bytes, limit %d", len(raw), MaxTxBytes)
	}
	var t hexproofv1.Tx
	if err := strict.Unmarshal(raw, &t); err != nil {
		return nil, nil, Errorf(client.CodeDecode, "decode tx envelope: %v", err)
	}
	if err := canonical(raw, &t); err != nil {
		return nil, nil, Errorf(client.CodeDecode, "tx envelope: %v", err)
	}
	var body hexproofv1.TxBody
	if err := strict.Unmarshal(t.Body, &body); err != nil {
		return nil, nil, Errorf(client.CodeDecode, "decode tx body: %v", err)
	}
	if err := canonical(t.Body, &body); err != nil {
		return nil, nil, Errorf(client.CodeDecode, "tx body: %v", err)
	}
	return &t, &body, nil
}

func canonical(raw []byte, m proto.Message) error {
	if hasUnknown(m) {
		return errors.New("unknown fields; upgrade the node or fix the sender")
	}
	re, err := det.Marshal(m)
	if err != nil {
		return fmt.Errorf("re-encode: %v", err)
	}
	if !bytes.Equal(re, raw) {
		return errors.New("not the canonical (deterministic protobuf) encoding; encode with proto.MarshalOptions{Deterministic: true}")
	}
	return nil
}

func hasUnknown(m proto.Message) bool {
	// A re-encoding keeps unknown fields, so they need their own check.
	found := false
	r := m.ProtoReflect()
	if len(r.GetUnknown()) > 0 {
		return true
	}
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len() && !found; i++ {
				found = hasUnknown(l.Get(i).Message().Interface())
			}
		case fd.Message() != nil && !fd.IsMap():
			found = hasUnknown(v.Message().Interface())
		}
		return !found
	})
	return found
}

// Verify decodes raw and checks chain id, signer and signature.
func Verify(raw []byte, chainID string) (*Decoded, error) { return verify(raw, chainID, true) }

// VerifyKnownSignature is Verify without the signature check, for a
// transaction whose exact bytes were verified before (mempool rechecks).
func VerifyKnownSignature(raw []byte, chainID string) (*Decoded, error) {
	return verify(raw, chainID, false)
}

func verify(raw []byte, chainID string, checkSig bool) (*Decoded, error) {
	t, body, err := Decode(raw)
	if err != nil {
		return nil, err
	}
	if body.ChainId != chainID {
		return nil, Errorf(client.CodeWrongChain, "tx is for chain %q, this is %q", body.ChainId, chainID)
	}
	if len(body.Signer) != ed25519.PublicKeySize {
		return nil, Errorf(client.CodeBadSignature, "signer is %d bytes, want a 32-byte ed25519 key", len(body.Signer))
	}
	if checkSig {
		if err := identity.Verify(body.Signer, identity.DomainTx, t.Body, t.Signature); err != nil {
			return nil, Errorf(client.CodeBadSignature, "tx signature: %v", err)
		}
	}
	if body.Payload == nil {
		return nil, Errorf(client.CodeInvalid, "tx has no payload")
	}
	signer, _ := identity.AddressFromBytes(body.Signer)
	return &Decoded{Body: body, Signer: signer}, nil
}

// Kind names the payload type, for logs and events.
func Kind(body *hexproofv1.TxBody) string {
	switch body.Payload.(type) {
	case *hexproofv1.TxBody_Transfer:
		return "transfer"
	case *hexproofv1.TxBody_BurnForDc:
		return "burn_for_dc"
	case *hexproofv1.TxBody_HotspotAdd:
		return "hotspot_add"
	case *hexproofv1.TxBody_AssertLocation:
		return "assert_location"
	case *hexproofv1.TxBody_HotspotTransfer:
		return "hotspot_transfer"
	case *hexproofv1.TxBody_OuiCreate:
		return "oui_create"
	case *hexproofv1.TxBody_OuiUpdate:
		return "oui_update"
	case *hexproofv1.TxBody_PocReceipt:
		return "poc_receipt"
	case *hexproofv1.TxBody_VoucherClaim:
		return "voucher_claim"
	case *hexproofv1.TxBody_PriceVotes:
		return "price_votes"
	}
	return "none"
}
