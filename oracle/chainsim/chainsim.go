package chainsim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/oracle/indexer"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/uber/h3-go/v4"
	"google.golang.org/protobuf/proto"
)

// Config shapes the generated history.
type Config struct {
	ChainID  string
	Seed     uint64
	Hotspots int
	// TxsPerBlock bounds onboarding blocks (adds, asserts).
	TxsPerBlock int
	// PocBlocks blocks of receipts follow onboarding.
	PocBlocks        int
	ReceiptsPerBlock int
	Witnesses        int
	EpochBlocks      int
	// Centre and spread (degrees) of hotspot locations.
	Lat, Lng, Spread float64
	// Unsigned skips signatures (benchmarks of the indexer, which does not
	// verify them) to make generation fast.
	Unsigned bool
}

// Hotspot is a generated hotspot.
type Hotspot struct {
	Key      *identity.Key
	Owner    *identity.Key
	Location h3.Cell
}

// Counts are what an indexer must end up with.
type Counts struct {
	Blocks, Txs, Receipts, Witnesses, InvalidWitnesses, Rewards, Hotspots, Locations int
}

// Network is a generated chain.
type Network struct {
	cfg      Config
	mu       sync.Mutex
	blocks   []*indexer.Block
	latest   int64
	Hotspots []Hotspot
	Counts   Counts
	nonces   map[string]uint64
	rng      *rand.Rand
	t0       time.Time
	// RewardsByEpoch[e][address] is the amount paid to that hotspot.
	RewardsByEpoch map[int64]map[string]int64
	verdicts       map[string]*indexer.Verdict
	epochs         map[int64]*indexer.EpochSummary
	ouis           []indexer.OUI
}

// New generates the whole history at once.
func New(cfg Config) (*Network, error) {
	if cfg.ChainID == "" {
		cfg.ChainID = "hexproof-sim"
	}
	if cfg.TxsPerBlock <= 0 {
		cfg.TxsPerBlock = 500
	}
	if cfg.EpochBlocks <= 0 {
		cfg.EpochBlocks = 10
	}
	if cfg.Spread == 0 {
		cfg.Spread = 0.05
	}
	if cfg.Lat == 0 && cfg.Lng == 0 {
		cfg.Lat, cfg.Lng = 52.52, 13.405
	}
	n := &Network{cfg: cfg, nonces: map[string]uint64{}, rng: rand.New(rand.NewPCG(cfg.Seed, 7)),
		t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), RewardsByEpoch: map[int64]map[string]int64{},
		verdicts: map[string]*indexer.Verdict{}, epochs: map[int64]*indexer.EpochSummary{}}
	if err := n.generate(); err != nil {
		return nil, err
	}
	n.latest = int64(len(n.blocks))
	return n, nil
}

func (n *Network) key(i uint64) *identity.Key {
	var seed [32]byte
	binary.BigEndian.PutUint64(seed[:8], n.cfg.Seed)
	binary.BigEndian.PutUint64(seed[8:16], i)
	s := sha256.Sum256(seed[:])
	k, err := identity.KeyFromSeed(s[:])
	if err != nil {
		panic(err) // a 32-byte seed always makes a key
	}
	return k
}

func (n *Network) sign(k *identity.Key, d identity.Domain, m proto.Message) {
	if n.cfg.Unsigned {
		return
	}
	if err := k.SignMessage(d, m); err != nil {
		panic(err)
	}
}

// tx builds a signed Tx envelope.
func (n *Network) tx(k *identity.Key, body *hexproofv1.TxBody) []byte {
	body.ChainId = n.cfg.ChainID
	body.Signer = k.PublicKey()
	body.Nonce = n.nonces[string(body.Signer)]
	n.nonces[string(body.Signer)]++
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(body)
	if err != nil {
		panic(err)
	}
	var sig []byte
	if !n.cfg.Unsigned {
		sig = k.Sign(identity.DomainTx, raw)
	}
	out, err := proto.Marshal(&hexproofv1.Tx{Body: raw, Signature: sig})
	if err != nil {
		panic(err)
	}
	return out
}

func (n *Network) newBlock() *indexer.Block {
	h := int64(len(n.blocks) + 1)
	hash := sha256.Sum256([]byte(n.cfg.ChainID + "/" + strconv.FormatInt(h, 10)))
	b := &indexer.Block{ChainID: n.cfg.ChainID, Height: h, Hash: hash[:], Time: n.t0.Add(time.Duration(h) * time.Second)}
	n.blocks = append(n.blocks, b)
	n.Counts.Blocks++
	return b
}

func (n *Network) add(b *indexer.Block, raw []byte, res indexer.TxResult) {
	b.Txs = append(b.Txs, raw)
	b.Results = append(b.Results, res)
	n.Counts.Txs++
}

func ev(typ string, kv ...string) indexer.Event {
	e := indexer.Event{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Attrs = append(e.Attrs, indexer.Attr{Key: kv[i], Value: kv[i+1]})
	}
	return e
}

func (n *Network) generate() error {
	owner := n.key(1 << 40)
	router := n.key(1<<40 + 1)
	for i := 0; i < n.cfg.Hotspots; i++ {
		lat := n.cfg.Lat + (n.rng.Float64()*2-1)*n.cfg.Spread
		lng := n.cfg.Lng + (n.rng.Float64()*2-1)*n.cfg.Spread
		c, err := h3.LatLngToCell(h3.NewLatLng(lat, lng), 12)
		if err != nil {
			return fmt.Errorf("hotspot location: %w", err)
		}
		n.Hotspots = append(n.Hotspots, Hotspot{Key: n.key(uint64(i)), Owner: owner, Location: c})
	}
	// Onboarding: adds, then asserts, TxsPerBlock per block.
	var b *indexer.Block
	for i, hs := range n.Hotspots {
		if i%n.cfg.TxsPerBlock == 0 {
			b = n.newBlock()
		}
		add := &hexproofv1.HotspotAdd{Hotspot: hs.Key.PublicKey(), Mode: hexproofv1.HotspotMode_HOTSPOT_MODE_FULL}
		if !n.cfg.Unsigned {
			sb, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&hexproofv1.HotspotAddSignBytes{ChainId: n.cfg.ChainID, Owner: owner.PublicKey(), Hotspot: hs.Key.PublicKey(), Mode: add.Mode})
			add.HotspotSignature = hs.Key.Sign(identity.DomainHotspotAdd, sb)
		}
		n.add(b, n.tx(owner, &hexproofv1.TxBody{Payload: &hexproofv1.TxBody_HotspotAdd{HotspotAdd: add}}), indexer.TxResult{})
		n.Counts.Hotspots++
	}
	for i, hs := range n.Hotspots {
		if i%n.cfg.TxsPerBlock == 0 {
			b = n.newBlock()
		}
		n.add(b, n.tx(owner, &hexproofv1.TxBody{Payload: &hexproofv1.TxBody_AssertLocation{AssertLocation: &hexproofv1.AssertLocation{
			Hotspot: hs.Key.PublicKey(), Location: uint64(hs.Location), GainDdbi: 12, ElevationM: 5, Region: hexproofv1.Region_REGION_EU868}}}),
			indexer.TxResult{})
		n.Counts.Locations++
	}
	// An OUI with DC, a rejected tx and a voucher claim.
	b = n.newBlock()
	n.add(b, n.tx(owner, &hexproofv1.TxBody{Payload: &hexproofv1.TxBody_OuiCreate{OuiCreate: &hexproofv1.OuiCreate{Config: &hexproofv1.OuiConfig{
		NetId: 0x24, MaxCopies: 2, DevaddrRanges: []*hexproofv1.DevAddrRange{{Start: 0x48000000, End: 0x480000ff}},
		Routers: []*hexproofv1.RouterEndpoint{{Endpoint: "router.example:9000", PublicKey: router.PublicKey()}}}}}}),
		indexer.TxResult{})
	cfgJSON, _ := json.Marshal(map[string]any{"net_id": 0x24, "max_copies": 2})
	n.ouis = []indexer.OUI{{OUI: 1, Owner: owner.Address().String(), Payer: owner.Address().String(), NetID: 0x24, ConfigJSON: cfgJSON,
		EscrowDC: 100000 - 250, Created: b.Height, Updated: b.Height}}
	n.add(b, n.tx(owner, &hexproofv1.TxBody{Payload: &hexproofv1.TxBody_BurnForDc{BurnForDc: &hexproofv1.BurnForDc{Amount: 1_000_000, Target: &hexproofv1.BurnForDc_Oui{Oui: 1}}}}),
		indexer.TxResult{Events: []indexer.Event{ev(indexer.EventBurnForDC, "dc", "100000")}})
	n.add(b, n.tx(owner, &hexproofv1.TxBody{Payload: &hexproofv1.TxBody_Transfer{Transfer: &hexproofv1.Transfer{To: router.PublicKey(), Amount: 1 << 62}}}),
		indexer.TxResult{Code: 5, Log: "insufficient funds"})
	if len(n.Hotspots) > 0 {
		v := &hexproofv1.Voucher{ChainId: n.cfg.ChainID, Oui: 1, Router: router.PublicKey(), Hotspot: n.Hotspots[0].Key.PublicKey(), Epoch: 0, Dc: 250, Packets: 200}
		n.sign(router, identity.DomainVoucher, v)
		n.add(b, n.tx(owner, &hexproofv1.TxBody{Payload: &hexproofv1.TxBody_VoucherClaim{VoucherClaim: &hexproofv1.VoucherClaim{Voucher: v}}}),
			indexer.TxResult{})
	}
	// A transfer and a move: hotspot 1 changes owner, hotspot 2 moves.
	if len(n.Hotspots) > 2 {
		b = n.newBlock()
		newOwner := n.key(1<<40 + 3)
		n.add(b, n.tx(owner, &hexproofv1.TxBody{Payload: &hexproofv1.TxBody_HotspotTransfer{HotspotTransfer: &hexproofv1.HotspotTransfer{
			Hotspot: n.Hotspots[1].Key.PublicKey(), NewOwner: newOwner.PublicKey()}}}), indexer.TxResult{})
		n.Hotspots[1].Owner = newOwner
		moved, err := n.Hotspots[2].Location.Parent(11)
		if err != nil {
			return err
		}
		center, err := moved.CenterChild(12)
		if err != nil {
			return err
		}
		if center == n.Hotspots[2].Location {
			kids, _ := moved.Children(12)
			center = kids[1]
		}
		n.add(b, n.tx(owner, &hexproofv1.TxBody{Payload: &hexproofv1.TxBody_AssertLocation{AssertLocation: &hexproofv1.AssertLocation{
			Hotspot: n.Hotspots[2].Key.PublicKey(), Location: uint64(center), GainDdbi: 12, ElevationM: 5, Region: hexproofv1.Region_REGION_EU868}}}),
			indexer.TxResult{})
		n.Hotspots[2].Location = center
		n.Counts.Locations++
	}
	// PoC: each block carries receipts; epoch ends pay everyone who took part.
	oracleKey := n.key(1<<40 + 2)
	earned := map[string]int64{}
	if len(n.Hotspots) < 2 {
		return nil
	}
	for p := 0; p < n.cfg.PocBlocks; p++ {
		b = n.newBlock()
		for r := 0; r < n.cfg.ReceiptsPerBlock; r++ {
			bi := n.rng.IntN(len(n.Hotspots))
			beaconer := n.Hotspots[bi]
			payload := make([]byte, 51)
			binary.BigEndian.PutUint64(payload, uint64(b.Height)<<20|uint64(r))
			bc := &hexproofv1.BeaconReport{Hotspot: beaconer.Key.PublicKey(), EntropyHeight: uint64(b.Height - 1), Entropy: n.blocks[b.Height-2].Hash,
				Payload: payload, FrequencyHz: 867_100_000, Datarate: "SF9BW125", TxPowerDbm: 14, TransmittedAtMs: uint64(b.Time.UnixMilli()) - 500}
			n.sign(beaconer.Key, identity.DomainBeacon, bc)
			rc := &hexproofv1.PocReceipt{Beacon: bc}
			res := indexer.TxResult{Events: []indexer.Event{ev(indexer.EventBeacon, "valid", "true", "reason", "")}}
			verdict := &indexer.Verdict{Valid: true}
			used := map[int]bool{bi: true}
			for w := 0; w < n.cfg.Witnesses && len(used) < len(n.Hotspots); w++ {
				wi := n.rng.IntN(len(n.Hotspots))
				for used[wi] {
					wi = (wi + 1) % len(n.Hotspots)
				}
				used[wi] = true
				wr := &hexproofv1.WitnessReport{Hotspot: n.Hotspots[wi].Key.PublicKey(), Payload: payload, Radio: &hexproofv1.RadioMeta{
					FrequencyHz: 867_100_000, Datarate: "SF9BW125", RssiDbm: -90 - int32(n.rng.IntN(30)), SnrCb: int32(n.rng.IntN(100)) - 50,
					ReceivedAtMs: uint64(b.Time.UnixMilli()) - 400, Region: hexproofv1.Region_REGION_EU868}}
				n.sign(n.Hotspots[wi].Key, identity.DomainWitness, wr)
				rc.Witnesses = append(rc.Witnesses, wr)
				valid, reason := "true", ""
				if w%5 == 4 {
					valid, reason = "false", "witness_too_close"
					n.Counts.InvalidWitnesses++
				} else {
					earned[n.Hotspots[wi].Key.Address().String()] += 10
				}
				res.Events = append(res.Events, ev(indexer.EventWitness, "index", strconv.Itoa(w), "hotspot", n.Hotspots[wi].Key.Address().String(), "valid", valid, "reason", reason, "selected", valid))
				verdict.Witnesses = append(verdict.Witnesses, indexer.WitnessVerdict{Witness: n.Hotspots[wi].Key.Address().String(), Valid: valid == "true", Reason: reason, Selected: valid == "true"})
				n.Counts.Witnesses++
			}
			earned[beaconer.Key.Address().String()] += 40
			n.verdicts[string(payload)] = verdict
			if r%2 == 1 {
				// Odd receipts carry no events: the indexer asks the chain.
				res.Events = nil
			}
			n.add(b, n.tx(oracleKey, &hexproofv1.TxBody{Payload: &hexproofv1.TxBody_PocReceipt{PocReceipt: rc}}), res)
			n.Counts.Receipts++
		}
		if b.Height%int64(n.cfg.EpochBlocks) == 0 {
			epoch := uint64(b.Height/int64(n.cfg.EpochBlocks) - 1)
			sum := &indexer.EpochSummary{Epoch: epoch, StartHeight: b.Height - int64(n.cfg.EpochBlocks) + 1, EndHeight: b.Height, Emission: 1_000_000}
			n.RewardsByEpoch[int64(epoch)] = map[string]int64{}
			var paid uint64
			for _, hs := range n.Hotspots { // in hotspot order: deterministic
				a := hs.Key.Address().String()
				if amt := earned[a]; amt > 0 {
					detail, _ := json.Marshal(map[string]any{"epoch": epoch, "hotspot": a, "beacon_uhxp": amt, "witness_uhxp": 0, "data_uhxp": 0, "total_uhxp": amt, "hex_scale": "1"})
					sum.Hotspots = append(sum.Hotspots, indexer.HotspotReward{Hotspot: a, Owner: hs.Owner.Address().String(), Total: uint64(amt), DetailJSON: detail})
					n.RewardsByEpoch[int64(epoch)][a] = amt
					paid += uint64(amt)
					n.Counts.Rewards++
				}
			}
			sum.SummaryJSON, _ = json.Marshal(map[string]any{"epoch": epoch, "emission_uhxp": 1_000_000, "beacon_pool_uhxp": paid,
				"validator_pool_uhxp": 1_000_000 - paid, "rewarded_hotspots": len(sum.Hotspots)})
			sum.Accounts = []indexer.AccountReward{{Account: oracleKey.Address().String(), Kind: "validator", Amount: 1_000_000 - paid}}
			n.epochs[b.Height] = sum
			earned = map[string]int64{}
		}
	}
	return nil
}

// BeaconVerdict implements indexer.Enricher.
func (n *Network) BeaconVerdict(_ context.Context, b *hexproofv1.BeaconReport) (*indexer.Verdict, error) {
	return n.verdicts[string(b.GetPayload())], nil
}

// EpochEndedAt implements indexer.Enricher.
func (n *Network) EpochEndedAt(_ context.Context, h int64) (uint64, bool, error) {
	e, ok := n.epochs[h]
	if !ok {
		return 0, false, nil
	}
	return e.Epoch, true, nil
}

// Epoch implements indexer.Enricher: every hotspot reward of the epoch, as
// the chain's /rewards/epoch/hotspots gives them.
func (n *Network) Epoch(_ context.Context, epoch uint64) (*indexer.EpochSummary, error) {
	for _, e := range n.epochs {
		if e.Epoch != epoch {
			continue
		}
		out := *e
		out.Hotspots = append([]indexer.HotspotReward(nil), e.Hotspots...)
		return &out, nil
	}
	return nil, fmt.Errorf("epoch %d not ended", epoch)
}

// OUIs implements indexer.Enricher.
func (n *Network) OUIs(context.Context) ([]indexer.OUI, error) { return n.ouis, nil }

// SetLatest makes the chain look shorter (a growing chain in tests).
func (n *Network) SetLatest(h int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.latest = min(h, int64(len(n.blocks)))
}

// Blocks returns the generated blocks (read-only).
func (n *Network) Blocks() []*indexer.Block { return n.blocks }

// LatestHeight implements indexer.Source.
func (n *Network) LatestHeight(context.Context) (int64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.latest, nil
}

// Block implements indexer.Source.
func (n *Network) Block(_ context.Context, h int64) (*indexer.Block, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h < 1 || h > n.latest {
		return nil, fmt.Errorf("block %d not committed (latest %d)", h, n.latest)
	}
	return n.blocks[h-1], nil
}
