package client

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
)

// Client queries a chain node and broadcasts transactions through its
// CometBFT RPC endpoint. It is safe for concurrent use.
type Client struct {
	rpc *rpchttp.HTTP

	mu      sync.Mutex
	chainID string
}

// New returns a client of the node at addr ("http://127.0.0.1:26657"; a
// bare host:port gets "http://"). It does not connect yet.
func New(addr string) (*Client, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	c, err := rpchttp.New(addr, "/websocket")
	if err != nil {
		return nil, fmt.Errorf("chain rpc client for %s: %w", addr, err)
	}
	return &Client{rpc: c}, nil
}

// RPC returns the underlying CometBFT RPC client for calls this package
// does not wrap.
func (c *Client) RPC() *rpchttp.HTTP { return c.rpc }

// Status is the node's view of the chain head.
type Status struct {
	ChainID         string    `json:"chain_id"`
	NodeID          string    `json:"node_id"`
	LatestHeight    int64     `json:"latest_height"`
	LatestBlockHash HexBytes  `json:"latest_block_hash"`
	LatestAppHash   HexBytes  `json:"latest_app_hash"`
	LatestBlockTime time.Time `json:"latest_block_time"`
	CatchingUp      bool      `json:"catching_up"`
}

// Status returns the node's chain id and latest block.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain status: %w", err)
	}
	s := &Status{
		ChainID:         st.NodeInfo.Network,
		NodeID:          string(st.NodeInfo.DefaultNodeID),
		LatestHeight:    st.SyncInfo.LatestBlockHeight,
		LatestBlockHash: HexBytes(st.SyncInfo.LatestBlockHash),
		LatestAppHash:   HexBytes(st.SyncInfo.LatestAppHash),
		LatestBlockTime: st.SyncInfo.LatestBlockTime,
		CatchingUp:      st.SyncInfo.CatchingUp,
	}
	c.mu.Lock()
	c.chainID = s.ChainID
	c.mu.Unlock()
	return s, nil
}

// ChainID returns the network's chain id (cached after the first call).
func (c *Client) ChainID(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.chainID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	st, err := c.Status(ctx)
	if err != nil {
		return "", err
	}
	return st.ChainID, nil
}

// Block is a block's identity.
type Block struct {
	Height int64     `json:"height"`
	Hash   HexBytes  `json:"hash"`
	Time   time.Time `json:"time"`
}

// LatestBlock returns the latest committed block.
func (c *Client) LatestBlock(ctx context.Context) (*Block, error) { return c.block(ctx, nil) }

// BlockAt returns the block at height; its Hash is the beacon entropy of
// that height.
func (c *Client) BlockAt(ctx context.Context, height int64) (*Block, error) {
	return c.block(ctx, &height)
}

// BlockHash returns the hash of the block at height.
func (c *Client) BlockHash(ctx context.Context, height int64) ([]byte, error) {
	b, err := c.BlockAt(ctx, height)
	if err != nil {
		return nil, err
	}
	return b.Hash, nil
}

func (c *Client) block(ctx context.Context, h *int64) (*Block, error) {
	// The header is enough and much smaller than the block.
	r, err := c.rpc.Header(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("chain block header: %w", err)
	}
	if r.Header == nil {
		return nil, fmt.Errorf("chain block header: %w", ErrNotFound)
	}
	return &Block{Height: r.Header.Height, Hash: HexBytes(r.Header.Hash()), Time: r.Header.Time}, nil
}

// QueryError is a query the application answered with a non-zero code.
type QueryError struct {
	Path string
	Code uint32
	Log  string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("chain query %s: code %d: %s", e.Path, e.Code, e.Log)
}

// Is makes errors.Is(err, ErrNotFound) work.
func (e *QueryError) Is(target error) bool { return target == ErrNotFound && e.Code == QueryNotFound }

// QueryRaw runs an abci_query and returns the raw JSON answer.
func (c *Client) QueryRaw(ctx context.Context, path string) ([]byte, error) {
	r, err := c.rpc.ABCIQuery(ctx, path, nil)
	if err != nil {
		return nil, fmt.Errorf("chain query %s: %w", path, err)
	}
	if r.Response.Code != QueryOK {
		return nil, &QueryError{Path: path, Code: r.Response.Code, Log: r.Response.Log}
	}
	return r.Response.Value, nil
}

// Query runs an abci_query and decodes its JSON answer into out.
func (c *Client) Query(ctx context.Context, path string, out any) error {
	b, err := c.QueryRaw(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("chain query %s: decode answer: %w", path, err)
	}
	return nil
}

func query[T any](ctx context.Context, c *Client, path string, kv ...string) (T, error) {
	var out T
	err := c.Query(ctx, QueryPath(path, kv...), &out)
	return out, err
}

// Params returns the chain parameters.
func (c *Client) Params(ctx context.Context) (*Params, error) {
	return query[*Params](ctx, c, PathParams)
}

// Supply returns the token supply accounting.
func (c *Client) Supply(ctx context.Context) (*Supply, error) {
	return query[*Supply](ctx, c, PathSupply)
}

// Validators returns the validators with their stake.
func (c *Client) Validators(ctx context.Context) ([]Validator, error) {
	return query[[]Validator](ctx, c, PathValidators)
}

// Account returns an account; an unknown address is an empty account.
func (c *Client) Account(ctx context.Context, addr identity.Address) (*Account, error) {
	return query[*Account](ctx, c, PathAccount, "address", addrParam(addr))
}

// Hotspot returns a hotspot (ErrNotFound if it was never added).
func (c *Client) Hotspot(ctx context.Context, addr identity.Address) (*Hotspot, error) {
	return query[*Hotspot](ctx, c, PathHotspot, "address", addrParam(addr))
}

// HotspotsByOwner returns the hotspots owned by owner.
func (c *Client) HotspotsByOwner(ctx context.Context, owner identity.Address) ([]Hotspot, error) {
	return query[[]Hotspot](ctx, c, PathHotspotsByOwner, "address", addrParam(owner))
}

// HotspotsInCell returns the hotspots asserted inside cell, an H3 cell of
// any resolution from 0 to 12.
func (c *Client) HotspotsInCell(ctx context.Context, cell Cell) ([]Hotspot, error) {
	return query[[]Hotspot](ctx, c, PathHotspotsInCell, "cell", cell.String())
}

// Density returns the hex density reward scale of a res-12 cell (or of the
// res-11/lower cell given).
func (c *Client) Density(ctx context.Context, cell Cell) (*DensityScale, error) {
	return query[*DensityScale](ctx, c, PathDensity, "cell", cell.String())
}

// OUI returns one OUI with its configuration and DC escrow.
func (c *Client) OUI(ctx context.Context, oui uint64) (*OUI, error) {
	return query[*OUI](ctx, c, PathOUI, "oui", strconv.FormatUint(oui, 10))
}

// OUIs returns every OUI, by number.
func (c *Client) OUIs(ctx context.Context) ([]OUI, error) {
	return query[[]OUI](ctx, c, PathOUIs)
}

// RouteDevAddr returns the OUIs whose DevAddr ranges contain devaddr.
func (c *Client) RouteDevAddr(ctx context.Context, devaddr uint32) ([]Route, error) {
	return query[[]Route](ctx, c, PathRouteDevAddr, "devaddr", FormatDevAddr(devaddr))
}

// RouteEUI returns the OUIs routing the join of (joinEUI, devEUI).
func (c *Client) RouteEUI(ctx context.Context, joinEUI, devEUI uint64) ([]Route, error) {
	return query[[]Route](ctx, c, PathRouteEUI, "join_eui", FormatEUI(joinEUI), "dev_eui", FormatEUI(devEUI))
}

// Beacon returns the verdict on the beacon with the given id (BeaconID).
func (c *Client) Beacon(ctx context.Context, id []byte) (*BeaconReceipt, error) {
	return query[*BeaconReceipt](ctx, c, PathBeacon, "id", hex.EncodeToString(id))
}

// HotspotPoC returns a hotspot's recent beacons and witness reports with
// their validity, newest first; limit 0 means the server default (100).
func (c *Client) HotspotPoC(ctx context.Context, hotspot identity.Address, limit int) (*HotspotPoC, error) {
	return query[*HotspotPoC](ctx, c, PathHotspotPoC, "address", addrParam(hotspot), "limit", strconv.Itoa(limit))
}

// Rewards returns a hotspot's reward of one epoch with its breakdown.
func (c *Client) Rewards(ctx context.Context, hotspot identity.Address, epoch uint64) (*Reward, error) {
	return query[*Reward](ctx, c, PathRewards, "address", addrParam(hotspot), "epoch", strconv.FormatUint(epoch, 10))
}

// HotspotRewards returns every epoch reward of a hotspot, oldest first.
func (c *Client) HotspotRewards(ctx context.Context, hotspot identity.Address) ([]Reward, error) {
	return query[[]Reward](ctx, c, PathHotspotRewards, "address", addrParam(hotspot))
}

// Epoch returns the summary of an ended epoch.
func (c *Client) Epoch(ctx context.Context, epoch uint64) (*Epoch, error) {
	return query[*Epoch](ctx, c, PathEpoch, "epoch", strconv.FormatUint(epoch, 10))
}

// AccountRewards returns the validator, oracle and remainder rewards of an epoch.
func (c *Client) AccountRewards(ctx context.Context, epoch uint64) ([]AccountReward, error) {
	return query[[]AccountReward](ctx, c, PathAccountRewards, "epoch", strconv.FormatUint(epoch, 10))
}

// EpochHotspotRewards returns one page of the hotspot rewards of an ended
// epoch, sorted by hotspot address: at most limit rewards (0: the server's
// default, DefaultEpochRewardsLimit; at most MaxEpochRewardsLimit) from
// position offset. An epoch that has not ended is ErrNotFound.
func (c *Client) EpochHotspotRewards(ctx context.Context, epoch, offset, limit uint64) (*EpochHotspotRewards, error) {
	kv := []string{"epoch", strconv.FormatUint(epoch, 10), "offset", strconv.FormatUint(offset, 10)}
	if limit > 0 {
		kv = append(kv, "limit", strconv.FormatUint(limit, 10))
	}
	return query[*EpochHotspotRewards](ctx, c, PathEpochHotspotRewards, kv...)
}

// AllEpochHotspotRewards returns every hotspot reward of an ended epoch,
// sorted by hotspot address, reading pages of MaxEpochRewardsLimit. The
// rewards of an ended epoch never change, so the pages are consistent even
// when blocks commit in between.
func (c *Client) AllEpochHotspotRewards(ctx context.Context, epoch uint64) ([]Reward, error) {
	var out []Reward
	var offset uint64
	for {
		page, err := c.EpochHotspotRewards(ctx, epoch, offset, MaxEpochRewardsLimit)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = make([]Reward, 0, page.Total)
		}
		out = append(out, page.Rewards...)
		if page.NextOffset == 0 {
			return out, nil
		}
		if page.NextOffset <= offset {
			return nil, fmt.Errorf("chain query %s: page at %d points back to %d", PathEpochHotspotRewards, offset, page.NextOffset)
		}
		offset = page.NextOffset
	}
}

// Price returns the on-chain HXP price.
func (c *Client) Price(ctx context.Context) (*Price, error) {
	return query[*Price](ctx, c, PathPrice)
}

// Voucher returns how much DC the chain paid hotspot for an OUI's vouchers
// of an epoch.
func (c *Client) Voucher(ctx context.Context, oui uint64, hotspot identity.Address, epoch uint64) (*VoucherState, error) {
	return query[*VoucherState](ctx, c, PathVoucher, "oui", strconv.FormatUint(oui, 10), "hotspot", addrParam(hotspot), "epoch", strconv.FormatUint(epoch, 10))
}

// Why explains a hotspot's reward of an epoch (see the Why type).
func (c *Client) Why(ctx context.Context, hotspot identity.Address, epoch uint64) (*Why, error) {
	return query[*Why](ctx, c, PathWhy, "address", addrParam(hotspot), "epoch", strconv.FormatUint(epoch, 10))
}

// TxResult is the outcome of a broadcast transaction.
type TxResult struct {
	Hash HexBytes `json:"hash"`
	// Height is 0 until committed.
	Height  int64    `json:"height"`
	Code    uint32   `json:"code"`
	Log     string   `json:"log"`
	Data    HexBytes `json:"data,omitempty"`
	GasUsed int64    `json:"gas_used"`
}

// TxError is a transaction the chain refused (CheckTx) or executed with a
// non-zero code.
type TxError struct {
	Hash   HexBytes
	Height int64
	Code   uint32
	Log    string
}

func (e *TxError) Error() string {
	if e.Height > 0 {
		return fmt.Sprintf("tx %s failed in block %d: code %d: %s", e.Hash, e.Height, e.Code, e.Log)
	}
	return fmt.Sprintf("tx %s refused: code %d: %s", e.Hash, e.Code, e.Log)
}

// BroadcastTxSync submits tx and returns after CheckTx. A CheckTx refusal
// is returned as *TxError.
func (c *Client) BroadcastTxSync(ctx context.Context, tx []byte) (*TxResult, error) {
	r, err := c.rpc.BroadcastTxSync(ctx, cmttypes.Tx(tx))
	if err != nil {
		return nil, fmt.Errorf("broadcast tx: %w", err)
	}
	res := &TxResult{Hash: HexBytes(r.Hash), Code: r.Code, Log: r.Log, Data: HexBytes(r.Data)}
	if r.Code != CodeOK {
		return res, &TxError{Hash: res.Hash, Code: r.Code, Log: r.Log}
	}
	return res, nil
}

// BroadcastTxCommit submits tx and waits until a block includes it (or ctx
// ends). A failed execution is returned as *TxError with the result.
func (c *Client) BroadcastTxCommit(ctx context.Context, tx []byte) (*TxResult, error) {
	res, err := c.BroadcastTxSync(ctx, tx)
	if err != nil {
		return res, err
	}
	return c.WaitTx(ctx, res.Hash)
}

// WaitTx polls until the transaction with hash is committed.
func (c *Client) WaitTx(ctx context.Context, hash []byte) (*TxResult, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := c.rpc.Tx(ctx, hash, false)
		if err == nil {
			res := &TxResult{Hash: HexBytes(r.Hash), Height: r.Height, Code: r.TxResult.Code, Log: r.TxResult.Log, Data: HexBytes(r.TxResult.Data), GasUsed: r.TxResult.GasUsed}
			if res.Code != CodeOK {
				return res, &TxError{Hash: res.Hash, Height: res.Height, Code: res.Code, Log: res.Log}
			}
			return res, nil
		}
		if !strings.Contains(err.Error(), "not found") {
			return nil, fmt.Errorf("wait for tx %X: %w", hash, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for tx %X: %w", hash, ctx.Err())
		case <-tick.C:
		}
	}
}

// Signer signs and sends transactions for one key, keeping its nonce. Use
// one Signer per key so concurrent sends get consecutive nonces.
type Signer struct {
	c   *Client
	key *identity.Key
	fee uint64

	mu      sync.Mutex
	nonce   uint64
	started bool
}

// NewSigner returns a signer for key that offers fee micro-HXP per tx.
func (c *Client) NewSigner(key *identity.Key, fee uint64) *Signer {
	return &Signer{c: c, key: key, fee: fee}
}

// Key returns the signer's key.
func (s *Signer) Key() *identity.Key { return s.key }

// Build signs payload with the next nonce without sending it.
func (s *Signer) Build(ctx context.Context, payload proto.Message) ([]byte, error) {
	chainID, err := s.c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		acc, err := s.c.Account(ctx, s.key.Address())
		if err != nil {
			return nil, err
		}
		s.nonce, s.started = acc.Nonce, true
	}
	tx, err := BuildTx(s.key, chainID, s.nonce, s.fee, payload)
	if err != nil {
		return nil, err
	}
	s.nonce++
	return tx, nil
}

// Send signs payload and broadcasts it; with wait it returns once the tx is
// committed. After a refusal the signer re-reads its nonce from the chain.
func (s *Signer) Send(ctx context.Context, payload proto.Message, wait bool) (*TxResult, error) {
	tx, err := s.Build(ctx, payload)
	if err != nil {
		return nil, err
	}
	var res *TxResult
	if wait {
		res, err = s.c.BroadcastTxCommit(ctx, tx)
	} else {
		res, err = s.c.BroadcastTxSync(ctx, tx)
	}
	var te *TxError
	if errors.As(err, &te) && te.Height == 0 {
		s.Reset()
	}
	return res, err
}

// Reset makes the next Build re-read the nonce from the chain.
func (s *Signer) Reset() {
	s.mu.Lock()
	s.started = false
	s.mu.Unlock()
}
