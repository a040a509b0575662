package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func testKey(t *testing.T, b byte) *identity.Key {
	t.Helper()
	k, err := identity.KeyFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBuildTxVerifies(t *testing.T) {
	k := testKey(t, 1)
	to := testKey(t, 2)
	raw, err := BuildTx(k, "hexproof-test", 7, 10, &hexproofv1.Transfer{To: to.PublicKey(), Amount: 5})
	if err != nil {
		t.Fatal(err)
	}
	var tx hexproofv1.Tx
	if err := proto.Unmarshal(raw, &tx); err != nil {
		t.Fatal(err)
	}
	if err := identity.Verify(k.PublicKey(), identity.DomainTx, tx.Body, tx.Signature); err != nil {
		t.Fatalf("envelope signature: %v", err)
	}
	var body hexproofv1.TxBody
	if err := proto.Unmarshal(tx.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.ChainId != "hexproof-test" || body.Nonce != 7 || body.Fee != 10 || !bytes.Equal(body.Signer, k.PublicKey()) {
		t.Fatalf("body = %v", &body)
	}
	if got := body.GetTransfer().GetAmount(); got != 5 {
		t.Fatalf("amount = %d", got)
	}
	if err := SetPayload(&body, &hexproofv1.Tx{}); err == nil {
		t.Fatal("SetPayload accepted a non-payload message")
	}
}

func TestSignHotspotAdd(t *testing.T) {
	owner, hs := testKey(t, 1), testKey(t, 3)
	p, err := SignHotspotAdd(hs, "c", owner.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := HotspotAddSignBytes("c", owner.PublicKey(), hs.PublicKey(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	if err := identity.Verify(hs.PublicKey(), identity.DomainHotspotAdd, sb, p.HotspotSignature); err != nil {
		t.Fatal(err)
	}
	other, _ := HotspotAddSignBytes("other-chain", owner.PublicKey(), hs.PublicKey(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
	if err := identity.Verify(hs.PublicKey(), identity.DomainHotspotAdd, other, p.HotspotSignature); err == nil {
		t.Fatal("signature verified for another chain")
	}
}

func TestCellJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Cell
		err  bool
	}{
		{in: "8c2a1072b59ffff", want: 0x8c2a1072b59ffff},
		{in: "0x8c2a1072b59ffff", want: 0x8c2a1072b59ffff},
		{in: "zz", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ParseCell(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v", err)
			}
			if tt.err {
				return
			}
			if c != tt.want {
				t.Fatalf("got %x", uint64(c))
			}
			b, _ := json.Marshal(struct{ C Cell }{c})
			var back struct{ C Cell }
			if err := json.Unmarshal(b, &back); err != nil || back.C != c {
				t.Fatalf("round trip %s: %v %x", b, err, uint64(back.C))
			}
		})
	}
}

func TestQueryPath(t *testing.T) {
	if got := QueryPath(PathParams); got != "/params" {
		t.Fatal(got)
	}
	if got := QueryPath(PathRouteEUI, "join_eui", FormatEUI(1), "dev_eui", FormatEUI(0xff)); got != "/route/eui?dev_eui=00000000000000ff&join_eui=0000000000000001" {
		t.Fatal(got)
	}
}

// fakeABCIQuery serves CometBFT's JSON-RPC abci_query with answer (code,
// JSON value) and nothing else; it stands in for a node where the test is
// about the client's side (paths, paging), not the application's.
func fakeABCIQuery(t *testing.T, answer func(path string) (uint32, any)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Path string `json:"path"`
			} `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Method != "abci_query" {
			http.Error(w, "only abci_query", http.StatusBadRequest)
			return
		}
		code, v := answer(req.Params.Path)
		b, _ := json.Marshal(v)
		resp := map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{"response": map[string]any{
			"code": code, "value": base64.StdEncoding.EncodeToString(b), "height": "7",
		}}}
		json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAllEpochHotspotRewardsPages(t *testing.T) {
	// 2500 rewards: three pages of at most MaxEpochRewardsLimit.
	var rewards []Reward
	for i := range 2500 {
		var a identity.Address
		binary.BigEndian.PutUint32(a[:], uint32(i))
		rewards = append(rewards, Reward{Epoch: 4, Hotspot: a, Total: uint64(i)})
	}
	var paths []string
	back := false
	url := fakeABCIQuery(t, func(path string) (uint32, any) {
		paths = append(paths, path)
		p, rawQuery, _ := strings.Cut(path, "?")
		q, _ := neturl.ParseQuery(rawQuery)
		if p != PathEpochHotspotRewards || q.Get("epoch") != "4" {
			return QueryNotFound, nil
		}
		off, _ := strconv.Atoi(q.Get("offset"))
		lim, _ := strconv.Atoi(q.Get("limit"))
		end := min(off+lim, len(rewards))
		page := EpochHotspotRewards{Epoch: 4, Total: uint64(len(rewards)), Offset: uint64(off), Rewards: rewards[off:end]}
		if end < len(rewards) {
			page.NextOffset = uint64(end)
		}
		if back {
			page.NextOffset = 1
		}
		return QueryOK, page
	})
	c, err := New(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := c.AllEpochHotspotRewards(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rewards, got); diff != "" {
		t.Fatalf("rewards (-want +got):\n%s", diff)
	}
	want := []string{"/rewards/epoch/hotspots?epoch=4&limit=1000&offset=0", "/rewards/epoch/hotspots?epoch=4&limit=1000&offset=1000", "/rewards/epoch/hotspots?epoch=4&limit=1000&offset=2000"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Fatalf("paths (-want +got):\n%s", diff)
	}
	paths = nil
	if p, err := c.EpochHotspotRewards(ctx, 4, 10, 0); err != nil || len(paths) != 1 || paths[0] != "/rewards/epoch/hotspots?epoch=4&offset=10" || p.Offset != 10 {
		t.Fatalf("default limit: %v %v", paths, err)
	}
	if _, err := c.AllEpochHotspotRewards(ctx, 5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown epoch: %v", err)
	}
	back = true
	if _, err := c.AllEpochHotspotRewards(ctx, 4); err == nil || !strings.Contains(err.Error(), "points back") {
		t.Fatalf("a page pointing back: %v", err)
	}
}
