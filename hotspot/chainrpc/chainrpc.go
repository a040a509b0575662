package chainrpc

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/hotspot/poc"
	"github.com/hexproof/hexproof/hotspot/routing"
	"github.com/hexproof/hexproof/hotspot/status"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Query and transaction result codes (docs/chain-queries.md).
const (
	QueryNotFound uint32 = 1
	CodeReplay    uint32 = 12
)

// ErrNotFound is returned when the queried object does not exist.
var ErrNotFound = errors.New("not found")

// TxError is a transaction the chain refused or executed with a non-zero code.
type TxError struct {
	Hash   string
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

// Client talks to one chain node.
type Client struct {
	base string
	http *http.Client
	key  *identity.Key
	fee  uint64
	id   atomic.Int64

	mu       sync.Mutex
	chainID  string
	params   *Params
	paramsAt time.Time
}

// ParamsTTL is how long chain parameters are cached; they change rarely.
const ParamsTTL = 10 * time.Minute

// New returns a client of the node at addr ("http://127.0.0.1:26657"; a
// bare host:port gets http://). key (may be nil) signs voucher claims with
// fee micro-HXP.
func New(addr string, key *identity.Key, fee uint64) (*Client, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("chain RPC address %q: want http://host:26657", addr)
	}
	return &Client{base: strings.TrimSuffix(addr, "/"), http: &http.Client{Timeout: 30 * time.Second}, key: key, fee: fee}, nil
}

type rpcRequest struct {
	JSONRPC string         `json:"jsonrpc"`
	ID      int64          `json:"id"`
	Method  string         `json:"method"`
	Params  map[string]any `json:"params"`
}

type rpcResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error"`
}

// rpcError is a JSON-RPC level error.
type rpcError struct{ method, msg, data string }

func (e *rpcError) Error() string { return fmt.Sprintf("chain rpc %s: %s %s", e.method, e.msg, e.data) }

func (c *Client) call(ctx context.Context, method string, params map[string]any, out any) error {
	if params == nil {
		params = map[string]any{}
	}
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: c.id.Add(1), Method: method, Params: params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("chain rpc %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("chain rpc %s: %w", method, err)
	}
	var r rpcResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("chain rpc %s: HTTP %d, undecodable answer: %w", method, resp.StatusCode, err)
	}
	if r.Error != nil {
		return &rpcError{method: method, msg: r.Error.Message, data: r.Error.Data}
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fmt.Errorf("chain rpc %s: decode result: %w", method, err)
	}
	return nil
}

// num decodes CometBFT's integers, which arrive as JSON numbers or strings.
type num int64

func (n *num) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	*n = num(v)
	return err
}

// hexBytes decodes CometBFT's hex-encoded byte strings.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

// Head is the node's view of the chain.
type Head struct {
	ChainID string
	Height  uint64
	Hash    []byte
}

// Status returns the chain id and latest block.
func (c *Client) Status(ctx context.Context) (Head, error) {
	var r struct {
		NodeInfo struct {
			Network string `json:"network"`
		} `json:"node_info"`
		SyncInfo struct {
			LatestBlockHash   hexBytes `json:"latest_block_hash"`
			LatestBlockHeight num      `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if err := c.call(ctx, "status", nil, &r); err != nil {
		return Head{}, err
	}
	if r.SyncInfo.LatestBlockHeight < 0 {
		return Head{}, errors.New("chain reported a negative height")
	}
	c.mu.Lock()
	c.chainID = r.NodeInfo.Network
	c.mu.Unlock()
	return Head{ChainID: r.NodeInfo.Network, Height: uint64(r.SyncInfo.LatestBlockHeight), Hash: r.SyncInfo.LatestBlockHash}, nil
}

// ChainID returns the network's chain id (cached).
func (c *Client) ChainID(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.chainID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	h, err := c.Status(ctx)
	return h.ChainID, err
}

// queryPath renders path with parameters the way chain/client.QueryPath does.
func queryPath(path string, kv ...string) string {
	if len(kv) == 0 {
		return path
	}
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// Query runs an abci_query and decodes its JSON answer into out.
func (c *Client) Query(ctx context.Context, out any, path string, kv ...string) error {
	p := queryPath(path, kv...)
	var r struct {
		Response struct {
			Code  uint32 `json:"code"`
			Log   string `json:"log"`
			Value []byte `json:"value"`
		} `json:"response"`
	}
	if err := c.call(ctx, "abci_query", map[string]any{"path": p, "data": "", "height": "0", "prove": false}, &r); err != nil {
		return err
	}
	if r.Response.Code == QueryNotFound {
		return fmt.Errorf("chain query %s: %w: %s", p, ErrNotFound, r.Response.Log)
	}
	if r.Response.Code != 0 {
		return fmt.Errorf("chain query %s: code %d: %s", p, r.Response.Code, r.Response.Log)
	}
	if err := json.Unmarshal(r.Response.Value, out); err != nil {
		return fmt.Errorf("chain query %s: decode answer: %w", p, err)
	}
	return nil
}

// Params are the chain parameters the hotspot uses.
type Params struct {
	EpochBlocks           uint64 `json:"epoch_blocks"`
	BeaconIntervalBlocks  uint64 `json:"beacon_interval_blocks"`
	EntropyValidityBlocks uint64 `json:"entropy_validity_blocks"`
	MinFeeUHXP            uint64 `json:"min_fee_uhxp"`
}

// ChainParams returns the parameters (cached for ParamsTTL).
func (c *Client) ChainParams(ctx context.Context) (*Params, error) {
	c.mu.Lock()
	p, at := c.params, c.paramsAt
	c.mu.Unlock()
	if p != nil && time.Since(at) < ParamsTTL {
		return p, nil
	}
	p = &Params{}
	if err := c.Query(ctx, p, "/params"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.params, c.paramsAt = p, time.Now()
	c.mu.Unlock()
	return p, nil
}

// Params returns the PoC parameters (poc.Chain).
func (c *Client) Params(ctx context.Context) (poc.Params, error) {
	p, err := c.ChainParams(ctx)
	if err != nil {
		return poc.Params{}, err
	}
	return poc.Params{BeaconIntervalBlocks: p.BeaconIntervalBlocks, EntropyValidityBlocks: p.EntropyValidityBlocks}, nil
}

// LatestBlock returns the chain head (poc.Chain).
func (c *Client) LatestBlock(ctx context.Context) (poc.Block, error) {
	h, err := c.Status(ctx)
	if err != nil {
		return poc.Block{}, err
	}
	return poc.Block{Height: h.Height, Hash: h.Hash}, nil
}

type ouiJSON struct {
	OUI    uint64 `json:"oui"`
	Config struct {
		Payer         identity.Address `json:"payer"`
		NetID         uint32           `json:"net_id"`
		DevAddrRanges []struct {
			Start uint32 `json:"start"`
			End   uint32 `json:"end"`
		} `json:"devaddr_ranges"`
		EuiPairs []struct {
			JoinEUI uint64 `json:"join_eui"`
			DevEUI  uint64 `json:"dev_eui"`
		} `json:"eui_pairs"`
		Routers []struct {
			Endpoint  string           `json:"endpoint"`
			PublicKey identity.Address `json:"public_key"`
		} `json:"routers"`
		MaxCopies uint32 `json:"max_copies"`
		FreeJoins bool   `json:"free_joins"`
	} `json:"config"`
}

// OUIs returns the routing table (routing.Source).
func (c *Client) OUIs(ctx context.Context) ([]routing.OUI, error) {
	var in []ouiJSON
	if err := c.Query(ctx, &in, "/ouis"); err != nil {
		return nil, err
	}
	out := make([]routing.OUI, 0, len(in))
	for _, o := range in {
		cfg := &hexproofv1.OuiConfig{Payer: o.Config.Payer.Bytes(), NetId: o.Config.NetID, MaxCopies: o.Config.MaxCopies, FreeJoins: o.Config.FreeJoins}
		for _, r := range o.Config.DevAddrRanges {
			cfg.DevaddrRanges = append(cfg.DevaddrRanges, &hexproofv1.DevAddrRange{Start: r.Start, End: r.End})
		}
		for _, p := range o.Config.EuiPairs {
			cfg.EuiPairs = append(cfg.EuiPairs, &hexproofv1.EuiPair{JoinEui: p.JoinEUI, DevEui: p.DevEUI})
		}
		for _, r := range o.Config.Routers {
			cfg.Routers = append(cfg.Routers, &hexproofv1.RouterEndpoint{Endpoint: r.Endpoint, PublicKey: r.PublicKey.Bytes()})
		}
		out = append(out, routing.OUI{OUI: o.OUI, Config: cfg})
	}
	return out, nil
}

// CurrentEpoch is the epoch of the chain head (vouchers.Chain), numbered
// like the chain does: epoch e holds heights (e-1)*epoch_blocks+1 ..
// e*epoch_blocks, so the first epoch is 1.
func (c *Client) CurrentEpoch(ctx context.Context) (uint64, error) {
	p, err := c.ChainParams(ctx)
	if err != nil {
		return 0, err
	}
	if p.EpochBlocks == 0 {
		return 0, errors.New("chain reports epoch_blocks 0")
	}
	h, err := c.Status(ctx)
	if err != nil {
		return 0, err
	}
	if h.Height == 0 {
		return 0, nil
	}
	return (h.Height-1)/p.EpochBlocks + 1, nil
}

// Nonce returns an account's next nonce (0 for an unknown account).
func (c *Client) Nonce(ctx context.Context, addr identity.Address) (uint64, error) {
	var a struct {
		Nonce uint64 `json:"nonce"`
	}
	err := c.Query(ctx, &a, "/account", "address", addr.String())
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return a.Nonce, err
}

// ClaimVoucher submits a VoucherClaim signed by the hotspot key and waits
// for its block; an already paid voucher counts as claimed (vouchers.Chain).
func (c *Client) ClaimVoucher(ctx context.Context, v *hexproofv1.Voucher) error {
	if c.key == nil {
		return errors.New("no key to sign voucher claims")
	}
	_, err := c.Submit(ctx, c.key, c.fee, &hexproofv1.VoucherClaim{Voucher: v})
	var te *TxError
	if errors.As(err, &te) && te.Code == CodeReplay {
		return nil
	}
	return err
}

// Hotspot returns the hotspot's on-chain record; Onboarded is false when
// the chain does not know it.
func (c *Client) Hotspot(ctx context.Context, addr identity.Address) (status.Hotspot, error) {
	var h struct {
		Owner      identity.Address `json:"owner"`
		Mode       string           `json:"mode"`
		Location   string           `json:"location"`
		GainDdbi   int32            `json:"gain_ddbi"`
		ElevationM int32            `json:"elevation_m"`
		Region     string           `json:"region"`
		LastBeacon int64            `json:"last_beacon_height"`
	}
	err := c.Query(ctx, &h, "/hotspot", "address", addr.String())
	if errors.Is(err, ErrNotFound) {
		return status.Hotspot{}, nil
	}
	if err != nil {
		return status.Hotspot{}, err
	}
	loc := h.Location
	if loc == "0" {
		loc = ""
	}
	out := status.Hotspot{Onboarded: true, Owner: h.Owner.String(), Mode: h.Mode, Location: loc, Region: h.Region, GainDdbi: h.GainDdbi, ElevationM: h.ElevationM}
	if h.LastBeacon > 0 {
		out.LastBeaconHeight = uint64(h.LastBeacon)
	}
	return out, nil
}

// Rewards returns the hotspot's rewards of its last ten epochs, newest first.
func (c *Client) Rewards(ctx context.Context, addr identity.Address) ([]status.Reward, error) {
	var rs []status.Reward
	if err := c.Query(ctx, &rs, "/rewards/hotspot", "address", addr.String()); err != nil {
		return nil, err
	}
	var out []status.Reward
	for i := len(rs) - 1; i >= 0 && len(out) < 10; i-- {
		out = append(out, rs[i])
	}
	return out, nil
}

// PocHistory returns the hotspot's recent beacons and witnesses as judged
// on chain, newest first.
func (c *Client) PocHistory(ctx context.Context, addr identity.Address, limit int) ([]status.PocEntry, error) {
	var h struct {
		Entries []status.PocEntry `json:"entries"`
	}
	if err := c.Query(ctx, &h, "/poc/hotspot", "address", addr.String(), "limit", strconv.Itoa(limit)); err != nil {
		return nil, err
	}
	return h.Entries, nil
}

var deterministic = proto.MarshalOptions{Deterministic: true}

// BuildTx signs payload into a Tx envelope (the encoding of
// chain/client.BuildTx).
func BuildTx(key *identity.Key, chainID string, nonce, fee uint64, payload proto.Message) ([]byte, error) {
	body := &hexproofv1.TxBody{ChainId: chainID, Signer: key.PublicKey(), Nonce: nonce, Fee: fee}
	switch p := payload.(type) {
	case *hexproofv1.HotspotAdd:
		body.Payload = &hexproofv1.TxBody_HotspotAdd{HotspotAdd: p}
	case *hexproofv1.AssertLocation:
		body.Payload = &hexproofv1.TxBody_AssertLocation{AssertLocation: p}
	case *hexproofv1.VoucherClaim:
		body.Payload = &hexproofv1.TxBody_VoucherClaim{VoucherClaim: p}
	default:
		return nil, fmt.Errorf("hotspot does not build %T transactions", payload)
	}
	b, err := deterministic.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode tx body: %w", err)
	}
	return deterministic.Marshal(&hexproofv1.Tx{Body: b, Signature: key.Sign(identity.DomainTx, b)})
}

// HotspotAddSignBytes is what the hotspot key signs to consent to being
// added by owner (the encoding of chain/client.HotspotAddSignBytes).
func HotspotAddSignBytes(chainID string, owner, hotspot []byte, mode hexproofv1.HotspotMode) ([]byte, error) {
	return deterministic.Marshal(&hexproofv1.HotspotAddSignBytes{ChainId: chainID, Owner: owner, Hotspot: hotspot, Mode: mode})
}

// SignHotspotAdd returns the HotspotAdd payload signed by the hotspot key.
func SignHotspotAdd(hotspot *identity.Key, chainID string, owner identity.Address, mode hexproofv1.HotspotMode) (*hexproofv1.HotspotAdd, []byte, error) {
	sb, err := HotspotAddSignBytes(chainID, owner.Bytes(), hotspot.PublicKey(), mode)
	if err != nil {
		return nil, nil, fmt.Errorf("encode hotspot add sign bytes: %w", err)
	}
	return &hexproofv1.HotspotAdd{Hotspot: hotspot.PublicKey(), Mode: mode, HotspotSignature: hotspot.Sign(identity.DomainHotspotAdd, sb)}, sb, nil
}

// Submit signs payload with key at the account's next nonce, broadcasts
// it and waits until a block includes it. It returns the tx hash (hex).
func (c *Client) Submit(ctx context.Context, key *identity.Key, fee uint64, payload proto.Message) (string, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return "", err
	}
	nonce, err := c.Nonce(ctx, key.Address())
	if err != nil {
		return "", err
	}
	tx, err := BuildTx(key, chainID, nonce, fee, payload)
	if err != nil {
		return "", err
	}
	var r struct {
		Code uint32   `json:"code"`
		Log  string   `json:"log"`
		Hash hexBytes `json:"hash"`
	}
	if err := c.call(ctx, "broadcast_tx_sync", map[string]any{"tx": tx}, &r); err != nil {
		return "", err
	}
	hash := strings.ToUpper(hex.EncodeToString(r.Hash))
	if r.Code != 0 {
		return hash, &TxError{Hash: hash, Code: r.Code, Log: r.Log}
	}
	return hash, c.waitTx(ctx, r.Hash)
}

func (c *Client) waitTx(ctx context.Context, hash []byte) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var r struct {
			Height   num `json:"height"`
			TxResult struct {
				Code uint32 `json:"code"`
				Log  string `json:"log"`
			} `json:"tx_result"`
		}
		err := c.call(ctx, "tx", map[string]any{"hash": hash, "prove": false}, &r)
		if err == nil {
			if r.TxResult.Code != 0 {
				return &TxError{Hash: strings.ToUpper(hex.EncodeToString(hash)), Height: int64(r.Height), Code: r.TxResult.Code, Log: r.TxResult.Log}
			}
			return nil
		}
		var re *rpcError
		if !errors.As(err, &re) || !strings.Contains(re.data+re.msg, "not found") {
			return fmt.Errorf("wait for tx %X: %w", hash, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for tx %X: %w", hash, ctx.Err())
		case <-tick.C:
		}
	}
}
