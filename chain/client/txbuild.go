package client

import (
	"crypto/sha256"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

var deterministic = proto.MarshalOptions{Deterministic: true}

// SignTx completes body with the signer's public key, encodes it
// deterministically, signs it under identity.DomainTx and returns the
// encoded Tx envelope ready to broadcast. body.ChainId, Nonce, Fee and the
// payload must already be set.
func SignTx(key *identity.Key, body *hexproofv1.TxBody) ([]byte, error) {
	body.Signer = key.PublicKey()
	b, err := deterministic.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode tx body: %w", err)
	}
	tx := &hexproofv1.Tx{Body: b, Signature: key.Sign(identity.DomainTx, b)}
	out, err := deterministic.Marshal(tx)
	if err != nil {
		return nil, fmt.Errorf("encode tx: %w", err)
	}
	return out, nil
}

// TxHash is the hash CometBFT indexes a transaction under (SHA-256).
func TxHash(tx []byte) []byte {
	h := sha256.Sum256(tx)
	return h[:]
}

// HotspotAddSignBytes returns what the hotspot key signs (under
// identity.DomainHotspotAdd) to consent to being added by owner.
func HotspotAddSignBytes(chainID string, owner, hotspot []byte, mode hexproofv1.HotspotMode) ([]byte, error) {
	return deterministic.Marshal(&hexproofv1.HotspotAddSignBytes{ChainId: chainID, Owner: owner, Hotspot: hotspot, Mode: mode})
}

// SignHotspotAdd returns a HotspotAdd payload signed by the hotspot key for
// the given owner.
func SignHotspotAdd(hotspotKey *identity.Key, chainID string, owner identity.Address, mode hexproofv1.HotspotMode) (*hexproofv1.HotspotAdd, error) {
	b, err := HotspotAddSignBytes(chainID, owner.Bytes(), hotspotKey.PublicKey(), mode)
	if err != nil {
		return nil, fmt.Errorf("encode hotspot add sign bytes: %w", err)
	}
	return &hexproofv1.HotspotAdd{
		Hotspot:          hotspotKey.PublicKey(),
		Mode:             mode,
		HotspotSignature: hotspotKey.Sign(identity.DomainHotspotAdd, b),
	}, nil
}

// BeaconID identifies a beacon: SHA-256 of the deterministic encoding of the
// signed BeaconReport. Query PathBeacon with it.
func BeaconID(b *hexproofv1.BeaconReport) ([]byte, error) {
	enc, err := deterministic.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode beacon report: %w", err)
	}
	h := sha256.Sum256(enc)
	return h[:], nil
}

// SetPayload puts a payload message into body's oneof. It accepts every
// payload type of tx.proto.
func SetPayload(body *hexproofv1.TxBody, payload proto.Message) error {
	switch p := payload.(type) {
	case *hexproofv1.Transfer:
		body.Payload = &hexproofv1.TxBody_Transfer{Transfer: p}
	case *hexproofv1.BurnForDc:
		body.Payload = &hexproofv1.TxBody_BurnForDc{BurnForDc: p}
	case *hexproofv1.HotspotAdd:
		body.Payload = &hexproofv1.TxBody_HotspotAdd{HotspotAdd: p}
	case *hexproofv1.AssertLocation:
		body.Payload = &hexproofv1.TxBody_AssertLocation{AssertLocation: p}
	case *hexproofv1.HotspotTransfer:
		body.Payload = &hexproofv1.TxBody_HotspotTransfer{HotspotTransfer: p}
	case *hexproofv1.OuiCreate:
		body.Payload = &hexproofv1.TxBody_OuiCreate{OuiCreate: p}
	case *hexproofv1.OuiUpdate:
		body.Payload = &hexproofv1.TxBody_OuiUpdate{OuiUpdate: p}
	case *hexproofv1.PocReceipt:
		body.Payload = &hexproofv1.TxBody_PocReceipt{PocReceipt: p}
	case *hexproofv1.VoucherClaim:
		body.Payload = &hexproofv1.TxBody_VoucherClaim{VoucherClaim: p}
	case *hexproofv1.PriceVotes:
		body.Payload = &hexproofv1.TxBody_PriceVotes{PriceVotes: p}
	default:
		return fmt.Errorf("unknown tx payload type %T", payload)
	}
	return nil
}

// BuildTx builds and signs a Tx carrying payload.
func BuildTx(key *identity.Key, chainID string, nonce, fee uint64, payload proto.Message) ([]byte, error) {
	body := &hexproofv1.TxBody{ChainId: chainID, Nonce: nonce, Fee: fee}
	if err := SetPayload(body, payload); err != nil {
		return nil, err
	}
	return SignTx(key, body)
}
