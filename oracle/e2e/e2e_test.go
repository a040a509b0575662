package e2e

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/uber/h3-go/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/beacon"
	"github.com/hexproof/hexproof/chain/chaintest"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/oracle/chainsource"
	"github.com/hexproof/hexproof/oracle/explorer"
	"github.com/hexproof/hexproof/oracle/indexer"
	"github.com/hexproof/hexproof/oracle/ingest"
	"github.com/hexproof/hexproof/oracle/store"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

const region = hexproofv1.Region_REGION_EU868

func key(t *testing.T, name string) *identity.Key {
	var seed [32]byte
	copy(seed[:], name)
	k, err := identity.KeyFromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// cellAt is the res-12 cell d metres east of the origin.
func cellAt(t *testing.T, east float64) uint64 {
	lat, lng := 52.52, 13.405
	lng += east / (111_320 * math.Cos(lat*math.Pi/180))
	c, err := h3.LatLngToCell(h3.NewLatLng(lat, lng), 12)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(c)
}

// oracle is one PoC ingest instance with its own key and database schema.
type oracle struct {
	svc    *ingest.Service
	client hexproofv1.PocIngestServiceClient
	key    *identity.Key
}

func startOracle(t *testing.T, c *client.Client, key *identity.Key) *oracle {
	t.Helper()
	url, _ := testsvc.Postgres(t)
	pool, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	svc := ingest.New(ingest.Config{Window: time.Second, Tick: 100 * time.Millisecond}, logging.Discard(), pool,
		chainsource.NewIngest(chainsource.New(c), key, 0), nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ingest: %v", err)
		}
	})
	return &oracle{svc: svc, client: hexproofv1.NewPocIngestServiceClient(conn), key: key}
}

// beaconRound sends a beacon of bk on the current head's entropy and the
// witness reports of wks to every oracle, and returns the beacon.
func beaconRound(t *testing.T, c *client.Client, oracles []*oracle, bk *identity.Key, wks ...*identity.Key) *hexproofv1.BeaconReport {
	t.Helper()
	ctx := context.Background()
	head, err := c.LatestBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := beacon.Derive(head.Hash, bk.PublicKey(), region)
	if err != nil {
		t.Fatal(err)
	}
	sent := uint64(head.Time.UnixMilli()) + 100
	br := &hexproofv1.BeaconReport{Hotspot: bk.PublicKey(), EntropyHeight: uint64(head.Height), Entropy: head.Hash, Payload: b.Payload,
		FrequencyHz: b.FrequencyHz, Datarate: b.DataRate, TxPowerDbm: beacon.TxPowerDBm(region, 12), TransmittedAtMs: sent}
	if err := bk.SignMessage(identity.DomainBeacon, br); err != nil {
		t.Fatal(err)
	}
	for _, o := range oracles {
		if _, err := o.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: br}); err != nil {
			t.Fatalf("submit beacon: %v", err)
		}
	}
	for i, wk := range wks {
		w := &hexproofv1.WitnessReport{Hotspot: wk.PublicKey(), Payload: b.Payload, Radio: &hexproofv1.RadioMeta{
			FrequencyHz: b.FrequencyHz, Datarate: b.DataRate, RssiDbm: -115, SnrCb: -50, ReceivedAtMs: sent + 200 + uint64(i)*10, Region: region}}
		if err := wk.SignMessage(identity.DomainWitness, w); err != nil {
			t.Fatal(err)
		}
		for _, o := range oracles {
			if _, err := o.client.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: w}); err != nil {
				t.Fatalf("submit witness: %v", err)
			}
		}
	}
	return br
}

func waitDone(t *testing.T, o *oracle, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := o.svc.QueueStats(context.Background())
		if err == nil && st["done"] >= n {
			return
		}
		if st["failed"] > 0 || st["expired"] > 0 || time.Now().After(deadline) {
			t.Fatalf("oracle %s queue %v, want %d done", o.key.Address(), st, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIngestToChainToIndex(t *testing.T) {
	c, op, _ := chaintest.Start(t, 150*time.Millisecond)
	ctx := context.Background()
	a, b, cc := key(t, "hotspot-a"), key(t, "hotspot-b"), key(t, "hotspot-c")
	oracleKeys := []*identity.Key{key(t, "oracle-1"), key(t, "oracle-2")}

	// Onboard three hotspots 0, 5 and 8 km apart; fund the oracles.
	ops := c.NewSigner(op, 0)
	var txs []proto.Message
	for _, ok := range oracleKeys {
		txs = append(txs, &hexproofv1.Transfer{To: ok.PublicKey(), Amount: 1_000_000})
	}
	for i, k := range []*identity.Key{a, b, cc} {
		add, err := client.SignHotspotAdd(k, chaintest.ChainID, op.Address(), hexproofv1.HotspotMode_HOTSPOT_MODE_FULL)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, add, &hexproofv1.AssertLocation{Hotspot: k.PublicKey(), Location: cellAt(t, []float64{0, 5000, 8000}[i]), GainDdbi: 12, Region: region})
	}
	var last *client.TxResult
	for _, p := range txs {
		res, err := ops.Send(ctx, p, false)
		if err != nil {
			t.Fatalf("send %T: %v", p, err)
		}
		last = res
	}
	if _, err := c.WaitTx(ctx, last.Hash); err != nil {
		t.Fatalf("onboarding: %v", err)
	}
	for _, k := range []*identity.Key{a, b, cc} {
		if h, err := c.Hotspot(ctx, k.Address()); err != nil || h.Location == 0 {
			t.Fatalf("hotspot %s not onboarded: %+v %v", k.Address(), h, err)
		}
	}

	o1, o2 := startOracle(t, c, oracleKeys[0]), startOracle(t, c, oracleKeys[1])
	both := []*oracle{o1, o2}
	// Round 1: a beacons, b and c hear it (no reciprocity yet: invalid
	// with reasons). Round 2: b beacons, a hears it: valid.
	beaconRound(t, c, both, a, b, cc)
	waitDone(t, o1, 1)
	waitDone(t, o2, 1)
	chaintest.WaitHeight(t, c, 0)
	beaconRound(t, c, both, b, a)
	waitDone(t, o1, 2)
	waitDone(t, o2, 2)

	// Let the epoch holding the receipts end, then index everything.
	head := chaintest.WaitHeight(t, c, 0)
	end := (head/chaintest.EpochBlocks + 1) * chaintest.EpochBlocks
	chaintest.WaitHeight(t, c, end)
	url, _ := testsvc.Postgres(t)
	pool, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	src := chainsource.New(c)
	ix := indexer.New(indexer.Config{Batch: 50}, logging.Discard(), pool, src, src)
	for {
		st, err := ix.StepStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Height >= end {
			break
		}
	}

	// Exactly two receipts landed although two oracles submitted each.
	var landed, replays int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE code = 0), count(*) FILTER (WHERE code = $1) FROM txs WHERE kind = 'poc_receipt'`,
		client.CodeReplay).Scan(&landed, &replays); err != nil {
		t.Fatal(err)
	}
	if landed != 2 {
		t.Fatalf("%d receipts landed (%d replays refused), want 2", landed, replays)
	}
	t.Logf("receipt txs: %d landed, %d refused as replays in blocks", landed, replays)

	// Every indexed verdict equals the chain's.
	rs, err := pool.Query(ctx, `SELECT height, tx_idx, hotspot, valid, reason FROM beacons ORDER BY height`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		h      int64
		i      int32
		hs     string
		valid  bool
		reason string
	}
	var beacons []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.h, &r.i, &r.hs, &r.valid, &r.reason); err != nil {
			t.Fatal(err)
		}
		beacons = append(beacons, r)
	}
	rs.Close()
	if len(beacons) != 2 || beacons[0].hs != a.Address().String() || beacons[1].hs != b.Address().String() {
		t.Fatalf("indexed beacons %+v", beacons)
	}
	for _, bc := range beacons {
		blk, err := c.RPC().Block(ctx, &bc.h)
		if err != nil {
			t.Fatal(err)
		}
		var tx hexproofv1.Tx
		var body hexproofv1.TxBody
		if err := unmarshal(blk.Block.Txs[bc.i], &tx, &body); err != nil {
			t.Fatal(err)
		}
		id, _ := client.BeaconID(body.GetPocReceipt().GetBeacon())
		want, err := c.Beacon(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want.Valid != bc.valid || want.Reason != bc.reason {
			t.Fatalf("beacon at %d: indexed valid=%v %q, chain says %v %q", bc.h, bc.valid, bc.reason, want.Valid, want.Reason)
		}
		for j, w := range want.Witnesses {
			var valid, selected bool
			var reason, hs string
			if err := pool.QueryRow(ctx, `SELECT valid, reason, hotspot, selected FROM witnesses WHERE height = $1 AND tx_idx = $2 AND idx = $3`, bc.h, bc.i, j).Scan(&valid, &reason, &hs, &selected); err != nil {
				t.Fatalf("witness %d of beacon at %d: %v", j, bc.h, err)
			}
			if valid != w.Valid || reason != w.Reason || hs != w.Witness.String() || selected != w.Selected {
				t.Fatalf("witness %d: indexed %v %q %s selected=%v, chain %v %q %s selected=%v", j, valid, reason, hs, selected, w.Valid, w.Reason, w.Witness, w.Selected)
			}
		}
	}
	if !beacons[1].valid || beacons[0].valid || beacons[0].reason == "" {
		t.Fatalf("want round 1 invalid with a reason and round 2 valid: %+v", beacons)
	}

	// Rewards of the epoch that holds the valid receipt equal the chain's.
	epoch, ended, err := src.EpochEndedAt(ctx, ((beacons[1].h-1)/chaintest.EpochBlocks+1)*chaintest.EpochBlocks)
	if err != nil || !ended {
		t.Fatalf("no epoch ended after the receipt at %d: %v", beacons[1].h, err)
	}
	for _, k := range []*identity.Key{a, b} {
		want, err := c.Rewards(ctx, k.Address(), epoch)
		if err != nil {
			t.Fatalf("chain reward of %s: %v", k.Address(), err)
		}
		var got int64
		if err := pool.QueryRow(ctx, `SELECT total FROM hotspot_rewards WHERE epoch = $1 AND hotspot = $2`, int64(epoch), k.Address().String()).Scan(&got); err != nil {
			t.Fatalf("indexed reward of %s in epoch %d: %v", k.Address(), epoch, err)
		}
		if uint64(got) != want.Total || got == 0 {
			t.Fatalf("%s epoch %d: indexed %d, chain %d", k.Address(), epoch, got, want.Total)
		}
	}
	// ... and the whole epoch: every reward the chain lists, nothing more.
	all, err := c.AllEpochHotspotRewards(ctx, epoch)
	if err != nil {
		t.Fatalf("chain rewards of epoch %d: %v", epoch, err)
	}
	wantAll := map[string]int64{}
	for _, r := range all {
		if r.Total > 0 {
			wantAll[r.Hotspot.String()] = int64(r.Total)
		}
	}
	rewardRows, err := pool.Query(ctx, `SELECT hotspot, total FROM hotspot_rewards WHERE epoch = $1`, int64(epoch))
	if err != nil {
		t.Fatal(err)
	}
	gotAll := map[string]int64{}
	for rewardRows.Next() {
		var hs string
		var total int64
		if err := rewardRows.Scan(&hs, &total); err != nil {
			t.Fatal(err)
		}
		gotAll[hs] = total
	}
	if err := rewardRows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantAll, gotAll); diff != "" || len(gotAll) < 2 {
		t.Fatalf("epoch %d rewards (-chain +indexed):\n%s", epoch, diff)
	}

	// The explorer shows it.
	ex := explorer.New(explorer.Config{}, logging.Discard(), pool, src.LatestHeight)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: ex.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/hotspots/" + b.Address().String())
	if err != nil {
		t.Fatal(err)
	}
	var d explorer.HotspotDetail
	err = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if err != nil || d.Location == nil || *d.Location != h3.Cell(cellAt(t, 5000)).String() || len(d.Rewards) == 0 || len(d.Beacons) != 1 || len(d.Witnessed) != 1 {
		t.Fatalf("explorer detail of b: %+v %v", d, err)
	}
}

func unmarshal(raw []byte, tx *hexproofv1.Tx, body *hexproofv1.TxBody) error {
	if err := proto.Unmarshal(raw, tx); err != nil {
		return err
	}
	return proto.Unmarshal(tx.GetBody(), body)
}
