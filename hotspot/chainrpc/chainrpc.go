package chainrpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/hotspot/poc"
	"github.com/hexproof/hexproof/hotspot/routing"
	"github.com/hexproof/hexproof/hotspot/status"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Chain implements agent.Chain over chain/client.
type Chain struct {
	c      *client.Client
	signer *client.Signer

	mu       sync.Mutex
	params   *client.Params
	paramsAt time.Time
}

// ParamsTTL is how long chain parameters are cached; they change only by
// governance, rarely.
const ParamsTTL = 10 * time.Minute

// New connects (lazily) to the node at rpcAddr. key signs voucher claims,
// offering fee micro-HXP.
func New(rpcAddr string, key *identity.Key, fee uint64) (*Chain, error) {
	c, err := client.New(rpcAddr)
	if err != nil {
		return nil, err
	}
	return &Chain{c: c, signer: c.NewSigner(key, fee)}, nil
}

// Client returns the underlying client.
func (ch *Chain) Client() *client.Client { return ch.c }

// ChainID returns the network's chain id.
func (ch *Chain) ChainID(ctx context.Context) (string, error) { return ch.c.ChainID(ctx) }

func (ch *Chain) chainParams(ctx context.Context) (*client.Params, error) {
	ch.mu.Lock()
	p, at := ch.params, ch.paramsAt
	ch.mu.Unlock()
	if p != nil && time.Since(at) < ParamsTTL {
		return p, nil
	}
	p, err := ch.c.Params(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain params: %w", err)
	}
	ch.mu.Lock()
	ch.params, ch.paramsAt = p, time.Now()
	ch.mu.Unlock()
	return p, nil
}

// Params returns the PoC parameters.
func (ch *Chain) Params(ctx context.Context) (poc.Params, error) {
	p, err := ch.chainParams(ctx)
	if err != nil {
		return poc.Params{}, err
	}
	return poc.Params{BeaconIntervalBlocks: p.BeaconIntervalBlocks, EntropyValidityBlocks: p.EntropyValidityBlocks}, nil
}

// LatestBlock returns the chain head.
func (ch *Chain) LatestBlock(ctx context.Context) (poc.Block, error) {
	b, err := ch.c.LatestBlock(ctx)
	if err != nil {
		return poc.Block{}, err
	}
	if b.Height < 0 {
		return poc.Block{}, errors.New("chain reported a negative height")
	}
	return poc.Block{Height: uint64(b.Height), Hash: b.Hash}, nil
}

// OUIs returns the routing table.
func (ch *Chain) OUIs(ctx context.Context) ([]routing.OUI, error) {
	ouis, err := ch.c.OUIs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]routing.OUI, 0, len(ouis))
	for _, o := range ouis {
		out = append(out, routing.OUI{OUI: o.OUI, Config: ConvertOuiConfig(o.Config)})
	}
	return out, nil
}

// ConvertOuiConfig turns the JSON query answer into the wire message.
func ConvertOuiConfig(c client.OuiConfig) *hexproofv1.OuiConfig {
	out := &hexproofv1.OuiConfig{Payer: c.Payer.Bytes(), NetId: c.NetID, MaxCopies: c.MaxCopies, FreeJoins: c.FreeJoins}
	for _, r := range c.DevAddrRanges {
		out.DevaddrRanges = append(out.DevaddrRanges, &hexproofv1.DevAddrRange{Start: r.Start, End: r.End})
	}
	for _, p := range c.EuiPairs {
		out.EuiPairs = append(out.EuiPairs, &hexproofv1.EuiPair{JoinEui: p.JoinEUI, DevEui: p.DevEUI})
	}
	for _, r := range c.Routers {
		out.Routers = append(out.Routers, &hexproofv1.RouterEndpoint{Endpoint: r.Endpoint, PublicKey: r.PublicKey.Bytes()})
	}
	return out
}

// CurrentEpoch is the epoch of the chain head (height / epoch_blocks).
func (ch *Chain) CurrentEpoch(ctx context.Context) (uint64, error) {
	p, err := ch.chainParams(ctx)
	if err != nil {
		return 0, err
	}
	if p.EpochBlocks == 0 {
		return 0, errors.New("chain reports epoch_blocks 0")
	}
	b, err := ch.LatestBlock(ctx)
	if err != nil {
		return 0, err
	}
	return b.Height / p.EpochBlocks, nil
}

// ClaimVoucher submits a VoucherClaim signed by the hotspot key and waits
// for the block; a voucher the chain already paid counts as claimed.
func (ch *Chain) ClaimVoucher(ctx context.Context, v *hexproofv1.Voucher) error {
	_, err := ch.signer.Send(ctx, &hexproofv1.VoucherClaim{Voucher: v}, true)
	var te *client.TxError
	if errors.As(err, &te) && te.Code == client.CodeReplay {
		return nil
	}
	return err
}

// Hotspot returns the hotspot's on-chain record.
func (ch *Chain) Hotspot(ctx context.Context, addr identity.Address) (status.Hotspot, error) {
	h, err := ch.c.Hotspot(ctx, addr)
	if errors.Is(err, client.ErrNotFound) {
		return status.Hotspot{}, nil
	}
	if err != nil {
		return status.Hotspot{}, err
	}
	out := status.Hotspot{Onboarded: true, Owner: h.Owner.String(), Mode: h.Mode, Region: h.Region, GainDdbi: h.GainDdbi, ElevationM: h.ElevationM}
	if h.Location != 0 {
		out.Location = h.Location.String()
	}
	return out, nil
}

// Rewards returns the hotspot's rewards of its last ten epochs, newest first.
func (ch *Chain) Rewards(ctx context.Context, addr identity.Address) ([]status.Reward, error) {
	rs, err := ch.c.HotspotRewards(ctx, addr)
	if err != nil {
		return nil, err
	}
	var out []status.Reward
	for i := len(rs) - 1; i >= 0 && len(out) < 10; i-- {
		r := rs[i]
		out = append(out, status.Reward{Epoch: r.Epoch, Beacon: r.Beacon, Witness: r.Witness, Data: r.Data, Total: r.Total})
	}
	return out, nil
}

// PocHistory returns the hotspot's recent beacons and witnesses as judged
// on chain.
func (ch *Chain) PocHistory(ctx context.Context, addr identity.Address, limit int) ([]status.PocEntry, error) {
	h, err := ch.c.HotspotPoC(ctx, addr, limit)
	if err != nil {
		return nil, err
	}
	out := make([]status.PocEntry, 0, len(h.Entries))
	for _, e := range h.Entries {
		out = append(out, status.PocEntry{Kind: e.Kind, BeaconID: e.BeaconID.String(), Height: e.Height, Beaconer: e.Beaconer.String(), Valid: e.Valid, Reason: e.Reason})
	}
	return out, nil
}
