package chainsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/oracle/indexer"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Source reads a chain node.
type Source struct {
	c *client.Client

	mu     sync.Mutex
	params *client.Params
}

var (
	_ indexer.Source   = (*Source)(nil)
	_ indexer.Enricher = (*Source)(nil)
)

// New returns a source over c.
func New(c *client.Client) *Source { return &Source{c: c} }

// Client returns the underlying chain client.
func (s *Source) Client() *client.Client { return s.c }

// Params returns the chain parameters (cached: they are set in the genesis).
func (s *Source) Params(ctx context.Context) (*client.Params, error) {
	s.mu.Lock()
	p := s.params
	s.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := s.c.Params(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.params = p
	s.mu.Unlock()
	return p, nil
}

// LatestHeight implements indexer.Source.
func (s *Source) LatestHeight(ctx context.Context) (int64, error) {
	st, err := s.c.Status(ctx)
	if err != nil {
		return 0, err
	}
	return st.LatestHeight, nil
}

// Block implements indexer.Source.
func (s *Source) Block(ctx context.Context, height int64) (*indexer.Block, error) {
	rpc := s.c.RPC()
	b, err := rpc.Block(ctx, &height)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", height, err)
	}
	if b.Block == nil {
		return nil, fmt.Errorf("block %d: empty answer", height)
	}
	res, err := rpc.BlockResults(ctx, &height)
	if err != nil {
		return nil, fmt.Errorf("block results %d: %w", height, err)
	}
	out := &indexer.Block{
		ChainID: b.Block.ChainID,
		Height:  b.Block.Height,
		Hash:    b.BlockID.Hash,
		Time:    b.Block.Time,
		Events:  events(res.FinalizeBlockEvents),
	}
	for _, tx := range b.Block.Txs {
		out.Txs = append(out.Txs, tx)
	}
	for _, r := range res.TxsResults {
		out.Results = append(out.Results, indexer.TxResult{Code: r.Code, Log: r.Log, Events: events(r.Events)})
	}
	return out, nil
}

func events(in []abci.Event) []indexer.Event {
	out := make([]indexer.Event, 0, len(in))
	for _, e := range in {
		ev := indexer.Event{Type: e.Type}
		for _, a := range e.Attributes {
			ev.Attrs = append(ev.Attrs, indexer.Attr{Key: a.Key, Value: a.Value})
		}
		out = append(out, ev)
	}
	return out
}

// BeaconVerdict implements indexer.Enricher.
func (s *Source) BeaconVerdict(ctx context.Context, b *hexproofv1.BeaconReport) (*indexer.Verdict, error) {
	id, err := client.BeaconID(b)
	if err != nil {
		return nil, err
	}
	r, err := s.c.Beacon(ctx, id)
	if errors.Is(err, client.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v := &indexer.Verdict{Valid: r.Valid, Reason: r.Reason}
	for _, w := range r.Witnesses {
		v.Witnesses = append(v.Witnesses, indexer.WitnessVerdict{Witness: w.Witness.String(), Valid: w.Valid, Reason: w.Reason, Selected: w.Selected})
	}
	return v, nil
}

// EpochEndedAt implements indexer.Enricher: epochs end at multiples of
// epoch_blocks; the chain's epoch summary says which epoch that was.
func (s *Source) EpochEndedAt(ctx context.Context, height int64) (uint64, bool, error) {
	p, err := s.Params(ctx)
	if err != nil {
		return 0, false, err
	}
	if p.EpochBlocks == 0 || height <= 0 || uint64(height)%p.EpochBlocks != 0 {
		return 0, false, nil
	}
	n := uint64(height) / p.EpochBlocks
	for _, e := range []uint64{n, n - 1} { // the chain numbers epoch n as ending at n*epoch_blocks
		ep, err := s.c.Epoch(ctx, e)
		if errors.Is(err, client.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		if ep.EndHeight == height {
			return e, true, nil
		}
	}
	return 0, false, nil
}

// Epoch implements indexer.Enricher. Hotspot rewards come from the chain's
// paged /rewards/epoch/hotspots (a few queries per epoch, not one per
// hotspot); rewards of zero are left out.
func (s *Source) Epoch(ctx context.Context, epoch uint64) (*indexer.EpochSummary, error) {
	e, err := s.c.Epoch(ctx, epoch)
	if err != nil {
		return nil, err
	}
	summary, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode epoch %d: %w", epoch, err)
	}
	out := &indexer.EpochSummary{Epoch: e.Epoch, StartHeight: e.StartHeight, EndHeight: e.EndHeight, Emission: e.EmissionUHXP, SummaryJSON: summary}
	rs, err := s.c.AllEpochHotspotRewards(ctx, epoch)
	if err != nil {
		return nil, fmt.Errorf("hotspot rewards of epoch %d: %w", epoch, err)
	}
	for _, r := range rs {
		if r.Total == 0 {
			continue
		}
		detail, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode reward: %w", err)
		}
		out.Hotspots = append(out.Hotspots, indexer.HotspotReward{Hotspot: r.Hotspot.String(), Owner: r.Owner.String(), Total: r.Total, DetailJSON: detail})
	}
	accs, err := s.c.AccountRewards(ctx, epoch)
	if err != nil && !errors.Is(err, client.ErrNotFound) {
		return nil, err
	}
	for _, a := range accs {
		out.Accounts = append(out.Accounts, indexer.AccountReward{Account: a.Account.String(), Kind: a.Kind, Amount: a.Amount})
	}
	return out, nil
}

// OUIs implements indexer.Enricher.
func (s *Source) OUIs(ctx context.Context) ([]indexer.OUI, error) {
	os, err := s.c.OUIs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]indexer.OUI, 0, len(os))
	for _, o := range os {
		cfg, err := json.Marshal(o.Config)
		if err != nil {
			return nil, fmt.Errorf("encode OUI %d config: %w", o.OUI, err)
		}
		out = append(out, indexer.OUI{OUI: o.OUI, Owner: o.Owner.String(), Payer: o.Config.Payer.String(), NetID: o.Config.NetID,
			ConfigJSON: cfg, EscrowDC: o.EscrowDC, Created: o.CreatedHeight, Updated: o.UpdatedHeight})
	}
	return out, nil
}
