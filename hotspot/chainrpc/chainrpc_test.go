package chainrpc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/p2p"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func TestEncodingsMatchChainClient(t *testing.T) {
	key, _ := identity.NewKey(nil)
	owner, _ := identity.NewKey(nil)
	for _, p := range []proto.Message{
		&hexproofv1.VoucherClaim{Voucher: &hexproofv1.Voucher{ChainId: "c", Oui: 3, Dc: 9, Signature: []byte{1}}},
		&hexproofv1.AssertLocation{Hotspot: key.PublicKey(), Location: 0x8c2a0a72e0539ff, GainDdbi: 30, Region: hexproofv1.Region_REGION_EU868},
		&hexproofv1.HotspotAdd{Hotspot: key.PublicKey(), Mode: hexproofv1.HotspotMode_HOTSPOT_MODE_FULL, HotspotSignature: []byte{2}},
	} {
		mine, err := BuildTx(key, "c", 7, 11, p)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := client.BuildTx(key, "c", 7, 11, p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mine, theirs) {
			t.Fatalf("%T: tx encoding differs from chain/client", p)
		}
	}
	mine, _ := HotspotAddSignBytes("c", owner.PublicKey(), key.PublicKey(), hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY)
	theirs, _ := client.HotspotAddSignBytes("c", owner.PublicKey(), key.PublicKey(), hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY)
	if !bytes.Equal(mine, theirs) {
		t.Fatal("hotspot add sign bytes differ from chain/client")
	}
	add, _, _ := SignHotspotAdd(key, "c", owner.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	cadd, _ := client.SignHotspotAdd(key, "c", owner.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	if !proto.Equal(add, cadd) {
		t.Fatal("signed hotspot add differs from chain/client")
	}
	if got, want := queryPath("/poc/hotspot", "address", "hxp1x", "limit", "5"), client.QueryPath("/poc/hotspot", "address", "hxp1x", "limit", "5"); got != want {
		t.Fatalf("query path %q, chain/client %q", got, want)
	}
}

// fakeNode answers JSON-RPC like a CometBFT node, encoding results with
// CometBFT's own types and JSON codec.
type fakeNode struct {
	t       *testing.T
	mu      sync.Mutex
	queries map[string]any
	txs     [][]byte
	txPolls int
	txCode  uint32
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req rpctypes.RPCRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("bad request: %v", err)
		return
	}
	var params map[string]json.RawMessage
	json.Unmarshal(req.Params, &params)
	str := func(k string) string { var s string; json.Unmarshal(params[k], &s); return s }
	var resp rpctypes.RPCResponse
	f.mu.Lock()
	defer f.mu.Unlock()
	switch req.Method {
	case "status":
		resp = rpctypes.NewRPCSuccessResponse(req.ID, &ctypes.ResultStatus{
			NodeInfo: p2p.DefaultNodeInfo{Network: "test-chain"},
			SyncInfo: ctypes.SyncInfo{LatestBlockHash: bytes.Repeat([]byte{0xab}, 32), LatestBlockHeight: 4242},
		})
	case "abci_query":
		ans, ok := f.queries[str("path")]
		res := abci.ResponseQuery{Code: 1, Log: "not found"}
		if ok {
			b, _ := json.Marshal(ans)
			res = abci.ResponseQuery{Value: b}
		}
		resp = rpctypes.NewRPCSuccessResponse(req.ID, &ctypes.ResultABCIQuery{Response: res})
	case "broadcast_tx_sync":
		var tx []byte
		json.Unmarshal(params["tx"], &tx)
		f.txs = append(f.txs, tx)
		h := sha256.Sum256(tx)
		resp = rpctypes.NewRPCSuccessResponse(req.ID, &ctypes.ResultBroadcastTx{Hash: h[:]})
	case "tx":
		f.txPolls++
		if f.txPolls == 1 {
			resp = rpctypes.NewRPCErrorResponse(req.ID, -32603, "Internal error", "tx (ABC) not found")
			break
		}
		resp = rpctypes.NewRPCSuccessResponse(req.ID, &ctypes.ResultTx{Height: 4243, TxResult: abci.ExecTxResult{Code: f.txCode, Log: "voucher already paid"}})
	default:
		resp = rpctypes.NewRPCErrorResponse(req.ID, -32601, "Method not found", req.Method)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func TestAgainstCometBFTJSON(t *testing.T) {
	key, _ := identity.NewKey(nil)
	router, _ := identity.NewKey(nil)
	node := &fakeNode{t: t, txCode: CodeReplay, queries: map[string]any{
		"/params": map[string]any{"epoch_blocks": 100, "beacon_interval_blocks": 10, "entropy_validity_blocks": 20},
		"/ouis": []map[string]any{{"oui": 1, "owner": router.Address().String(), "escrow_dc": 5, "config": map[string]any{
			"payer": router.Address().String(), "net_id": 19, "devaddr_ranges": []map[string]any{{"start": 637534208, "end": 637534463}},
			"eui_pairs": []map[string]any{{"join_eui": 1, "dev_eui": 0}}, "routers": []map[string]any{{"endpoint": "127.0.0.1:9080", "public_key": router.Address().String()}},
			"max_copies": 2, "free_joins": false}}},
		"/hotspot?address=" + key.Address().String(): map[string]any{"address": key.Address().String(), "owner": router.Address().String(), "mode": "full",
			"location": "8c2a0a72e0539ff", "gain_ddbi": 12, "elevation_m": 5, "region": "EU868"},
		"/account?address=" + key.Address().String():         map[string]any{"nonce": 3},
		"/rewards/hotspot?address=" + key.Address().String(): []map[string]any{{"epoch": 1, "total_uhxp": 10}, {"epoch": 2, "total_uhxp": 20, "beacon_uhxp": 20}},
	}}
	srv := httptest.NewServer(node)
	defer srv.Close()
	c, err := New(srv.URL, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Same answers as chain/client reading the same node.
	cc, _ := client.New(srv.URL)
	head, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cst, err := cc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.ChainID != cst.ChainID || int64(head.Height) != cst.LatestHeight || !bytes.Equal(head.Hash, cst.LatestBlockHash) {
		t.Fatalf("status %+v, chain/client %+v", head, cst)
	}
	p, err := c.ChainParams(ctx)
	cp, err2 := cc.Params(ctx)
	if err != nil || err2 != nil || p.BeaconIntervalBlocks != cp.BeaconIntervalBlocks || p.EpochBlocks != cp.EpochBlocks || p.EntropyValidityBlocks != cp.EntropyValidityBlocks {
		t.Fatalf("params %+v %v, chain/client %+v %v", p, err, cp, err2)
	}
	ouis, err := c.OUIs(ctx)
	if err != nil || len(ouis) != 1 || ouis[0].Config.GetDevaddrRanges()[0].GetStart() != 637534208 ||
		!bytes.Equal(ouis[0].Config.GetRouters()[0].GetPublicKey(), router.PublicKey()) || ouis[0].Config.GetEuiPairs()[0].GetJoinEui() != 1 {
		t.Fatalf("ouis %v %v", ouis, err)
	}
	h, err := c.Hotspot(ctx, key.Address())
	if err != nil || !h.Onboarded || h.Region != "EU868" || h.Location != "8c2a0a72e0539ff" || h.GainDdbi != 12 {
		t.Fatalf("hotspot %+v %v", h, err)
	}
	other, _ := identity.NewKey(nil)
	if h, err := c.Hotspot(ctx, other.Address()); err != nil || h.Onboarded {
		t.Fatalf("unknown hotspot %+v %v", h, err)
	}
	rw, err := c.Rewards(ctx, key.Address())
	if err != nil || len(rw) != 2 || rw[0].Epoch != 2 || rw[0].Beacon != 20 {
		t.Fatalf("rewards %+v %v", rw, err)
	}
	if e, err := c.CurrentEpoch(ctx); err != nil || e != 43 { // height 4242, 100 blocks per epoch
		t.Fatalf("epoch %d %v", e, err)
	}

	// A claim of an already paid voucher: broadcast, polled until included,
	// and the replay code counts as claimed.
	v := &hexproofv1.Voucher{ChainId: "test-chain", Oui: 1, Router: router.PublicKey(), Hotspot: key.PublicKey(), Dc: 4}
	router.SignMessage(identity.DomainVoucher, v)
	if err := c.ClaimVoucher(ctx, v); err != nil {
		t.Fatal(err)
	}
	if len(node.txs) != 1 || node.txPolls != 2 {
		t.Fatalf("txs %d polls %d", len(node.txs), node.txPolls)
	}
	var tx hexproofv1.Tx
	var body hexproofv1.TxBody
	if err := proto.Unmarshal(node.txs[0], &tx); err != nil || proto.Unmarshal(tx.Body, &body) != nil {
		t.Fatal("broadcast tx undecodable")
	}
	if err := identity.Verify(key.PublicKey(), identity.DomainTx, tx.Body, tx.Signature); err != nil || body.GetNonce() != 3 || body.GetChainId() != "test-chain" ||
		!proto.Equal(body.GetVoucherClaim().GetVoucher(), v) {
		t.Fatalf("tx body %v: %v", &body, err)
	}
	node.txCode, node.txPolls = 8, 0
	if err := c.ClaimVoucher(ctx, v); err == nil || !strings.Contains(err.Error(), "code 8") {
		t.Fatalf("failed claim: %v", err)
	}
}
