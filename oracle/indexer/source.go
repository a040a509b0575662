package indexer

import (
	"context"
	"time"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Block is one committed block with the results the application gave.
type Block struct {
	ChainID string
	Height  int64
	Hash    []byte
	Time    time.Time
	Txs     [][]byte
	// Results has one entry per tx, in order.
	Results []TxResult
	// Events are the block-level FinalizeBlock events (epoch rewards).
	Events []Event
}

// TxResult is the ExecTxResult of one transaction.
type TxResult struct {
	Code   uint32
	Log    string
	Events []Event
}

// Event is an ABCI event.
type Event struct {
	Type  string
	Attrs []Attr
}

// Attr is one event attribute.
type Attr struct{ Key, Value string }

// Get returns the value of the first attribute named key.
func (e Event) Get(key string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// Source is where the indexer reads committed blocks (CometBFT RPC in
// production; see package cometrpc).
type Source interface {
	LatestHeight(ctx context.Context) (int64, error)
	Block(ctx context.Context, height int64) (*Block, error)
}

// Verdict is the chain's judgement of one receipt's beacon and witnesses.
type Verdict struct {
	Valid  bool
	Reason string
	// Witnesses in receipt order when the chain lists them so; otherwise
	// matched by address.
	Witnesses []WitnessVerdict
}

// WitnessVerdict is the verdict on one witness report.
type WitnessVerdict struct {
	Witness string
	Valid   bool
	Reason  string
	// Selected: among the witnesses rewarded for the beacon.
	Selected bool
}

// EpochSummary is an ended epoch with its rewards.
type EpochSummary struct {
	Epoch                  uint64
	StartHeight, EndHeight int64
	Emission               uint64
	// SummaryJSON is the chain's epoch answer as it gave it.
	SummaryJSON []byte
	Hotspots    []HotspotReward
	Accounts    []AccountReward
}

// HotspotReward is one hotspot's reward of an epoch; DetailJSON is the
// chain's answer with the breakdown (beacon/witness/data, units, scale).
type HotspotReward struct {
	Hotspot, Owner string
	Total          uint64
	DetailJSON     []byte
}

// AccountReward is a validator, oracle or remainder reward.
type AccountReward struct {
	Account, Kind string
	Amount        uint64
}

// OUI is the chain's current view of an OUI.
type OUI struct {
	OUI              uint64
	Owner, Payer     string
	NetID            uint32
	ConfigJSON       []byte
	EscrowDC         uint64
	Created, Updated int64
}

// Enricher answers what blocks alone do not carry, from chain queries: the
// verdicts on PoC receipts, epoch rewards and OUI state. Verdicts and
// rewards never change once recorded, so asking later is as good as asking
// at the height.
type Enricher interface {
	// BeaconVerdict returns the verdict on the receipt of beacon, or nil if
	// the chain has none.
	BeaconVerdict(ctx context.Context, beacon *hexproofv1.BeaconReport) (*Verdict, error)
	// EpochEndedAt returns the epoch that ended at height, if one did.
	EpochEndedAt(ctx context.Context, height int64) (uint64, bool, error)
	// Epoch returns an ended epoch's summary with the rewards of every
	// hotspot and every account it paid.
	Epoch(ctx context.Context, epoch uint64) (*EpochSummary, error)
	// OUIs returns every OUI.
	OUIs(ctx context.Context) ([]OUI, error)
}
