package ingest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// PayloadSize is the size of a beacon payload (chain/beacon.PayloadSize).
const PayloadSize = 51

// Reason is a machine-readable cause of a rejected report; it travels as the
// Reason of a google.rpc.ErrorInfo with domain ErrorDomain.
type Reason string

// ErrorDomain is the ErrorInfo domain of rejections.
const ErrorDomain = "ingest.oracle.hexproof"

// Rejection reasons.
const (
	ReasonMissingReport    Reason = "missing_report"
	ReasonBadHotspotKey    Reason = "bad_hotspot_key"
	ReasonBadPayloadSize   Reason = "bad_payload_size"
	ReasonBadEntropy       Reason = "bad_entropy"
	ReasonBadRadio         Reason = "bad_radio_params"
	ReasonMissingRadio     Reason = "missing_radio"
	ReasonBadSignature     Reason = "bad_signature"
	ReasonTimeInvalid      Reason = "time_invalid"
	ReasonEntropyUnknown   Reason = "entropy_unknown"
	ReasonEntropyMismatch  Reason = "entropy_mismatch"
	ReasonEntropyExpired   Reason = "entropy_expired"
	ReasonSelfWitness      Reason = "self_witness"
	ReasonBeaconSubmitted  Reason = "beacon_already_submitted"
	ReasonTooManyWitnesses Reason = "too_many_witnesses"
	ReasonConflict         Reason = "conflicting_report"
)

// Rejection is a report refused by a cheap rule.
type Rejection struct {
	Reason Reason
	Detail string
}

func (r *Rejection) Error() string { return string(r.Reason) + ": " + r.Detail }

func reject(reason Reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// reportID is the stable id of a report: hex SHA-256 of its signing bytes
// (the domain, a zero byte, then the deterministic encoding without the
// signature).
func reportID(d identity.Domain, signBytes []byte) string {
	h := sha256.Sum256(identity.SignBytes(d, signBytes))
	return hex.EncodeToString(h[:])
}

// checkBeacon applies the rules that need no chain state; it returns the
// report id.
func checkBeacon(b *hexproofv1.BeaconReport, nowMs, skewMs uint64) (string, *Rejection) {
	if b == nil {
		return "", reject(ReasonMissingReport, "the request carries no beacon report")
	}
	if len(b.GetHotspot()) != ed25519.PublicKeySize {
		return "", reject(ReasonBadHotspotKey, "hotspot key is %d bytes, want %d", len(b.GetHotspot()), ed25519.PublicKeySize)
	}
	if len(b.GetPayload()) != PayloadSize {
		return "", reject(ReasonBadPayloadSize, "payload is %d bytes, want %d", len(b.GetPayload()), PayloadSize)
	}
	if len(b.GetEntropy()) != 32 || b.GetEntropyHeight() == 0 {
		return "", reject(ReasonBadEntropy, "entropy must be a 32-byte block hash with its height (got %d bytes at height %d)", len(b.GetEntropy()), b.GetEntropyHeight())
	}
	if b.GetFrequencyHz() == 0 || b.GetDatarate() == "" {
		return "", reject(ReasonBadRadio, "frequency_hz and datarate must be set")
	}
	sb, err := identity.MessageSignBytes(b)
	if err != nil {
		return "", reject(ReasonBadSignature, "%v", err)
	}
	if err := identity.Verify(b.GetHotspot(), identity.DomainBeacon, sb, b.GetSignature()); err != nil {
		return "", reject(ReasonBadSignature, "beacon signature does not verify under the hotspot key: %v", err)
	}
	if b.GetTransmittedAtMs() > nowMs+skewMs {
		return "", reject(ReasonTimeInvalid, "transmitted_at_ms %d is in the future (oracle clock %d, allowed skew %d ms)", b.GetTransmittedAtMs(), nowMs, skewMs)
	}
	return reportID(identity.DomainBeacon, sb), nil
}

// checkWitness applies the rules that need no chain state.
func checkWitness(w *hexproofv1.WitnessReport, nowMs, skewMs uint64) (string, *Rejection) {
	if w == nil {
		return "", reject(ReasonMissingReport, "the request carries no witness report")
	}
	if len(w.GetHotspot()) != ed25519.PublicKeySize {
		return "", reject(ReasonBadHotspotKey, "hotspot key is %d bytes, want %d", len(w.GetHotspot()), ed25519.PublicKeySize)
	}
	if len(w.GetPayload()) != PayloadSize {
		return "", reject(ReasonBadPayloadSize, "payload is %d bytes, want %d", len(w.GetPayload()), PayloadSize)
	}
	r := w.GetRadio()
	if r == nil {
		return "", reject(ReasonMissingRadio, "radio metadata is required")
	}
	if r.GetFrequencyHz() == 0 || r.GetDatarate() == "" || r.GetReceivedAtMs() == 0 {
		return "", reject(ReasonBadRadio, "radio frequency_hz, datarate and received_at_ms must be set")
	}
	sb, err := identity.MessageSignBytes(w)
	if err != nil {
		return "", reject(ReasonBadSignature, "%v", err)
	}
	if err := identity.Verify(w.GetHotspot(), identity.DomainWitness, sb, w.GetSignature()); err != nil {
		return "", reject(ReasonBadSignature, "witness signature does not verify under the hotspot key: %v", err)
	}
	if r.GetReceivedAtMs() > nowMs+skewMs {
		return "", reject(ReasonTimeInvalid, "received_at_ms %d is in the future (oracle clock %d, allowed skew %d ms)", r.GetReceivedAtMs(), nowMs, skewMs)
	}
	return reportID(identity.DomainWitness, sb), nil
}
