package poc

import (
	"errors"
	"fmt"
)

// Params are the chain parameters of proof of coverage. Durations on chain
// are in blocks; report timestamps are compared in milliseconds. The
// defaults assume about one block per second (CometBFT's default
// timeout_commit); a chain with slower blocks scales the block counts.
type Params struct {
	// BeaconIntervalBlocks is the minimum distance between the entropy
	// heights of two beacons of one hotspot (Helium: 6 h).
	BeaconIntervalBlocks uint64 `json:"beacon_interval_blocks"`
	// EntropyValidityBlocks is how many blocks after its height a block
	// hash stays usable as beacon entropy, i.e. the longest a receipt may
	// take to land.
	EntropyValidityBlocks uint64 `json:"entropy_validity_blocks"`
	// ReciprocityWindowBlocks: a beaconer needs a physical witness, and a
	// witness a physical beacon, at most this many blocks (of entropy
	// height) before (Helium: 48 h).
	ReciprocityWindowBlocks uint64 `json:"reciprocity_window_blocks"`
	// WitnessMaxDelayMs: a witness must be received at most this long
	// after the beacon was transmitted (Helium: 4000 ms).
	WitnessMaxDelayMs uint64 `json:"witness_max_delay_ms"`
	// WitnessMaxDelayAfterFirstMs: ... and at most this long after the
	// first physical witness (Helium: 1500 ms).
	WitnessMaxDelayAfterFirstMs uint64 `json:"witness_max_delay_after_first_ms"`
	// MaxClockSkewMs is the tolerance for hotspot clocks against block times
	// and against each other.
	MaxClockSkewMs uint64 `json:"max_clock_skew_ms"`
	// MaxFrequencyDeltaHz bounds |witness frequency - beacon frequency|
	// (Helium: 100 kHz).
	MaxFrequencyDeltaHz uint64 `json:"max_frequency_delta_hz"`
	// MinWitnessCellDistance is the minimum grid distance between beaconer
	// and witness at resolution 11 (Helium: 8).
	MinWitnessCellDistance int64 `json:"min_witness_cell_distance"`
	// MaxWitnessDistanceM is the maximum estimated distance (Helium: 100 km).
	MaxWitnessDistanceM uint64 `json:"max_witness_distance_m"`
	// MaxRssiExcessDB is how far (dB) a witness RSSI may exceed the
	// free-space prediction (multipath can add a few dB).
	MaxRssiExcessDB int64 `json:"max_rssi_excess_db"`
	// MaxWitnessesRewarded per beacon (Helium: 14).
	MaxWitnessesRewarded int `json:"max_witnesses_rewarded"`
	// MaxWitnessesPerReceipt bounds the work one receipt can cause; reports
	// beyond it get WitnessOverLimit without being examined.
	MaxWitnessesPerReceipt int `json:"max_witnesses_per_receipt"`
}

// DefaultParams returns Helium's values, in blocks of about one second.
func DefaultParams() Params {
	return Params{
		BeaconIntervalBlocks:        6 * 3600,
		EntropyValidityBlocks:       300,
		ReciprocityWindowBlocks:     48 * 3600,
		WitnessMaxDelayMs:           4000,
		WitnessMaxDelayAfterFirstMs: 1500,
		MaxClockSkewMs:              2000,
		MaxFrequencyDeltaHz:         100_000,
		MinWitnessCellDistance:      8,
		MaxWitnessDistanceM:         100_000,
		MaxRssiExcessDB:             6,
		MaxWitnessesRewarded:        14,
		MaxWitnessesPerReceipt:      64,
	}
}

// ErrBadParams is wrapped by Validate's errors.
var ErrBadParams = errors.New("invalid proof-of-coverage params")

// Validate reports parameters that would make verification meaningless.
func (p Params) Validate() error {
	switch {
	case p.BeaconIntervalBlocks == 0:
		return fmt.Errorf("%w: beacon_interval_blocks must be > 0", ErrBadParams)
	case p.EntropyValidityBlocks == 0:
		return fmt.Errorf("%w: entropy_validity_blocks must be > 0", ErrBadParams)
	case p.ReciprocityWindowBlocks == 0:
		return fmt.Errorf("%w: reciprocity_window_blocks must be > 0", ErrBadParams)
	case p.WitnessMaxDelayMs == 0 || p.WitnessMaxDelayAfterFirstMs == 0:
		return fmt.Errorf("%w: witness delays must be > 0", ErrBadParams)
	case p.MaxWitnessDistanceM == 0:
		return fmt.Errorf("%w: max_witness_distance_m must be > 0", ErrBadParams)
	case p.MinWitnessCellDistance < 0:
		return fmt.Errorf("%w: min_witness_cell_distance must be >= 0", ErrBadParams)
	case p.MaxRssiExcessDB < 0 || p.MaxRssiExcessDB > 100:
		return fmt.Errorf("%w: max_rssi_excess_db must be 0..100", ErrBadParams)
	case p.MaxWitnessesRewarded < 1:
		return fmt.Errorf("%w: max_witnesses_rewarded must be >= 1", ErrBadParams)
	case p.MaxWitnessesPerReceipt < p.MaxWitnessesRewarded || p.MaxWitnessesPerReceipt > 1024:
		return fmt.Errorf("%w: max_witnesses_per_receipt must be max_witnesses_rewarded..1024", ErrBadParams)
	}
	return nil
}
