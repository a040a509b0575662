package poc

// Reason is a machine-readable cause of an invalid report. The empty Reason
// means valid. Values are stable: they are stored on chain and queried.
type Reason string

// Beacon reasons, in the order they are checked.
const (
	BeaconMalformed           Reason = "beacon_malformed"             // missing report, key not 32 bytes, payload not 51 bytes
	BeaconUnknownHotspot      Reason = "beacon_unknown_hotspot"       // beaconer not on chain
	BeaconBadSignature        Reason = "beacon_bad_signature"         // signature does not verify
	BeaconDataOnly            Reason = "beacon_data_only"             // beaconer is a data-only hotspot
	BeaconLocationNotAsserted Reason = "beacon_location_not_asserted" // no valid res>=11 location or no region with a beacon plan
	BeaconEntropyUnknown      Reason = "beacon_entropy_unknown"       // no block at entropy_height, or its hash differs
	BeaconEntropyExpired      Reason = "beacon_entropy_expired"       // entropy older than EntropyValidityBlocks (or not yet committed)
	BeaconTimeInvalid         Reason = "beacon_time_invalid"          // transmitted before the entropy block or after the current block (beyond MaxClockSkewMs)
	BeaconIrregularInterval   Reason = "beacon_irregular_interval"    // less than BeaconIntervalBlocks since the last beacon
	BeaconPayloadMismatch     Reason = "beacon_payload_mismatch"      // payload is not what the entropy dictates
	BeaconFrequencyMismatch   Reason = "beacon_frequency_mismatch"    // frequency is not what the entropy dictates
	BeaconDataRateMismatch    Reason = "beacon_datarate_mismatch"     // data rate is not what the entropy dictates
	BeaconTxPowerTooHigh      Reason = "beacon_tx_power_too_high"     // reported tx power above region max EIRP - antenna gain
	BeaconNoRecentWitness     Reason = "beacon_no_recent_witness"     // reciprocity: no physical witness within ReciprocityWindowBlocks
)

// Witness reasons, in the order they are checked.
const (
	WitnessMalformed           Reason = "witness_malformed"             // missing report or radio, key not 32 bytes
	WitnessOverLimit           Reason = "witness_over_limit"            // beyond MaxWitnessesPerReceipt in the receipt (not examined)
	WitnessSelf                Reason = "witness_self"                  // the beaconer witnessing itself
	WitnessUnknownHotspot      Reason = "witness_unknown_hotspot"       // witness not on chain
	WitnessBadSignature        Reason = "witness_bad_signature"         // signature does not verify
	WitnessDuplicate           Reason = "witness_duplicate"             // another correctly signed report of the same hotspot is kept
	WitnessDataOnly            Reason = "witness_data_only"             // witness is a data-only hotspot
	WitnessLocationNotAsserted Reason = "witness_location_not_asserted" // no valid res>=11 location
	WitnessBeaconInvalid       Reason = "witness_beacon_invalid"        // the beacon is invalid, so nothing heard counts
	WitnessPayloadMismatch     Reason = "witness_payload_mismatch"      // payload differs from the beacon's
	WitnessFrequencyMismatch   Reason = "witness_frequency_mismatch"    // |frequency - beacon frequency| > MaxFrequencyDeltaHz
	WitnessDataRateMismatch    Reason = "witness_datarate_mismatch"     // heard at another data rate than the beacon's (beyond Helium)
	WitnessOtherRegion         Reason = "witness_other_region"          // asserted (or reported) region differs from the beaconer's
	WitnessEntropyExpired      Reason = "witness_entropy_expired"       // received before the entropy block or after the current block (beyond MaxClockSkewMs)
	WitnessBeforeBeacon        Reason = "witness_before_beacon"         // received more than MaxClockSkewMs before the beacon was sent
	WitnessTooLate             Reason = "witness_too_late"              // received more than WitnessMaxDelayMs after the beacon was sent
	WitnessTooLateAfterFirst   Reason = "witness_too_late_after_first"  // received more than WitnessMaxDelayAfterFirstMs after the first witness
	WitnessTooClose            Reason = "witness_too_close"             // fewer than MinWitnessCellDistance res-11 cells from the beaconer
	WitnessTooFar              Reason = "witness_too_far"               // farther than MaxWitnessDistanceM
	WitnessRssiTooHigh         Reason = "witness_rssi_too_high"         // RSSI above what free-space path loss allows (+ MaxRssiExcessDB)
	WitnessSnrTooLow           Reason = "witness_snr_too_low"           // SNR below what LoRa can demodulate at that data rate, minus SnrMarginDB (3 dB) (beyond Helium)
	WitnessNoRecentBeacon      Reason = "witness_no_recent_beacon"      // reciprocity: no physical beacon within ReciprocityWindowBlocks
)

// Reasons lists every reason in check order: beacons, then witnesses.
var Reasons = []Reason{
	BeaconMalformed, BeaconUnknownHotspot, BeaconBadSignature, BeaconDataOnly,
	BeaconLocationNotAsserted, BeaconEntropyUnknown, BeaconEntropyExpired,
	BeaconTimeInvalid, BeaconIrregularInterval, BeaconPayloadMismatch,
	BeaconFrequencyMismatch, BeaconDataRateMismatch, BeaconTxPowerTooHigh,
	BeaconNoRecentWitness,
	WitnessMalformed, WitnessOverLimit, WitnessSelf, WitnessUnknownHotspot,
	WitnessBadSignature, WitnessDuplicate, WitnessDataOnly,
	WitnessLocationNotAsserted, WitnessBeaconInvalid, WitnessPayloadMismatch,
	WitnessFrequencyMismatch, WitnessDataRateMismatch, WitnessOtherRegion, WitnessEntropyExpired,
	WitnessBeforeBeacon, WitnessTooLate, WitnessTooLateAfterFirst,
	WitnessTooClose, WitnessTooFar, WitnessRssiTooHigh, WitnessSnrTooLow,
	WitnessNoRecentBeacon,
}
