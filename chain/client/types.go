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

// Params are the chain parameters, set in the genesis. The proof-of-coverage
// fields mirror chain/poc.Params (same JSON names); docs/poc.md explains them.
type Params struct {
	// Blocks per reward epoch; epoch e ends at height e*epoch_blocks.
	EpochBlocks uint64 `json:"epoch_blocks"`

	// A hotspot beacons at most once per this many blocks (entropy heights).
	BeaconIntervalBlocks uint64 `json:"beacon_interval_blocks"`
	// A block hash is valid beacon entropy for this many blocks after it.
	EntropyValidityBlocks uint64 `json:"entropy_validity_blocks"`
	// Reciprocity window in blocks.
	ReciprocityWindowBlocks     uint64 `json:"reciprocity_window_blocks"`
	WitnessMaxDelayMs           uint64 `json:"witness_max_delay_ms"`
	WitnessMaxDelayAfterFirstMs uint64 `json:"witness_max_delay_after_first_ms"`
	MaxClockSkewMs              uint64 `json:"max_clock_skew_ms"`
	MaxFrequencyDeltaHz         uint64 `json:"max_frequency_delta_hz"`
	// Minimum beaconer-witness grid distance at resolution 11.
	MinWitnessCellDistance int64  `json:"min_witness_cell_distance"`
	MaxWitnessDistanceM    uint64 `json:"max_witness_distance_m"`
	MaxRssiExcessDB        int64  `json:"max_rssi_excess_db"`
	MaxWitnessesRewarded   int    `json:"max_witnesses_rewarded"`
	MaxWitnessesPerReceipt int    `json:"max_witnesses_per_receipt"`

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
	ID       HexBytes         `json:"id"`
	Beaconer identity.Address `json:"beaconer"`
	Height   int64            `json:"height"`
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
	Witness identity.Address `json:"witness"`
	Valid   bool             `json:"valid"`
	Reason  string           `json:"reason,omitempty"`
	// Selected for rewards (at most max_witnesses_per_beacon are).
	Selected     bool   `json:"selected"`
	RssiDbm      int32  `json:"rssi_dbm"`
	SnrCb        int32  `json:"snr_cb"`
	FrequencyHz  uint64 `json:"frequency_hz"`
	ReceivedAtMs uint64 `json:"received_at_ms"`
	Location     Cell   `json:"location"`
	DistanceM    uint64 `json:"distance_m"`
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

// UnitOne is 1.0 in the fixed point of reward units and density scales.
const UnitOne uint64 = 1_000_000_000_000

// Reward is what one hotspot earned in one epoch, in micro-HXP, with the
// figures behind it (the "why" of a reward). Paid to the hotspot's owner.
type Reward struct {
	Epoch   uint64           `json:"epoch"`
	Hotspot identity.Address `json:"hotspot"`
	Owner   identity.Address `json:"owner"`
	// Hex density scale, UnitOne fixed point.
	Scale uint64 `json:"scale"`
	// Valid beacons and rewarded witness reports in the epoch.
	Beacons   uint64 `json:"beacons"`
	Witnesses uint64 `json:"witnesses"`
	// HIP-15 units after scaling, UnitOne fixed point.
	BeaconUnits  uint64 `json:"beacon_units"`
	WitnessUnits uint64 `json:"witness_units"`
	// DC of voucher claims in the epoch.
	DataDC  uint64 `json:"data_dc"`
	Beacon  uint64 `json:"beacon_uhxp"`
	Witness uint64 `json:"witness_uhxp"`
	Data    uint64 `json:"data_uhxp"`
	Total   uint64 `json:"total_uhxp"`
}

// EpochHotspotRewards is one page of the hotspot rewards of an ended epoch,
// by hotspot address (PathEpochHotspotRewards).
type EpochHotspotRewards struct {
	Epoch uint64 `json:"epoch"`
	// Total is the number of hotspot rewards of the epoch (every page
	// says the same); Offset is this page's position among them.
	Total   uint64   `json:"total"`
	Offset  uint64   `json:"offset"`
	Rewards []Reward `json:"rewards"`
	// NextOffset is the offset of the next page; 0 when this page is the
	// last.
	NextOffset uint64 `json:"next_offset"`
}

// Epoch summarizes one ended epoch.
type Epoch struct {
	Epoch       uint64 `json:"epoch"`
	StartHeight int64  `json:"start_height"`
	EndHeight   int64  `json:"end_height"`
	// Emission of the schedule plus what the previous epoch left unallocated.
	EmissionUHXP uint64 `json:"emission_uhxp"`
	// Minted to recipients; Minted + Unallocated == Emission exactly.
	MintedUHXP      uint64 `json:"minted_uhxp"`
	UnallocatedUHXP uint64 `json:"unallocated_uhxp"`
	// Basis-point split of the emission.
	BeaconPool    uint64 `json:"beacon_pool_uhxp"`
	WitnessPool   uint64 `json:"witness_pool_uhxp"`
	DataPool      uint64 `json:"data_pool_uhxp"`
	ValidatorPool uint64 `json:"validator_pool_uhxp"`
	OraclePool    uint64 `json:"oracle_pool_uhxp"`
	// Paid per pool after unused shares flowed on.
	DataPaid         uint64 `json:"data_paid_uhxp"`
	DataUnused       uint64 `json:"data_unused_uhxp"`
	BeaconPaid       uint64 `json:"beacon_paid_uhxp"`
	WitnessPaid      uint64 `json:"witness_paid_uhxp"`
	ValidatorPaid    uint64 `json:"validator_paid_uhxp"`
	OraclePaid       uint64 `json:"oracle_paid_uhxp"`
	PriceUUSD        uint64 `json:"price_uusd"`
	Beacons          uint64 `json:"beacons"`
	RewardedHotspots uint64 `json:"rewarded_hotspots"`
}

// AccountReward is a validator's or oracle's reward of an epoch.
type AccountReward struct {
	Epoch   uint64           `json:"epoch"`
	Account identity.Address `json:"account"`
	// "validator" or "oracle".
	Kind string `json:"kind"`
	// Voting power, or receipts landed.
	Weight uint64 `json:"weight"`
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

// DensityScale is the hex density reward scale of a cell (HIP-17/104),
// computed over the hotspots asserted now.
type DensityScale struct {
	Cell Cell `json:"cell"`
	// UnitOne fixed point (1e12 = no reduction); 0 when no full hotspot
	// is asserted in the cell's resolution-11 hex.
	Scale uint64 `json:"scale"`
	// The figures per resolution, from 11 down to the coarsest level.
	Levels []DensityLevel `json:"levels"`
}

// DensityLevel is one resolution of a density computation.
type DensityLevel struct {
	Resolution int    `json:"res"`
	Hex        Cell   `json:"hex"`
	Unclipped  uint64 `json:"unclipped"`
	Occupied   uint64 `json:"occupied"`
	Limit      uint64 `json:"limit"`
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

// Why explains a hotspot's reward in an epoch: the reward with its units
// and scale, the hex density figures behind the scale (as of now), and the
// hotspot's recent PoC history with the reason of every invalid report.
type Why struct {
	Hotspot Hotspot       `json:"hotspot"`
	Reward  *Reward       `json:"reward"`  // nil when the epoch paid it nothing
	Density *DensityScale `json:"density"` // nil when the location is not asserted
	Recent  []PocEntry    `json:"recent"`
}
