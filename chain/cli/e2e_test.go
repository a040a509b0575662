package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uber/h3-go/v4"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/chain/chaintest"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// TestEveryTxAndQueryThroughANode runs a single-validator node in-process
// and drives every tx kind and query of the CLI against it.
func TestEveryTxAndQueryThroughANode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a node")
	}
	dir := t.TempDir()
	chain := chaintest.StartNode(t, chaintest.Options{ChainID: "cli-test", CommitTimeout: 150 * time.Millisecond})
	url, home := chain.RPC, chain.Home
	op, c, ctx := chain.Operator, chain.Client, context.Background()
	opFile := filepath.Join(home, "keys", "operator.json")
	newKey := func(name string) (*identity.Key, string) {
		k, _ := identity.NewKey(nil)
		p := filepath.Join(dir, name+".json")
		if err := identity.SaveKeyFile(p, k); err != nil {
			t.Fatal(err)
		}
		return k, p
	}
	hs, hsFile := newKey("hotspot")
	bob, bobFile := newKey("bob")
	router, _ := newKey("router")
	tx := func(args ...string) client.TxResult {
		t.Helper()
		out, err := run(t, nil, append(append([]string{"tx"}, args...), "--node", url)...)
		if err != nil {
			t.Fatalf("tx %v: %v\n%s", args, err, out)
		}
		var r client.TxResult
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.Height == 0 {
			t.Fatalf("tx %v: %s", args, out)
		}
		return r
	}
	query := func(out any, args ...string) {
		t.Helper()
		s, err := run(t, nil, append(append([]string{"query"}, args...), "--node", url)...)
		if err != nil {
			t.Fatalf("query %v: %v\n%s", args, err, s)
		}
		if err := json.Unmarshal([]byte(s), out); err != nil {
			t.Fatalf("query %v: %s", args, s)
		}
	}
	writeJSON := func(name string, m proto.Message) string {
		b, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}

	cellC, _ := h3.LatLngToCell(h3.NewLatLng(48.8566, 2.3522), 12)
	cell := client.Cell(cellC)
	tx("transfer", "--key-file", opFile, "--to", bob.Address().String(), "--amount", "10000000")
	tx("burn", "--key-file", opFile, "--amount", "100000000")
	tx("hotspot-add", "--key-file", opFile, "--hotspot-key", hsFile)
	tx("assert", "--key-file", opFile, "--hotspot", hs.Address().String(), "--cell", cell.String(), "--gain", "12", "--region", "EU868")
	tx("oui-create", "--key-file", opFile, "--net-id", "13", "--devaddr-range", "26000000-260000ff", "--eui-pair", "70b3d57ed0000000:0",
		"--router", "127.0.0.1:9080="+router.Address().String(), "--max-copies", "2")
	tx("oui-update", "--key-file", opFile, "--oui", "1", "--net-id", "13", "--devaddr-range", "26000000-260001ff",
		"--router", "127.0.0.1:9080="+router.Address().String(), "--max-copies", "3")
	tx("burn", "--key-file", opFile, "--amount", "1000000", "--oui", "1")
	v := &hexproofv1.Voucher{ChainId: "cli-test", Oui: 1, Router: router.PublicKey(), Hotspot: hs.PublicKey(), Epoch: 1, Dc: 40, Packets: 40}
	router.SignMessage(identity.DomainVoucher, v)
	r := tx("voucher-claim", "--key-file", bobFile, "--file", writeJSON("voucher.json", v))
	if r.Code != 0 {
		t.Fatalf("voucher claim %+v", r)
	}
	// A replayed voucher fails in the block with the replay code.
	out, err := run(t, nil, "tx", "voucher-claim", "--key-file", bobFile, "--file", filepath.Join(dir, "voucher.json"), "--node", url)
	if err == nil || !strings.Contains(out, fmt.Sprintf(`"code": %d`, client.CodeReplay)) {
		t.Fatalf("voucher replay: %v %s", err, out)
	}
	// A PoC receipt of the hotspot's beacon on a recent block.
	st, _ := c.Status(ctx)
	eh := st.LatestHeight
	blk, _ := c.BlockAt(ctx, eh)
	bc, _ := beacon.Derive(blk.Hash, hs.PublicKey(), hexproofv1.Region_REGION_EU868)
	br := &hexproofv1.BeaconReport{Hotspot: hs.PublicKey(), EntropyHeight: uint64(eh), Entropy: blk.Hash, Payload: bc.Payload,
		FrequencyHz: bc.FrequencyHz, Datarate: bc.DataRate, TxPowerDbm: beacon.TxPowerDBm(hexproofv1.Region_REGION_EU868, 12), TransmittedAtMs: uint64(blk.Time.UnixMilli()) + 50}
	hs.SignMessage(identity.DomainBeacon, br)
	r = tx("poc-receipt", "--key-file", bobFile, "--file", writeJSON("receipt.json", &hexproofv1.PocReceipt{Beacon: br}))
	tx("hotspot-transfer", "--key-file", opFile, "--hotspot", hs.Address().String(), "--new-owner", bob.Address().String())

	var acc client.Account
	query(&acc, "account", bob.Address().String())
	if acc.BalanceUHXP != 10000000 || acc.Nonce != 2 { // the replayed voucher was refused by CheckTx
		t.Errorf("bob = %+v", acc)
	}
	var h client.Hotspot
	query(&h, "hotspot", hs.Address().String())
	if h.Owner != bob.Address() || h.Location != cell {
		t.Errorf("hotspot = %+v", h)
	}
	var hl []client.Hotspot
	query(&hl, "hotspots-owner", bob.Address().String())
	query(&hl, "hotspots-cell", cell.String())
	if len(hl) != 1 {
		t.Errorf("hotspots in cell = %+v", hl)
	}
	var o client.OUI
	query(&o, "oui", "1")
	if o.Config.MaxCopies != 3 || o.EscrowDC != 100000-40 {
		t.Errorf("oui = %+v", o)
	}
	var routes []client.Route
	query(&routes, "route-devaddr", "26000150")
	query(&routes, "route-eui", "70b3d57ed0000000", "0000000000000001")
	if len(routes) != 0 {
		t.Errorf("the update removed the EUI pair, routes = %+v", routes)
	}
	var vs client.VoucherState
	query(&vs, "voucher", "1", hs.Address().String(), "1")
	if vs.PaidDC != 40 {
		t.Errorf("voucher = %+v", vs)
	}
	var rc client.BeaconReceipt
	query(&rc, "beacon", r.Data.String())
	if rc.Beaconer != hs.Address() || rc.Reason == "" {
		t.Errorf("receipt = %+v (a lone new hotspot has no reciprocity yet)", rc)
	}
	var any1 any
	for _, q := range [][]string{{"params"}, {"supply"}, {"validators"}, {"price"}, {"ouis"}, {"density", cell.String()}, {"poc", hs.Address().String()},
		{"hotspot-rewards", hs.Address().String()}, {"account-rewards", "1"}, {"why", hs.Address().String(), "1"}, {"raw", "/params"}} {
		query(&any1, q...)
	}
	if _, err := run(t, nil, "query", "epoch", "1", "--node", url); err == nil {
		t.Error("epoch 1 has not ended but the query succeeded")
	}
	if out, err := run(t, nil, "status", "--node", url); err != nil || !strings.Contains(out, "cli-test") {
		t.Errorf("status: %v %s", err, out)
	}
	_ = op
}
