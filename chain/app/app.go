package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abcitypes "github.com/cometbft/cometbft/abci/types"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/state"
	"github.com/hexproof/hexproof/chain/tx"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Version is reported in Info; AppVersion is the state machine version.
const (
	Version    = "0.1.0"
	AppVersion = 1
)

var _ abcitypes.Application = (*App)(nil)

// PriceSource gives this validator's current HXP price for vote
// extensions. ok is false when it has none (the vote extension is empty).
type PriceSource interface {
	PriceUUSD() (price uint64, ok bool)
}

// Config configures the application.
type Config struct {
	// Directory for state-sync snapshots ("" disables snapshots).
	SnapshotDir string
	// Take a snapshot every this many heights (0 disables).
	SnapshotInterval int64
	// Snapshots kept (at least 1; default 2).
	SnapshotKeep int
}

// App is the Hexproof ABCI application. Its methods must not run
// concurrently: CometBFT's local client (proxy.NewLocalClientCreator)
// serializes every ABCI call with one mutex, which is how chain/node runs it.
type App struct {
	cfg    Config
	log    *slog.Logger
	store  *state.Store
	prices PriceSource

	chainID string

	// checkState is the mempool's view: committed state plus the
	// transactions CheckTx accepted since the last commit.
	checkState *state.Cache
	// genesis is the state InitChain built, until block 1 takes it over.
	genesis *state.Cache

	snaps *snapshots
	memo  *hotspotMemo
}

// New opens the application over db. prices may be nil (no price votes).
func New(cfg Config, logger *slog.Logger, db dbm.DB, prices PriceSource) (*App, error) {
	st, err := state.Open(db)
	if err != nil {
		return nil, fmt.Errorf("open chain state: %w", err)
	}
	if cfg.SnapshotKeep <= 0 {
		cfg.SnapshotKeep = 2
	}
	a := &App{cfg: cfg, log: logger, store: st, prices: prices, memo: &hotspotMemo{m: map[string]client.Hotspot{}}}
	a.chainID = string(st.Get(keyChainID))
	a.checkState = state.NewCache(st)
	if cfg.SnapshotDir != "" {
		if a.snaps, err = openSnapshots(cfg.SnapshotDir, cfg.SnapshotKeep); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Height is the last committed height. Unlike the ABCI methods it may be
// called from any goroutine (logs, metrics).
func (a *App) Height() int64 { return a.store.Height() }

// AppHash is the last committed app hash; like Height it may be called from
// any goroutine.
func (a *App) AppHash() []byte { return a.store.AppHash() }

// Info implements abcitypes.Application.
func (a *App) Info(_ context.Context, _ *abcitypes.RequestInfo) (*abcitypes.ResponseInfo, error) {
	h, hash := a.store.Committed()
	resp := &abcitypes.ResponseInfo{Data: "hexproof", Version: Version, AppVersion: AppVersion, LastBlockHeight: h}
	if h > 0 {
		resp.LastBlockAppHash = hash
	}
	return resp, nil
}

// InitChain implements abcitypes.Application.
func (a *App) InitChain(_ context.Context, req *abcitypes.RequestInitChain) (*abcitypes.ResponseInitChain, error) {
	g, err := ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	c := state.NewCache(a.store)
	l := ledger{w: c}
	c.Set(keyChainID, []byte(req.ChainId))
	setJSON(c, keyParams, g.Params)
	setJSON(c, keyEconomics, Economics{Emission: g.Emission, Rewards: g.Rewards})
	setJSON(c, keyPrice, client.Price{PriceUUSD: g.PriceUUSD, Votes: []client.PriceVote{}})
	var sup client.Supply
	for _, al := range g.Allocations {
		l.setAccount(client.Account{Address: al.Address, BalanceUHXP: al.BalanceUHXP, DC: al.DC})
		sup.TotalUHXP += al.BalanceUHXP
		sup.DCIssued += al.DC
	}
	l.setSupply(sup)
	setUint(c, keyNextOUI, 1)
	var vals []validatorRec
	for _, v := range req.Validators {
		pk, err := cryptoenc.PubKeyFromProto(v.PubKey)
		if err != nil {
			return nil, fmt.Errorf("genesis validator key: %w", err)
		}
		rec := validatorRec{Address: client.HexBytes(pk.Address()), PubKey: client.HexBytes(pk.Bytes()), Power: v.Power}
		for _, gv := range g.Validators {
			if bytes.Equal(gv.PubKey, pk.Bytes()) {
				rec.Name, rec.Reward = gv.Name, gv.RewardAccount
			}
		}
		vals = append(vals, rec)
	}
	for _, gv := range g.Validators {
		if !slices.ContainsFunc(vals, func(v validatorRec) bool { return bytes.Equal(v.PubKey, gv.PubKey) }) {
			return nil, fmt.Errorf("genesis app_state.validators lists %s (%s), which is not in the genesis validator set; add it to genesis.json validators or remove it", gv.PubKey, gv.Name)
		}
	}
	setJSON(c, keyValidators, vals)
	a.chainID = req.ChainId
	// The genesis state becomes part of the first block's state; CometBFT
	// expects the app hash of the genesis in InitChain.
	a.genesis = c
	return &abcitypes.ResponseInitChain{AppHash: a.store.Stage(c, req.InitialHeight-1)}, nil
}

// CheckTx implements abcitypes.Application.
func (a *App) CheckTx(_ context.Context, req *abcitypes.RequestCheckTx) (*abcitypes.ResponseCheckTx, error) {
	if req.Type == abcitypes.CheckTxType_New {
		// Price votes are injected by proposers only.
		if _, body, err := tx.Decode(req.Tx); err == nil {
			if _, ok := body.Payload.(*hexproofv1.TxBody_PriceVotes); ok {
				return &abcitypes.ResponseCheckTx{Code: client.CodeProposerOnly, Log: "price votes are injected by the block proposer, not broadcast"}, nil
			}
		}
	}
	if a.store.Height() == 0 {
		return &abcitypes.ResponseCheckTx{Code: client.CodeInvalid, Log: "the chain has not committed its first block yet; retry in a moment"}, nil
	}
	// Checks that depend on time use the last committed block's.
	var last time.Time
	if b := a.store.Get(kBlockHash(a.store.Height())); len(b) >= 8 {
		last = time.UnixMilli(int64(binary.BigEndian.Uint64(b)))
	}
	bc := a.newBlockCtx(a.checkState, a.store.Height()+1, last, nil)
	bc.checkOnly = true
	// A recheck sees bytes whose signature CheckTx already verified.
	bc.recheck = req.Type == abcitypes.CheckTxType_Recheck
	res := bc.deliver(req.Tx, -1)
	return &abcitypes.ResponseCheckTx{Code: res.Code, Log: res.Log, Data: res.Data, GasWanted: res.GasWanted, GasUsed: res.GasUsed}, nil
}

// PrepareProposal implements abcitypes.Application: it puts the price
// votes of the previous height first, then the mempool's transactions that
// fit.
func (a *App) PrepareProposal(_ context.Context, req *abcitypes.RequestPrepareProposal) (*abcitypes.ResponsePrepareProposal, error) {
	var out [][]byte
	var size int64
	if pv := a.buildPriceVotes(req.Height, req.LocalLastCommit); pv != nil {
		out = append(out, pv)
		size += int64(len(pv))
	}
	out = append(out, a.orderTxs(req.Txs, req.MaxTxBytes-size)...)
	return &abcitypes.ResponsePrepareProposal{Txs: out}, nil
}

// orderTxs returns the mempool's transactions that fit in maxBytes, in an
// order where each signer's nonces are consecutive from its account nonce.
// Gossip can deliver a signer's transactions to the proposer out of order;
// without this a later nonce could sit before an earlier one in the block
// and fail. Transactions that cannot succeed (undecodable, stale nonce, nonce
// gap) are left out. Signatures are checked in CheckTx and FinalizeBlock.
func (a *App) orderTxs(txs [][]byte, maxBytes int64) [][]byte {
	l := ledger{w: state.NewCache(a.store)}
	next := map[identity.Address]uint64{}
	pending := map[identity.Address]map[uint64][]byte{}
	var out [][]byte
	var size int64
	full := false
	include := func(t []byte) {
		if size+int64(len(t)) > maxBytes {
			full = true
			return
		}
		out = append(out, t)
		size += int64(len(t))
	}
	for _, t := range txs {
		if full {
			break
		}
		_, body, err := tx.Decode(t)
		if err != nil || body.GetPriceVotes() != nil {
			continue
		}
		signer, err := identity.AddressFromBytes(body.Signer)
		if err != nil {
			continue
		}
		n, ok := next[signer]
		if !ok {
			n = l.account(signer).Nonce
		}
		switch {
		case body.Nonce < n:
			continue
		case body.Nonce > n:
			if pending[signer] == nil {
				pending[signer] = map[uint64][]byte{}
			}
			pending[signer][body.Nonce] = t
			continue
		}
		include(t)
		n++
		for p, ok := pending[signer][n]; ok && !full; p, ok = pending[signer][n] {
			include(p)
			delete(pending[signer], n)
			n++
		}
		next[signer] = n
	}
	return out
}

// ProcessProposal implements abcitypes.Application. It re-verifies what
// the proposer injected: a price-votes transaction must come first, carry
// valid extension signatures of validators with more than 2/3 of the power,
// and appear at most once.
func (a *App) ProcessProposal(_ context.Context, req *abcitypes.RequestProcessProposal) (*abcitypes.ResponseProcessProposal, error) {
	reject := &abcitypes.ResponseProcessProposal{Status: abcitypes.ResponseProcessProposal_REJECT}
	for i, t := range req.Txs {
		if !isPriceVotes(t) {
			continue
		}
		if i != 0 {
			a.log.Warn("proposal rejected: price votes not first", "height", req.Height)
			return reject, nil
		}
		if _, err := a.verifyPriceVotes(ledger{w: state.NewCache(a.store)}, t, req.Height); err != nil {
			a.log.Warn("proposal rejected: bad price votes", "height", req.Height, "err", err)
			return reject, nil
		}
	}
	return &abcitypes.ResponseProcessProposal{Status: abcitypes.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock implements abcitypes.Application.
func (a *App) FinalizeBlock(_ context.Context, req *abcitypes.RequestFinalizeBlock) (*abcitypes.ResponseFinalizeBlock, error) {
	// Block 1 starts from the genesis state InitChain built (not committed
	// separately: it becomes part of block 1's state).
	c := a.genesis
	a.genesis = nil
	if c == nil {
		c = state.NewCache(a.store)
	}
	bc := a.newBlockCtx(c, req.Height, req.Time, req.Hash)
	c.Set(kBlockHash(req.Height), append(be64(uint64(req.Time.UnixMilli())), req.Hash...))
	p := bc.l.params()
	if keep := int64(p.EntropyValidityBlocks) + 1; req.Height > keep {
		c.Delete(kBlockHash(req.Height - keep))
	}
	results := make([]*abcitypes.ExecTxResult, len(req.Txs))
	for i, t := range req.Txs {
		results[i] = bc.deliver(t, i)
	}
	var events []abcitypes.Event
	if p.EpochBlocks > 0 && uint64(req.Height)%p.EpochBlocks == 0 {
		events = append(events, bc.endEpoch(uint64(req.Height)/p.EpochBlocks))
	}
	hash := a.store.Stage(c, req.Height)
	return &abcitypes.ResponseFinalizeBlock{TxResults: results, AppHash: hash, Events: events}, nil
}

// Commit implements abcitypes.Application.
func (a *App) Commit(_ context.Context, _ *abcitypes.RequestCommit) (*abcitypes.ResponseCommit, error) {
	if err := a.store.Commit(); err != nil {
		return nil, err
	}
	a.checkState = state.NewCache(a.store)
	if a.snaps != nil && a.cfg.SnapshotInterval > 0 && a.store.Height()%a.cfg.SnapshotInterval == 0 {
		if err := a.snaps.take(a.store); err != nil {
			// A missing snapshot only affects peers that state-sync.
			a.log.Error("snapshot failed", "height", a.store.Height(), "err", err)
		}
	}
	return &abcitypes.ResponseCommit{}, nil
}

// ExtendVote implements abcitypes.Application: the vote extension carries
// this validator's price, or nothing when it has none.
func (a *App) ExtendVote(_ context.Context, _ *abcitypes.RequestExtendVote) (*abcitypes.ResponseExtendVote, error) {
	if a.prices == nil {
		return &abcitypes.ResponseExtendVote{}, nil
	}
	p, ok := a.prices.PriceUUSD()
	if !ok || p == 0 {
		return &abcitypes.ResponseExtendVote{}, nil
	}
	ext, err := encodeExtension(p)
	if err != nil {
		return nil, err
	}
	return &abcitypes.ResponseExtendVote{VoteExtension: ext}, nil
}

// VerifyVoteExtension implements abcitypes.Application.
func (a *App) VerifyVoteExtension(_ context.Context, req *abcitypes.RequestVerifyVoteExtension) (*abcitypes.ResponseVerifyVoteExtension, error) {
	if _, err := decodeExtension(req.VoteExtension); err != nil {
		a.log.Warn("vote extension rejected", "height", req.Height, "validator", fmt.Sprintf("%X", req.ValidatorAddress), "err", err)
		return &abcitypes.ResponseVerifyVoteExtension{Status: abcitypes.ResponseVerifyVoteExtension_REJECT}, nil
	}
	return &abcitypes.ResponseVerifyVoteExtension{Status: abcitypes.ResponseVerifyVoteExtension_ACCEPT}, nil
}

// blockCtx executes transactions against a cache.
type blockCtx struct {
	a       *App
	c       *state.Cache
	l       ledger
	height  int64
	time    time.Time
	hash    []byte
	chainID string
	// checkOnly is CheckTx: payloads whose full verification is costly
	// (PoC receipts) get only the checks that keep junk out of the mempool.
	checkOnly bool
	recheck   bool
}

func (a *App) newBlockCtx(c *state.Cache, height int64, t time.Time, hash []byte) *blockCtx {
	return &blockCtx{a: a, c: c, l: ledger{w: c, memo: a.memo}, height: height, time: t, hash: hash, chainID: a.chainID}
}

// maxNonceAhead bounds how far ahead of its account nonce a transaction
// CheckTx keeps in the mempool.
const maxNonceAhead = 256

// Gas is deterministic: a base cost, the size, and the signatures checked.
const (
	gasBase      = 1000
	gasPerByte   = 1
	gasSignature = 500
)

// deliver runs one transaction; index is its position in the block (-1
// for CheckTx).
func (b *blockCtx) deliver(raw []byte, index int) *abcitypes.ExecTxResult {
	gas := int64(gasBase + gasPerByte*len(raw))
	fail := func(err error) *abcitypes.ExecTxResult {
		return &abcitypes.ExecTxResult{Code: tx.CodeOf(err), Log: err.Error(), GasWanted: gas, GasUsed: gas}
	}
	if isPriceVotes(raw) {
		if index != 0 {
			return fail(tx.Errorf(client.CodeProposerOnly, "price votes must be the first transaction of a block"))
		}
		n, err := b.applyPriceVotes(raw)
		if err != nil {
			return fail(err)
		}
		gas += int64(n) * gasSignature
		return &abcitypes.ExecTxResult{Code: client.CodeOK, GasWanted: gas, GasUsed: gas, Log: "price votes"}
	}
	verify := tx.Verify
	if b.recheck {
		verify = tx.VerifyKnownSignature
	}
	d, err := verify(raw, b.chainID)
	if err != nil {
		return fail(err)
	}
	gas += gasSignature
	body := d.Body
	acc := b.l.account(d.Signer)
	if index < 0 && body.Nonce > acc.Nonce && body.Nonce-acc.Nonce <= maxNonceAhead {
		// The mempool may receive a signer's transactions out of order
		// (gossip); keep a later one, PrepareProposal orders them.
		return &abcitypes.ExecTxResult{Code: client.CodeOK, GasWanted: gas, GasUsed: gas, Log: fmt.Sprintf("queued: waits for nonce %d", acc.Nonce)}
	}
	if body.Nonce != acc.Nonce {
		return fail(tx.Errorf(client.CodeBadNonce, "nonce %d, account %s expects %d", body.Nonce, d.Signer, acc.Nonce))
	}
	p := b.l.params()
	if body.Fee < p.MinFeeUHXP {
		return fail(tx.Errorf(client.CodeInsufficientFee, "fee %d below the minimum %d micro-HXP", body.Fee, p.MinFeeUHXP))
	}
	if acc.BalanceUHXP < body.Fee {
		return fail(tx.Errorf(client.CodeInsufficientFunds, "fee %d micro-HXP but %s holds %d", body.Fee, d.Signer, acc.BalanceUHXP))
	}
	// In a block the nonce and fee are spent even if the payload fails. In
	// CheckTx a failing transaction does not enter the mempool, so it must
	// leave the mempool's state untouched.
	envelope := state.NewCache(b.c)
	el := ledger{w: envelope}
	acc.Nonce++
	acc.BalanceUHXP -= body.Fee
	el.setAccount(acc)
	if body.Fee > 0 {
		s := el.supply()
		s.TotalUHXP -= body.Fee
		s.BurnedUHXP += body.Fee
		el.setSupply(s)
	}
	txc := state.NewCache(envelope)
	h := &handler{b: b, c: txc, l: ledger{w: txc, memo: b.a.memo}, signer: d.Signer, params: p, raw: raw}
	data, extraGas, err := h.run(body)
	gas += extraGas
	if err != nil {
		txc.Discard()
		if index >= 0 {
			envelope.Write()
		}
		return &abcitypes.ExecTxResult{Code: tx.CodeOf(err), Log: err.Error(), GasWanted: gas, GasUsed: gas}
	}
	txc.Write()
	envelope.Write()
	return &abcitypes.ExecTxResult{
		Code: client.CodeOK, Data: data, GasWanted: gas, GasUsed: gas, Log: tx.Kind(body),
		Events: append([]abcitypes.Event{{Type: "hexproof_tx", Attributes: []abcitypes.EventAttribute{
			{Key: "kind", Value: tx.Kind(body), Index: true},
			{Key: "signer", Value: d.Signer.String(), Index: true},
		}}}, h.events...),
	}
}

func isPriceVotes(raw []byte) bool {
	_, body, err := tx.Decode(raw)
	if err != nil {
		return false
	}
	_, ok := body.Payload.(*hexproofv1.TxBody_PriceVotes)
	return ok
}

func addrOf(b []byte, what string) (identity.Address, error) {
	a, err := identity.AddressFromBytes(b)
	if err != nil {
		return a, tx.Errorf(client.CodeInvalid, "%s: want a 32-byte ed25519 public key, got %d bytes", what, len(b))
	}
	return a, nil
}
