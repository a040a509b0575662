package client

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/hexproof/hexproof/internal/identity"
)

// Query paths served by the chain application through abci_query. A path
// carries its parameters as a URL query string, e.g.
// "/hotspot?address=hxp1...". Answers are JSON. Queries read the last
// committed state. docs/chain-queries.md documents each one.
const (
	PathParams          = "/params"           // -> Params
	PathSupply          = "/supply"           // -> Supply
	PathValidators      = "/validators"       // -> []Validator
	PathAccount         = "/account"          // address -> Account
	PathHotspot         = "/hotspot"          // address -> Hotspot
	PathHotspotsByOwner = "/hotspots/owner"   // address -> []Hotspot
	PathHotspotsInCell  = "/hotspots/cell"    // cell (any resolution) -> []Hotspot
	PathDensity         = "/density"          // cell -> DensityScale
	PathOUI             = "/oui"              // oui -> OUI
	PathOUIs            = "/ouis"             // -> []OUI
	PathRouteDevAddr    = "/route/devaddr"    // devaddr (8 hex digits) -> []Route
	PathRouteEUI        = "/route/eui"        // join_eui, dev_eui (16 hex digits) -> []Route
	PathBeacon          = "/poc/beacon"       // id (hex) -> BeaconReceipt
	PathHotspotPoC      = "/poc/hotspot"      // address, limit -> HotspotPoC
	PathRewards         = "/rewards"          // address, epoch -> Reward
	PathHotspotRewards  = "/rewards/hotspot"  // address -> []Reward
	PathEpoch           = "/rewards/epoch"    // epoch -> Epoch
	PathAccountRewards  = "/rewards/accounts" // epoch -> []AccountReward
	PathPrice           = "/price"            // -> Price
	PathVoucher         = "/voucher"          // oui, hotspot, epoch -> VoucherState
	PathWhy             = "/why"              // address, epoch -> Why

	// epoch, offset (default 0), limit (default and max below) ->
	// EpochHotspotRewards, one page of an epoch's hotspot rewards.
	PathEpochHotspotRewards = "/rewards/epoch/hotspots"
)

// Page sizes of PathEpochHotspotRewards.
const (
	DefaultEpochRewardsLimit = 100
	MaxEpochRewardsLimit     = 1000
)

// Query result codes (ResponseQuery.Code).
const (
	QueryOK         uint32 = 0
	QueryNotFound   uint32 = 1
	QueryBadRequest uint32 = 2
)

// ErrNotFound is returned when the queried object does not exist.
var ErrNotFound = errors.New("not found")

// Transaction result codes (ExecTxResult.Code / ResponseCheckTx.Code). The
// log carries a human explanation; the code is what programs should test.
const (
	CodeOK                uint32 = 0
	CodeDecode            uint32 = 1  // not a canonical Tx / TxBody encoding
	CodeWrongChain        uint32 = 2  // chain_id differs
	CodeBadSignature      uint32 = 3  // envelope or inner signature invalid
	CodeBadNonce          uint32 = 4  // nonce is not the account's next nonce
	CodeInsufficientFee   uint32 = 5  // fee below min_fee_uhxp
	CodeInsufficientFunds uint32 = 6  // not enough HXP
	CodeInsufficientDC    uint32 = 7  // not enough DC (account or escrow)
	CodeUnauthorized      uint32 = 8  // signer may not do this
	CodeNotFound          uint32 = 9  // referenced hotspot / OUI missing
	CodeInvalid           uint32 = 10 // payload fails validation
	CodeExists            uint32 = 11 // already exists
	CodeReplay            uint32 = 12 // voucher or receipt already applied
	CodeNoPrice           uint32 = 13 // no on-chain price yet
	CodeProposerOnly      uint32 = 14 // tx type only a block proposer may inject
)

// QueryPath returns path with the given parameters as a query string.
func QueryPath(path string, kv ...string) string {
	if len(kv) == 0 {
		return path
	}
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// Helpers that render parameters the way the server parses them.

// FormatDevAddr renders a DevAddr as 8 hex digits.
func FormatDevAddr(d uint32) string { return fmt.Sprintf("%08x", d) }

// FormatEUI renders an EUI-64 as 16 hex digits.
func FormatEUI(e uint64) string { return fmt.Sprintf("%016x", e) }

// ParseDevAddr parses 8 hex digits.
func ParseDevAddr(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("parse devaddr %q: want 8 hex digits: %w", s, err)
	}
	return uint32(v), nil
}

// ParseEUI parses 16 hex digits.
func ParseEUI(s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("parse EUI %q: want 16 hex digits: %w", s, err)
	}
	return v, nil
}

func addrParam(a identity.Address) string { return a.String() }
