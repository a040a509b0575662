package app

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abcitypes "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/uber/h3-go/v4"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
)

const testChain = "hexproof-test"

var genesisTime = time.Unix(1_700_000_000, 0).UTC()

type staticPrice uint64

func (p staticPrice) PriceUUSD() (uint64, bool) { return uint64(p), p != 0 }

// net is an application driven through the ABCI lifecycle the way CometBFT
// drives it, with in-test validators signing vote extensions.
type net struct {
	t      testing.TB
	dir    string
	db     dbm.DB
	app    *App
	vals   []ed25519.PrivKey
	powers []int64
	// prices each validator puts in its extension (0 = empty).
	prices []uint64
	// extension of the last decided height, per validator
	lastExt [][]byte
	height  int64
	gen     Genesis
	// forge makes the next proposal carry a tampered price vote.
	forge func(pv []byte) []byte
	// prepared uses PrepareProposal's transaction list as the block. By
	// default the block carries the test's transactions as given (plus the
	// injected price votes), as a proposer that does not filter would, so
	// that FinalizeBlock's own checks are exercised.
	prepared bool
}

func testKey(t testing.TB, name string) *identity.Key {
	t.Helper()
	seed := sha256.Sum256([]byte(name))
	k, err := identity.KeyFromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testGenesis(t testing.TB) Genesis {
	g := DefaultGenesis()
	g.Params = DevnetParams()
	g.Params.EpochBlocks = 20
	g.Params.BeaconIntervalBlocks = 3
	g.Params.EntropyValidityBlocks = 10
	g.Params.HotspotAddFeeDC = 100
	g.Params.AssertLocationFeeDC = 50
	g.Params.MinFeeUHXP = 1
	g.PriceUUSD = 2_000_000 // $2 per HXP
	g.Emission = []EmissionStep{{FromEpoch: 1, PerEpochUHXP: 1_000_000}}
	for _, n := range []string{"alice", "bob", "oracle"} {
		g.Allocations = append(g.Allocations, Allocation{Address: testKey(t, n).Address(), BalanceUHXP: 10_000_000, DC: 1_000})
	}
	return g
}

func newNet(t testing.TB, dir string, g Genesis) *net {
	t.Helper()
	n := &net{t: t, dir: dir, gen: g}
	for i := range 4 {
		n.vals = append(n.vals, ed25519.GenPrivKeyFromSecret([]byte(fmt.Sprint("validator", i))))
		n.powers = append(n.powers, int64(10+i))
		n.prices = append(n.prices, 0)
		n.gen.Validators = append(n.gen.Validators, GenesisValidator{PubKey: client.HexBytes(n.vals[i].PubKey().Bytes()), RewardAccount: testKey(t, fmt.Sprint("val", i)).Address()})
	}
	n.open()
	var vus []abcitypes.ValidatorUpdate
	for i, v := range n.vals {
		pk, _ := cryptoenc.PubKeyToProto(v.PubKey())
		vus = append(vus, abcitypes.ValidatorUpdate{PubKey: pk, Power: n.powers[i]})
	}
	gb, _ := json.Marshal(n.gen)
	if _, err := n.app.InitChain(context.Background(), &abcitypes.RequestInitChain{ChainId: testChain, Time: genesisTime, Validators: vus, AppStateBytes: gb, InitialHeight: 1}); err != nil {
		t.Fatal(err)
	}
	n.block()
	return n
}

func (n *net) open() {
	db, err := dbm.NewGoLevelDB("app", n.dir)
	if err != nil {
		n.t.Fatal(err)
	}
	n.db = db
	n.app, err = New(Config{}, logging.Discard(), db, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	n.height = n.app.Height()
	n.t.Cleanup(func() { db.Close() })
}

// restart closes and reopens the database, like a node restart.
func (n *net) restart() {
	n.db.Close()
	n.open()
}

func blockTime(h int64) time.Time { return genesisTime.Add(time.Duration(h) * time.Second) }

func blockHash(h int64) []byte {
	s := sha256.Sum256(fmt.Appendf(nil, "block %d", h))
	return s[:]
}

func (n *net) extendedCommit() abcitypes.ExtendedCommitInfo {
	ec := abcitypes.ExtendedCommitInfo{Round: 0}
	for i, v := range n.vals {
		var ext []byte
		if i < len(n.lastExt) {
			ext = n.lastExt[i]
		}
		sb := cmttypes.VoteExtensionSignBytes(testChain, &cmtproto.Vote{Type: cmtproto.PrecommitType, Height: n.height, Round: 0, Extension: ext})
		sig, err := v.Sign(sb)
		if err != nil {
			n.t.Fatal(err)
		}
		ec.Votes = append(ec.Votes, abcitypes.ExtendedVoteInfo{
			Validator:     abcitypes.Validator{Address: v.PubKey().Address(), Power: n.powers[i]},
			VoteExtension: ext, ExtensionSignature: sig, BlockIdFlag: cmtproto.BlockIDFlagCommit,
		})
	}
	return ec
}

// block runs one height with txs through CheckTx is NOT done here (see
// checkTx); Prepare -> Process -> Finalize -> ExtendVote -> Commit.
func (n *net) block(txs ...[]byte) []*abcitypes.ExecTxResult {
	n.t.Helper()
	res, accepted := n.tryBlock(txs...)
	if !accepted {
		n.t.Fatalf("height %d: proposal rejected", n.height+1)
	}
	return res
}

func (n *net) tryBlock(txs ...[]byte) ([]*abcitypes.ExecTxResult, bool) {
	n.t.Helper()
	ctx := context.Background()
	h := n.height + 1
	pp, err := n.app.PrepareProposal(ctx, &abcitypes.RequestPrepareProposal{MaxTxBytes: 4 << 20, Txs: txs, LocalLastCommit: n.extendedCommit(), Height: h, Time: blockTime(h)})
	if err != nil {
		n.t.Fatal(err)
	}
	proposal := pp.Txs
	if !n.prepared {
		proposal = nil
		if len(pp.Txs) > 0 && isPriceVotes(pp.Txs[0]) {
			proposal = append(proposal, pp.Txs[0])
		}
		proposal = append(proposal, txs...)
	}
	if n.forge != nil && len(proposal) > 0 {
		proposal = append([][]byte{n.forge(proposal[0])}, proposal[1:]...)
		n.forge = nil
	}
	pr, err := n.app.ProcessProposal(ctx, &abcitypes.RequestProcessProposal{Txs: proposal, Height: h, Time: blockTime(h), Hash: blockHash(h)})
	if err != nil {
		n.t.Fatal(err)
	}
	if pr.Status != abcitypes.ResponseProcessProposal_ACCEPT {
		return nil, false
	}
	fb, err := n.app.FinalizeBlock(ctx, &abcitypes.RequestFinalizeBlock{Txs: proposal, Height: h, Time: blockTime(h), Hash: blockHash(h)})
	if err != nil {
		n.t.Fatal(err)
	}
	// Validators extend their precommits for this height.
	n.lastExt = nil
	for _, p := range n.prices {
		ve, err := (&App{prices: staticPrice(p)}).ExtendVote(ctx, &abcitypes.RequestExtendVote{Height: h})
		if err != nil {
			n.t.Fatal(err)
		}
		vr, _ := n.app.VerifyVoteExtension(ctx, &abcitypes.RequestVerifyVoteExtension{Height: h, VoteExtension: ve.VoteExtension})
		if vr.Status != abcitypes.ResponseVerifyVoteExtension_ACCEPT {
			n.t.Fatalf("own vote extension rejected")
		}
		n.lastExt = append(n.lastExt, ve.VoteExtension)
	}
	if _, err := n.app.Commit(ctx, &abcitypes.RequestCommit{}); err != nil {
		n.t.Fatal(err)
	}
	n.height = h
	if string(n.app.AppHash()) != string(fb.AppHash) {
		n.t.Fatalf("committed app hash differs from FinalizeBlock's")
	}
	// The first tx may be the injected price votes: drop its result so
	// callers see their own txs' results.
	if len(proposal) > 0 && isPriceVotes(proposal[0]) {
		return fb.TxResults[1:], true
	}
	return fb.TxResults, true
}

func (n *net) checkTx(tx []byte) *abcitypes.ResponseCheckTx {
	r, err := n.app.CheckTx(context.Background(), &abcitypes.RequestCheckTx{Tx: tx, Type: abcitypes.CheckTxType_New})
	if err != nil {
		n.t.Fatal(err)
	}
	return r
}

func (n *net) query(path string, out any) uint32 {
	n.t.Helper()
	r, err := n.app.Query(context.Background(), &abcitypes.RequestQuery{Path: path})
	if err != nil {
		n.t.Fatal(err)
	}
	if r.Code == 0 && out != nil {
		if err := json.Unmarshal(r.Value, out); err != nil {
			n.t.Fatalf("query %s: %v", path, err)
		}
	}
	return r.Code
}

func (n *net) account(k *identity.Key) client.Account {
	var a client.Account
	if c := n.query(client.QueryPath(client.PathAccount, "address", k.Address().String()), &a); c != 0 {
		n.t.Fatalf("account query code %d", c)
	}
	return a
}

// wallet signs txs for one key with its own nonce counter.
type wallet struct {
	k     *identity.Key
	nonce uint64
}

func (n *net) wallet(name string) *wallet { return &wallet{k: testKey(n.t, name)} }

func (w *wallet) tx(t testing.TB, payload proto.Message) []byte {
	t.Helper()
	raw, err := client.BuildTx(w.k, testChain, w.nonce, 1, payload)
	if err != nil {
		t.Fatal(err)
	}
	w.nonce++
	return raw
}

// cellAt is the res-12 cell d metres from Paris along bearing.
func cellAt(t testing.TB, d, bearing float64) uint64 {
	const earth = 6371007.180918475
	lat, lng := 48.8566, 2.3522
	φ1, λ1, θ, δ := lat*math.Pi/180, lng*math.Pi/180, bearing*math.Pi/180, d/earth
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(δ) + math.Cos(φ1)*math.Sin(δ)*math.Cos(θ))
	λ2 := λ1 + math.Atan2(math.Sin(θ)*math.Sin(δ)*math.Cos(φ1), math.Cos(δ)-math.Sin(φ1)*math.Sin(φ2))
	c, err := h3.LatLngToCell(h3.NewLatLng(φ2*180/math.Pi, λ2*180/math.Pi), 12)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(c)
}

func wantCodes(t testing.TB, res []*abcitypes.ExecTxResult, codes ...uint32) {
	t.Helper()
	if len(res) != len(codes) {
		t.Fatalf("%d results, want %d", len(res), len(codes))
	}
	for i, c := range codes {
		if res[i].Code != c {
			t.Errorf("tx %d: code %d (%s), want %d", i, res[i].Code, res[i].Log, c)
		}
	}
}

func newRestoreTarget(t testing.TB) *App {
	db, err := dbm.NewGoLevelDB("app", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a, err := New(Config{SnapshotDir: t.TempDir()}, logging.Discard(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
