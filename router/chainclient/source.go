package chainclient

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/chainview"
)

// Source reads the chain through a client.Client.
type Source struct {
	c *client.Client

	mu          sync.Mutex
	epochBlocks uint64 // a genesis parameter: read once
}

var _ chainview.Source = (*Source)(nil)

// New returns a source for the node at rpcURL ("http://host:26657").
func New(rpcURL string) (*Source, error) {
	c, err := client.New(rpcURL)
	if err != nil {
		return nil, err
	}
	return &Source{c: c}, nil
}

// FromClient wraps an existing client.
func FromClient(c *client.Client) *Source { return &Source{c: c} }

// Status implements chainview.Source.
func (s *Source) Status(ctx context.Context) (chainview.Status, error) {
	st, err := s.c.Status(ctx)
	if err != nil {
		return chainview.Status{}, err
	}
	eb, err := s.epochBlocksOnce(ctx)
	if err != nil {
		return chainview.Status{}, err
	}
	return chainview.Status{ChainID: st.ChainID, Height: st.LatestHeight, Epoch: EpochOf(st.LatestHeight, eb)}, nil
}

// EpochOf is the chain's epoch of a height: epoch e holds heights
// (e-1)*epochBlocks+1 .. e*epochBlocks. The router signs vouchers in the
// epoch of the latest block it knows, which the chain accepts (it takes
// any epoch from 1 to the current one).
func EpochOf(height int64, epochBlocks uint64) uint64 {
	if height < 1 || epochBlocks == 0 {
		return 1
	}
	return (uint64(height)-1)/epochBlocks + 1
}

func (s *Source) epochBlocksOnce(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	eb := s.epochBlocks
	s.mu.Unlock()
	if eb != 0 {
		return eb, nil
	}
	p, err := s.c.Params(ctx)
	if err != nil {
		return 0, fmt.Errorf("read chain params: %w", err)
	}
	if p.EpochBlocks == 0 {
		return 0, errors.New("chain params: epoch_blocks is 0")
	}
	s.mu.Lock()
	s.epochBlocks = p.EpochBlocks
	s.mu.Unlock()
	return p.EpochBlocks, nil
}

// OUI implements chainview.Source.
func (s *Source) OUI(ctx context.Context, id uint64) (chainview.OUI, error) {
	o, err := s.c.OUI(ctx, id)
	if errors.Is(err, client.ErrNotFound) {
		return chainview.OUI{}, chainview.ErrNotFound
	}
	if err != nil {
		return chainview.OUI{}, err
	}
	return chainview.OUI{ID: o.OUI, Config: ConfigProto(o.Config), EscrowDC: o.EscrowDC}, nil
}

// ConfigProto converts the query answer's configuration to the wire type.
func ConfigProto(c client.OuiConfig) *hexproofv1.OuiConfig {
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

// Hotspot implements chainview.Source.
func (s *Source) Hotspot(ctx context.Context, pub []byte) (chainview.Hotspot, error) {
	a, err := identity.AddressFromBytes(pub)
	if err != nil {
		return chainview.Hotspot{}, chainview.ErrNotFound
	}
	h, err := s.c.Hotspot(ctx, a)
	if errors.Is(err, client.ErrNotFound) {
		return chainview.Hotspot{}, chainview.ErrNotFound
	}
	if err != nil {
		return chainview.Hotspot{}, err
	}
	mode := hexproofv1.HotspotMode_HOTSPOT_MODE_FULL
	if h.Mode == client.ModeDataOnly {
		mode = hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY
	}
	return chainview.Hotspot{Owner: h.Owner.Bytes(), Mode: mode}, nil
}

// VoucherPaid implements chainview.Source.
func (s *Source) VoucherPaid(ctx context.Context, oui uint64, hotspot []byte, epoch uint64) (uint64, error) {
	a, err := identity.AddressFromBytes(hotspot)
	if err != nil {
		return 0, err
	}
	v, err := s.c.Voucher(ctx, oui, a, epoch)
	if errors.Is(err, client.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return v.PaidDC, nil
}
