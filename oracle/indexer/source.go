package indexer

import (
	"context"
	"time"
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
