package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	"github.com/hexproof/hexproof/internal/testsvc"
	"github.com/hexproof/hexproof/oracle/store"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// fakeChain is a chain head with 1 s blocks that records submitted receipts.
// The real chain is exercised by the end-to-end test.
type fakeChain struct {
	mu       sync.Mutex
	head     int64
	validity uint64
	t0       time.Time
	receipts []*hexproofv1.PocReceipt
	// recorded beacons (by payload) as the chain would have them.
	recorded map[string]bool
	// otherOracle: beacons some other oracle already landed.
	otherOracle map[string]bool
	committed   map[string]Outcome
}

func newFakeChain() *fakeChain {
	return &fakeChain{head: 100, validity: 20, t0: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		recorded: map[string]bool{}, otherOracle: map[string]bool{}, committed: map[string]Outcome{}}
}

func (f *fakeChain) hash(h int64) []byte {
	s := sha256.Sum256([]byte(fmt.Sprintf("block-%d", h)))
	return s[:]
}

func (f *fakeChain) Head(context.Context) (int64, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.head, f.t0.Add(time.Duration(f.head) * time.Second), nil
}

func (f *fakeChain) BlockAt(_ context.Context, h int64) ([]byte, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h > f.head || h < 1 {
		return nil, time.Time{}, fmt.Errorf("no block %d", h)
	}
	return f.hash(h), f.t0.Add(time.Duration(h) * time.Second), nil
}

func (f *fakeChain) EntropyValidityBlocks(context.Context) (uint64, error) { return f.validity, nil }

func (f *fakeChain) Submit(_ context.Context, rc *hexproofv1.PocReceipt) (Submission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	raw, _ := proto.Marshal(rc)
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	p := string(rc.GetBeacon().GetPayload())
	if f.otherOracle[p] || f.recorded[p] {
		return Submission{TxHash: hash, Outcome: Duplicate, Log: "receipt already recorded"}, nil
	}
	f.receipts = append(f.receipts, rc)
	f.recorded[p] = true
	f.committed[hash] = Accepted
	return Submission{TxHash: hash, Outcome: Accepted}, nil
}

func (f *fakeChain) Included(_ context.Context, h string) (bool, Outcome, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.committed[h]
	return ok, o, "", nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	chain  *fakeChain
	clk    *clock
	svc    *Service
	client hexproofv1.PocIngestServiceClient
	url    string
}

func key(t testing.TB, i int) *identity.Key {
	var seed [32]byte
	binary.BigEndian.PutUint64(seed[:], uint64(i)+1)
	k, err := identity.KeyFromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// start runs a Service over a fresh schema (or dbURL) on 127.0.0.1:0.
func start(t testing.TB, chain *fakeChain, clk *clock, dbURL string) *harness {
	t.Helper()
	return startWith(t, chain, clk, dbURL, Config{Window: 5 * time.Second, MaxWitnesses: 4, Tick: time.Hour})
}

func startWith(t testing.TB, chain *fakeChain, clk *clock, dbURL string, cfg Config) *harness {
	t.Helper()
	if dbURL == "" {
		dbURL, _ = testsvc.Postgres(t)
	}
	pool, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	svc := New(cfg, logging.Discard(), pool, chain, clk.now)
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
			t.Errorf("ingest Run: %v", err)
		}
		pool.Close()
	})
	return &harness{chain: chain, clk: clk, svc: svc, client: hexproofv1.NewPocIngestServiceClient(conn), url: dbURL}
}

func (h *harness) beacon(t testing.TB, k *identity.Key, entropyHeight int64, tag byte) *hexproofv1.BeaconReport {
	t.Helper()
	payload := make([]byte, PayloadSize)
	payload[0] = tag
	copy(payload[1:], k.PublicKey())
	b := &hexproofv1.BeaconReport{Hotspot: k.PublicKey(), EntropyHeight: uint64(entropyHeight), Entropy: h.chain.hash(entropyHeight),
		Payload: payload, FrequencyHz: 867_100_000, Datarate: "SF9BW125", TxPowerDbm: 14, TransmittedAtMs: uint64(h.clk.now().UnixMilli())}
	if err := k.SignMessage(identity.DomainBeacon, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *harness) witness(t testing.TB, k *identity.Key, payload []byte, rssi int32) *hexproofv1.WitnessReport {
	t.Helper()
	w := &hexproofv1.WitnessReport{Hotspot: k.PublicKey(), Payload: payload, Radio: &hexproofv1.RadioMeta{
		FrequencyHz: 867_100_000, Datarate: "SF9BW125", RssiDbm: rssi, SnrCb: 50, ReceivedAtMs: uint64(h.clk.now().UnixMilli()), Region: hexproofv1.Region_REGION_EU868}}
	if err := k.SignMessage(identity.DomainWitness, w); err != nil {
		t.Fatal(err)
	}
	return w
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 1, 0, 2, 0, 0, time.UTC)} }

func TestRejectsMalformedReportsWithReasons(t *testing.T) {
	h := start(t, newFakeChain(), newClock(), "")
	ctx := context.Background()
	bk, wk := key(t, 1), key(t, 2)
	good := h.beacon(t, bk, 95, 1)
	if _, err := h.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: good}); err != nil {
		t.Fatalf("good beacon refused: %v", err)
	}
	resign := func(b *hexproofv1.BeaconReport) *hexproofv1.BeaconReport {
		if err := bk.SignMessage(identity.DomainBeacon, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	beacons := []struct {
		name   string
		report *hexproofv1.BeaconReport
		want   Reason
	}{
		{"no report", nil, ReasonMissingReport},
		{"short key", func() *hexproofv1.BeaconReport { b := h.beacon(t, bk, 95, 2); b.Hotspot = b.Hotspot[:31]; return b }(), ReasonBadHotspotKey},
		{"short payload", resign(func() *hexproofv1.BeaconReport { b := h.beacon(t, bk, 95, 3); b.Payload = b.Payload[:50]; return b }()), ReasonBadPayloadSize},
		{"tampered", func() *hexproofv1.BeaconReport { b := h.beacon(t, bk, 95, 4); b.TxPowerDbm = 27; return b }(), ReasonBadSignature},
		{"signed by another key", func() *hexproofv1.BeaconReport {
			b := h.beacon(t, bk, 95, 5)
			_ = wk.SignMessage(identity.DomainBeacon, b)
			return b
		}(), ReasonBadSignature},
		{"witness domain", func() *hexproofv1.BeaconReport {
			b := h.beacon(t, bk, 95, 6)
			_ = bk.SignMessage(identity.DomainWitness, b)
			return b
		}(), ReasonBadSignature},
		{"entropy expired", h.beacon(t, bk, 80, 7), ReasonEntropyExpired},
		{"entropy from the future", h.beacon(t, bk, 101, 8), ReasonEntropyUnknown},
		{"entropy not the block hash", resign(func() *hexproofv1.BeaconReport {
			b := h.beacon(t, bk, 95, 9)
			b.Entropy = h.chain.hash(94)
			return b
		}()), ReasonEntropyMismatch},
		{"transmitted in the future", resign(func() *hexproofv1.BeaconReport {
			b := h.beacon(t, bk, 95, 10)
			b.TransmittedAtMs += uint64(time.Hour.Milliseconds())
			return b
		}()), ReasonTimeInvalid},
		{"no frequency", resign(func() *hexproofv1.BeaconReport { b := h.beacon(t, bk, 95, 11); b.FrequencyHz = 0; return b }()), ReasonBadRadio},
		{"same payload other report", resign(func() *hexproofv1.BeaconReport {
			b := proto.Clone(good).(*hexproofv1.BeaconReport)
			b.TxPowerDbm = 13
			return b
		}()), ReasonConflict},
	}
	for _, tc := range beacons {
		t.Run("beacon/"+tc.name, func(t *testing.T) {
			_, err := h.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: tc.report})
			if status.Code(err) != codes.InvalidArgument || ReasonOf(err) != tc.want {
				t.Fatalf("got %v (reason %q), want InvalidArgument %q", err, ReasonOf(err), tc.want)
			}
		})
	}
	witnesses := []struct {
		name   string
		report *hexproofv1.WitnessReport
		want   Reason
	}{
		{"no report", nil, ReasonMissingReport},
		{"no radio", func() *hexproofv1.WitnessReport {
			w := h.witness(t, wk, good.Payload, -90)
			w.Radio = nil
			_ = wk.SignMessage(identity.DomainWitness, w)
			return w
		}(), ReasonMissingRadio},
		{"tampered rssi", func() *hexproofv1.WitnessReport {
			w := h.witness(t, wk, good.Payload, -90)
			w.Radio.RssiDbm = -40
			return w
		}(), ReasonBadSignature},
		{"self witness", h.witness(t, bk, good.Payload, -90), ReasonSelfWitness},
		{"short payload", h.witness(t, wk, good.Payload[:10], -90), ReasonBadPayloadSize},
	}
	for _, tc := range witnesses {
		t.Run("witness/"+tc.name, func(t *testing.T) {
			_, err := h.client.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: tc.report})
			if status.Code(err) != codes.InvalidArgument || ReasonOf(err) != tc.want {
				t.Fatalf("got %v (reason %q), want InvalidArgument %q", err, ReasonOf(err), tc.want)
			}
		})
	}
	t.Run("witness/over the limit", func(t *testing.T) {
		for i := 0; i < 4; i++ {
			if _, err := h.client.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: h.witness(t, key(t, 10+i), good.Payload, -90)}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := h.client.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: h.witness(t, key(t, 20), good.Payload, -90)})
		if ReasonOf(err) != ReasonTooManyWitnesses {
			t.Fatalf("fifth witness: %v, want %q", err, ReasonTooManyWitnesses)
		}
	})
}

// countObserver counts Observer calls as "kind/rejected" and receipt events.
type countObserver struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *countObserver) Report(kind, rejected string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n[kind+"/"+rejected]++
}

func (o *countObserver) Receipt(event string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n["receipt/"+event]++
}

func TestGroupsWitnessesIntoOneReceiptPerBeacon(t *testing.T) {
	chain := newFakeChain()
	clk := newClock()
	obs := &countObserver{n: map[string]int{}}
	h := startWith(t, chain, clk, "", Config{Window: 5 * time.Second, MaxWitnesses: 4, Tick: time.Hour, Observer: obs})
	ctx := context.Background()
	b1 := h.beacon(t, key(t, 1), 95, 1)
	b2 := h.beacon(t, key(t, 2), 96, 2)
	// A witness may arrive before its beacon.
	early := h.witness(t, key(t, 5), b1.Payload, -100)
	if _, err := h.client.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: early}); err != nil {
		t.Fatal(err)
	}
	resp, err := h.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: b1})
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: b1})
	if err != nil || again.Id != resp.Id || len(resp.Id) != 64 {
		t.Fatalf("resubmitted beacon: %v %v, want the same 64-hex id %s", again, err, resp.Id)
	}
	if _, err := h.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: b2}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{string(b1.Payload): 3, string(b2.Payload): 2}
	for i, w := range []*hexproofv1.WitnessReport{
		h.witness(t, key(t, 3), b1.Payload, -90), h.witness(t, key(t, 4), b1.Payload, -95),
		h.witness(t, key(t, 3), b2.Payload, -91), h.witness(t, key(t, 6), b2.Payload, -92),
	} {
		r1, err := h.client.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: w})
		if err != nil {
			t.Fatalf("witness %d: %v", i, err)
		}
		r2, err := h.client.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: w})
		if err != nil || r2.Id != r1.Id {
			t.Fatalf("witness %d resubmitted: %v %v", i, r2, err)
		}
	}
	// Inside the window nothing is submitted.
	if err := h.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(chain.receipts) != 0 {
		t.Fatalf("%d receipts submitted inside the window", len(chain.receipts))
	}
	clk.add(6 * time.Second)
	if err := h.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(chain.receipts) != 2 {
		t.Fatalf("%d receipts, want 2 (one per beacon)", len(chain.receipts))
	}
	for _, rc := range chain.receipts {
		n := want[string(rc.Beacon.Payload)]
		if len(rc.Witnesses) != n {
			t.Errorf("beacon %x: %d witnesses, want %d", rc.Beacon.Payload[:2], len(rc.Witnesses), n)
		}
		for _, w := range rc.Witnesses {
			if err := identity.VerifyMessage(w.Hotspot, identity.DomainWitness, w); err != nil {
				t.Errorf("witness in receipt no longer verifies: %v", err)
			}
		}
		if err := identity.VerifyMessage(rc.Beacon.Hotspot, identity.DomainBeacon, rc.Beacon); err != nil {
			t.Errorf("beacon in receipt no longer verifies: %v", err)
		}
	}
	// A late witness is refused with a reason; the receipts get confirmed.
	_, err = h.client.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: h.witness(t, key(t, 7), b1.Payload, -99)})
	if ReasonOf(err) != ReasonBeaconSubmitted {
		t.Fatalf("late witness: %v, want %q", err, ReasonBeaconSubmitted)
	}
	if err := h.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := h.svc.QueueStats(ctx)
	if err != nil || st[stateDone] != 2 {
		t.Fatalf("queue %v %v, want 2 done", st, err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	wantObs := map[string]int{"beacon/": 3, "witness/": 9, "witness/" + string(ReasonBeaconSubmitted): 1,
		"receipt/" + ReceiptSubmitted: 2, "receipt/" + ReceiptCommitted: 2}
	if diff := cmp.Diff(wantObs, obs.n); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}

// Reports accepted before a crash are submitted by the next process.
func TestQueueSurvivesRestart(t *testing.T) {
	chain := newFakeChain()
	clk := newClock()
	dbURL, _ := testsvc.Postgres(t)
	first := start(t, chain, clk, dbURL)
	ctx := context.Background()
	b := first.beacon(t, key(t, 1), 95, 1)
	if _, err := first.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := first.client.SubmitWitness(ctx, &hexproofv1.SubmitWitnessRequest{Report: first.witness(t, key(t, 2), b.Payload, -90)}); err != nil {
		t.Fatal(err)
	}
	// A second process on the same database (the first one's memory is gone).
	second := start(t, chain, clk, dbURL)
	clk.add(10 * time.Second)
	if err := second.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(chain.receipts) != 1 || len(chain.receipts[0].Witnesses) != 1 {
		t.Fatalf("after restart: %d receipts, want 1 with its witness", len(chain.receipts))
	}
}

// When another oracle landed the beacon first, the chain's "already
// recorded" answer finishes the beacon without an error.
func TestDuplicateFromAnotherOracleIsHarmless(t *testing.T) {
	chain := newFakeChain()
	clk := newClock()
	h := start(t, chain, clk, "")
	ctx := context.Background()
	b := h.beacon(t, key(t, 1), 95, 1)
	chain.otherOracle[string(b.Payload)] = true
	if _, err := h.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: b}); err != nil {
		t.Fatal(err)
	}
	clk.add(10 * time.Second)
	if err := h.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ := h.svc.QueueStats(ctx)
	if st[stateDone] != 1 || st[stateFailed] != 0 {
		t.Fatalf("queue %v, want the beacon done", st)
	}
}

// A beacon whose entropy is about to expire is submitted before its window
// closes; one whose entropy expired while queued is dropped, not submitted.
func TestEntropyDeadline(t *testing.T) {
	chain := newFakeChain()
	clk := newClock()
	h := start(t, chain, clk, "")
	ctx := context.Background()
	soon := h.beacon(t, key(t, 1), 83, 1) // valid until 103; margin 5 blocks
	if _, err := h.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: soon}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(chain.receipts) != 1 {
		t.Fatalf("receipt of a beacon near entropy expiry not submitted early (%d receipts)", len(chain.receipts))
	}
	late := h.beacon(t, key(t, 2), 99, 2)
	if _, err := h.client.SubmitBeacon(ctx, &hexproofv1.SubmitBeaconRequest{Report: late}); err != nil {
		t.Fatal(err)
	}
	chain.mu.Lock()
	chain.head = 130
	chain.mu.Unlock()
	if err := h.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ := h.svc.QueueStats(ctx)
	if st[stateExpired] != 1 || len(chain.receipts) != 1 {
		t.Fatalf("queue %v, %d receipts: want the late beacon expired and not submitted", st, len(chain.receipts))
	}
}

func TestWindowMustFitEntropyValidity(t *testing.T) {
	chain := newFakeChain() // 1 s blocks, 20 blocks validity
	tests := []struct {
		window time.Duration
		ok     bool
	}{{5 * time.Second, true}, {10 * time.Second, true}, {11 * time.Second, false}, {time.Minute, false}}
	for _, tc := range tests {
		t.Run(tc.window.String(), func(t *testing.T) {
			s := New(Config{Window: tc.window}, logging.Discard(), nil, chain, nil)
			err := s.CheckWindow(context.Background())
			if (err == nil) != tc.ok {
				t.Fatalf("window %s: err %v, want ok=%v", tc.window, err, tc.ok)
			}
		})
	}
}

// Reports come from the network: the cheap checks must never panic and
// must accept only reports whose signature verifies.
func FuzzCheckReports(f *testing.F) {
	k, _ := identity.KeyFromSeed(make([]byte, 32))
	b := &hexproofv1.BeaconReport{Hotspot: k.PublicKey(), EntropyHeight: 5, Entropy: make([]byte, 32), Payload: make([]byte, PayloadSize), FrequencyHz: 1, Datarate: "SF9BW125"}
	_ = k.SignMessage(identity.DomainBeacon, b)
	rb, _ := proto.Marshal(b)
	w := &hexproofv1.WitnessReport{Hotspot: k.PublicKey(), Payload: make([]byte, PayloadSize), Radio: &hexproofv1.RadioMeta{FrequencyHz: 1, Datarate: "x", ReceivedAtMs: 1}}
	_ = k.SignMessage(identity.DomainWitness, w)
	rw, _ := proto.Marshal(w)
	f.Add(rb, true)
	f.Add(rw, false)
	f.Fuzz(func(t *testing.T, raw []byte, beacon bool) {
		if beacon {
			var b hexproofv1.BeaconReport
			if proto.Unmarshal(raw, &b) != nil {
				return
			}
			if _, rej := checkBeacon(&b, 1<<62, 0); rej == nil {
				if err := identity.VerifyMessage(b.Hotspot, identity.DomainBeacon, &b); err != nil {
					t.Fatalf("accepted a beacon that does not verify: %v", err)
				}
			}
			return
		}
		var w hexproofv1.WitnessReport
		if proto.Unmarshal(raw, &w) != nil {
			return
		}
		if _, rej := checkWitness(&w, 1<<62, 0); rej == nil {
			if err := identity.VerifyMessage(w.Hotspot, identity.DomainWitness, &w); err != nil {
				t.Fatalf("accepted a witness that does not verify: %v", err)
			}
		}
	})
}
