package client

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/hexproof/hexproof/internal/identity"
)

// Cell is an H3 cell index. It travels as a uint64 inside the chain and as
// its canonical lower-case hex string (e.g. "8c2a1072b59ffff") in JSON.
type Cell uint64

// String returns the canonical hex form.
func (c Cell) String() string { return strconv.FormatUint(uint64(c), 16) }

// MarshalText implements encoding.TextMarshaler.
func (c Cell) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Cell) UnmarshalText(b []byte) error {
	v, err := ParseCell(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseCell parses an H3 cell in hex (with or without a 0x prefix).
func ParseCell(s string) (Cell, error) {
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("parse H3 cell %q: want hex like 8c2a1072b59ffff: %w", s, err)
	}
	return Cell(v), nil
}

// HexBytes is a byte string shown as lower-case hex in JSON.
type HexBytes []byte

// MarshalText implements encoding.TextMarshaler.
func (h HexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("parse hex: %w", err)
	}
	*h = v
	return nil
}

// String returns the hex form.
func (h HexBytes) String() string { return hex.EncodeToString(h) }

// Params are the chain parameters, set in the genesis.
type Params struct {
	// Blocks per reward epoch; the epoch ends at heights that are multiples.
	EpochBlocks uint64 `json:"epoch_blocks"`
	// A hotspot beacons at most once per this many blocks.
	BeaconIntervalBlocks uint64 `json:"beacon_interval_blocks"`
	// A block hash is valid beacon entropy for this many blocks after it.
	EntropyValidityBlocks uint64 `json:"entropy_validity_blocks"`
	// A witness must arrive within this many ms of the beacon's transmission.
	WitnessDeadlineMs uint64 `json:"witness_deadline_ms"`
	// ...and within this many ms of the first witness.
	WitnessAfterFirstMs uint64 `json:"witness_after_first_ms"`
	// Witnesses rewarded per beacon.
	MaxWitnessesPerBeacon uint32 `json:"max_witnesses_per_beacon"`
	// Largest frequency difference between beacon and witness, Hz.
	MaxFrequencyDeltaHz uint64 `json:"max_frequency_delta_hz"`
	// Witnesses closer than this many res-11 cells are invalid.
	MinWitnessDistanceRes11 uint64 `json:"min_witness_distance_res11"`
	// Witnesses farther than this are invalid, metres.
	MaxWitnessDistanceM uint64 `json:"max_witness_distance_m"`
	// A beaconer needs a valid witness (and a witness a valid beacon) within
	// this many blocks to be rewarded.
	ReciprocityBlocks uint64 `json:"reciprocity_blocks"`

	// Smallest fee a transaction may offer, micro-HXP. Fees are burned.
	MinFeeUHXP uint64 `json:"min_fee_uhxp"`
	// DC charged to the owner for adding a hotspot.
	HotspotAddFeeDC uint64 `json:"hotspot_add_fee_dc"`
	// DC charged to the owner for every location assertion (first or later).
	AssertLocationFeeDC uint64 `json:"assert_location_fee_dc"`
	// DC charged for registering an OUI.
	OuiCreateFeeDC uint64 `json:"oui_create_fee_dc"`
	// Largest OUI configuration accepted (ranges + pairs + routers).
	MaxOuiEntries uint32 `json:"max_oui_entries"`
	// Witness reports accepted in one PoC receipt (verified, not all rewarded).
	MaxWitnessesPerReceipt uint32 `json:"max_witnesses_per_receipt"`
}

// Account is an account's balances. HXP is in micro-units (1 HXP = 1e6).
type Account struct {
	Address     identity.Address `json:"address"`
	BalanceUHXP uint64           `json:"balance_uhxp"`
	DC          uint64           `json:"dc"`
	Nonce       uint64           `json:"nonce"`
}

// Hotspot is an onboarded hotspot.
type Hotspot struct {
	Address identity.Address `json:"address"`
	Owner   identity.Address `json:"owner"`
	// "full" or "data_only".
	Mode        string `json:"mode"`
	AddedHeight int64  `json:"added_height"`
	// Location is zero until asserted.
	Location       Cell   `json:"location"`
	GainDdbi       int32  `json:"gain_ddbi"`
	ElevationM     int32  `json:"elevation_m"`
	Region         string `json:"region"`
	AssertedHeight int64  `json:"asserted_height"`
	AssertCount    uint64 `json:"assert_count"`
	// Height of the last valid beacon, 0 if none.
	LastBeaconHeight int64 `json:"last_beacon_height"`
	// Height of the last valid witness report, 0 if none.
	LastWitnessHeight int64 `json:"last_witness_height"`
}

// Mode names.
const (
	ModeFull     = "full"
	ModeDataOnly = "data_only"
)

// DevAddrRange is an inclusive DevAddr range.
type DevAddrRange struct {
	Start uint32 `json:"start"`
	End   uint32 `json:"end"`
}

// EuiPair routes joins; DevEUI 0 matches every DevEUI of the JoinEUI.
type EuiPair struct {
	JoinEUI uint64 `json:"join_eui"`
	DevEUI  uint64 `json:"dev_eui"`
}

// Router is a router endpoint registered in an OUI.
type Router struct {
	Endpoint  string           `json:"endpoint"`
	PublicKey identity.Address `json:"public_key"`
}

// OuiConfig is an OUI's routing configuration.
type OuiConfig struct {
	Payer         identity.Address `json:"payer"`
	NetID         uint32           `json:"net_id"`
	DevAddrRanges []DevAddrRange   `json:"devaddr_ranges"`
	EuiPairs      []EuiPair        `json:"eui_pairs"`
	Routers       []Router         `json:"routers"`
	MaxCopies     uint32           `json:"max_copies"`
	FreeJoins     bool             `json:"free_joins"`
}

// OUI is a registered organization with its routing configuration and the
// DC escrow that pays for its packets.
type OUI struct {
	OUI           uint64           `json:"oui"`
	Owner         identity.Address `json:"owner"`
	Config        OuiConfig        `json:"config"`
	EscrowDC      uint64           `json:"escrow_dc"`
	CreatedHeight int64            `json:"created_height"`
	UpdatedHeight int64            `json:"updated_height"`
}

// Route is an OUI that a DevAddr or EUI pair routes to.
type Route struct {
	OUI       uint64   `json:"oui"`
	NetID     uint32   `json:"net_id"`
	Routers   []Router `json:"routers"`
	MaxCopies uint32   `json:"max_copies"`
	FreeJoins bool     `json:"free_joins"`
	EscrowDC  uint64   `json:"escrow_dc"`
	// False when the OUI's escrow is empty: no packets should be routed.
	Active bool `json:"active"`
}

// BeaconReceipt is the chain's verdict on one PoC receipt.
type BeaconReceipt struct {
	// ID identifies the beacon (see BeaconID).
	ID      HexBytes         `json:"id"`
	Beaconer identity.Address `json:"beaconer"`
	Height  int64            `json:"height"`
	// Submitter of the receipt tx (usually an oracle).
	Submitter     identity.Address `json:"submitter"`
	EntropyHeight uint64           `json:"entropy_height"`
	FrequencyHz   uint64           `json:"frequency_hz"`
	Datarate      string           `json:"datarate"`
	Location      Cell             `json:"location"`
	Valid         bool             `json:"valid"`
	// Machine-readable reason when invalid (e.g. "entropy_expired").
	Reason    string           `json:"reason,omitempty"`
	Witnesses []WitnessVerdict `json:"witnesses"`
}

// WitnessVerdict is the verdict on one witness report of a beacon.
type WitnessVerdict struct {
	Witness     identity.Address `json:"witness"`
	Valid       bool             `json:"valid"`
	Reason      string           `json:"reason,omitempty"`
	// Selected for rewards (at most max_witnesses_per_beacon are).
	Selected    bool   `json:"selected"`
	RssiDbm     int32  `json:"rssi_dbm"`
	SnrCb       int32  `json:"snr_cb"`
	FrequencyHz uint64 `json:"frequency_hz"`
	ReceivedAtMs uint64 `json:"received_at_ms"`
	Location    Cell   `json:"location"`
	DistanceM   uint64 `json:"distance_m"`
}

// PocEntry is one beacon or witness of a hotspot, newest first in lists.
type PocEntry struct {
	// "beacon" or "witness".
	Kind     string   `json:"kind"`
	BeaconID HexBytes `json:"beacon_id"`
	Height   int64    `json:"height"`
	// The beaconer (for witness entries, the hotspot heard).
	Beaconer identity.Address `json:"beaconer"`
	Valid    bool             `json:"valid"`
	Reason   string           `json:"reason,omitempty"`
}

// HotspotPoC is the recent PoC history of a hotspot.
type HotspotPoC struct {
	Hotspot identity.Address `json:"hotspot"`
	Entries []PocEntry       `json:"entries"`
}

// Reward is what one hotspot (or account) earned in one epoch, in micro-HXP.
type Reward struct {
	Epoch   uint64           `json:"epoch"`
	Hotspot identity.Address `json:"hotspot"`
	Owner   identity.Address `json:"owner"`
	Beacon  uint64           `json:"beacon_uhxp"`
	Witness uint64           `json:"witness_uhxp"`
	Data    uint64           `json:"data_uhxp"`
	Total   uint64           `json:"total_uhxp"`
	// Explanation: units, scale and counts behind the figures.
	BeaconUnits  string `json:"beacon_units,omitempty"`
	WitnessUnits string `json:"witness_units,omitempty"`
	HexScale     string `json:"hex_scale,omitempty"`
	Beacons      uint64 `json:"beacons"`
	Witnesses    uint64 `json:"witnesses"`
	DataDC       uint64 `json:"data_dc"`
}

// Epoch summarizes one ended epoch.
type Epoch struct {
	Epoch       uint64 `json:"epoch"`
	StartHeight int64  `json:"start_height"`
	EndHeight   int64  `json:"end_height"`
	// Emission minted at the epoch end, micro-HXP; equals the pools' sum.
	EmissionUHXP  uint64 `json:"emission_uhxp"`
	BeaconPool    uint64 `json:"beacon_pool_uhxp"`
	WitnessPool   uint64 `json:"witness_pool_uhxp"`
	DataPool      uint64 `json:"data_pool_uhxp"`
	ValidatorPool uint64 `json:"validator_pool_uhxp"`
	OraclePool    uint64 `json:"oracle_pool_uhxp"`
	// Whatever could not be paid (no eligible recipients, rounding),
	// credited to the remainder account so the minted total stays exact.
	Remainder      uint64 `json:"remainder_uhxp"`
	RewardedHotspots uint64 `json:"rewarded_hotspots"`
}

// AccountReward is a non-hotspot reward of an epoch (validator or oracle).
type AccountReward struct {
	Epoch   uint64           `json:"epoch"`
	Account identity.Address `json:"account"`
	// "validator", "oracle" or "remainder".
	Kind   string `json:"kind"`
	Amount uint64 `json:"amount_uhxp"`
}

// Price is the on-chain HXP price.
type Price struct {
	// Micro-USD per whole HXP (stake-weighted median of validator votes).
	PriceUUSD uint64 `json:"price_uusd"`
	// Height of the block whose votes last set it (0: genesis value).
	UpdatedHeight int64 `json:"updated_height"`
	// Votes of that height.
	Votes []PriceVote `json:"votes"`
}

// PriceVote is one validator's price vote.
type PriceVote struct {
	Validator HexBytes `json:"validator"`
	Power     int64    `json:"power"`
	PriceUUSD uint64   `json:"price_uusd"`
}

// VoucherState is how much of a router's vouchers the chain paid a hotspot.
type VoucherState struct {
	OUI     uint64           `json:"oui"`
	Hotspot identity.Address `json:"hotspot"`
	Epoch   uint64           `json:"epoch"`
	// Cumulative DC paid so far (the highest voucher claimed).
	PaidDC  uint64 `json:"paid_dc"`
	Packets uint64 `json:"packets"`
}

// DensityScale is the hex density reward scale of a cell.
type DensityScale struct {
	Cell Cell `json:"cell"`
	// Scale as a fraction in parts per million (1000000 = no reduction).
	ScalePPM uint64 `json:"scale_ppm"`
	// Per resolution: clipped/unclipped counts behind the scale.
	Levels []DensityLevel `json:"levels"`
}

// DensityLevel is one resolution of a density computation.
type DensityLevel struct {
	Resolution int    `json:"resolution"`
	Cell       Cell   `json:"cell"`
	Unclipped  uint64 `json:"unclipped"`
	Clipped    uint64 `json:"clipped"`
}

// Validator is a validator's stake from the genesis.
type Validator struct {
	Address HexBytes         `json:"address"`
	PubKey  HexBytes         `json:"pub_key"`
	Power   int64            `json:"power"`
	Name    string           `json:"name,omitempty"`
	Reward  identity.Address `json:"reward_account"`
}

// Supply is the token supply accounting.
type Supply struct {
	TotalUHXP  uint64 `json:"total_uhxp"`
	MintedUHXP uint64 `json:"minted_uhxp"`
	BurnedUHXP uint64 `json:"burned_uhxp"`
	DCIssued   uint64 `json:"dc_issued"`
	DCBurned   uint64 `json:"dc_burned"`
}
