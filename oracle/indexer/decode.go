package indexer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"google.golang.org/protobuf/proto"
)

// Optional events: when a receipt's result carries them the indexer uses
// them and does not ask the chain. Every event is kept in the events table
// either way.
const (
	EventBeacon    = "poc_beacon"  // attributes: valid, reason
	EventWitness   = "poc_witness" // attributes: index, valid, reason
	EventBurnForDC = "burn_for_dc" // attribute dc: data credits minted
)

// mappedEvents are tx events whose whole content lands in typed tables
// (txs, beacons, witnesses); every other event is kept in the events table.
var mappedEvents = map[string]bool{EventBeacon: true, EventWitness: true, "hexproof_tx": true}

// rows is what one block adds to the database.
type rows struct {
	addr      func([]byte) string
	height    int64
	chainID   string
	blocks    [][]any
	txs       [][]any
	events    [][]any
	locations [][]any
	burns     [][]any
	claims    [][]any
	receipts  []*receipt
	// Changes of the hotspots table, in block order.
	hsAdds      []hotspotAdd
	hsAsserts   []hotspotAssert
	hsTransfers []hotspotTransfer
	ouiTouched  bool
	adds        []string
	epoch       *EpochSummary
	// receipt rows, built once by receiptRows.
	beaconRows, witnessRows [][]any
	built                   bool
}

type receipt struct {
	height    int64
	idx       int32
	submitter string
	rc        *hexproofv1.PocReceipt
	verdict   *Verdict
}

type hotspotAdd struct {
	address, owner, mode string
	height               int64
}

type hotspotAssert struct {
	address         string
	location        int64
	gain, elevation int32
	region          string
	height          int64
}

type hotspotTransfer struct {
	address, owner string
	height         int64
}

// addrCache remembers the bech32 form of keys: the same hotspots appear in
// block after block and encoding is the indexer's largest CPU cost.
type addrCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *addrCache) addr(b []byte) string {
	if c == nil {
		return encodeAddr(b)
	}
	c.mu.Lock()
	s, ok := c.m[string(b)]
	c.mu.Unlock()
	if ok {
		return s
	}
	s = encodeAddr(b)
	c.mu.Lock()
	if c.m == nil || len(c.m) > 1<<20 {
		c.m = make(map[string]string)
	}
	c.m[string(b)] = s
	c.mu.Unlock()
	return s
}

func encodeAddr(b []byte) string {
	a, err := identity.AddressFromBytes(b)
	if err != nil {
		return fmt.Sprintf("invalid:%x", b)
	}
	return a.String()
}

// TxKind names the payload of a TxBody ("poc_receipt", "transfer", ...).
func TxKind(body *hexproofv1.TxBody) string {
	r := body.ProtoReflect()
	fd := r.WhichOneof(r.Descriptor().Oneofs().ByName("payload"))
	if fd == nil {
		return "empty"
	}
	return string(fd.Name())
}

func attrsJSON(e Event) []byte {
	m := make(map[string]string, len(e.Attrs))
	for _, a := range e.Attrs {
		m[a.Key] = a.Value
	}
	b, _ := json.Marshal(m)
	return b
}

func millis(ms uint64) time.Time {
	if ms > 1<<53 {
		ms = 1 << 53
	}
	return time.UnixMilli(int64(ms)).UTC()
}

// decode turns a block into rows. It never fails on a bad transaction: a tx
// that does not decode is kept as kind "undecodable" so that rows still
// equal the chain's.
func decode(b *Block, ac *addrCache) (*rows, error) {
	if len(b.Results) != len(b.Txs) {
		return nil, fmt.Errorf("block %d: %d txs but %d results", b.Height, len(b.Txs), len(b.Results))
	}
	r := &rows{height: b.Height, chainID: b.ChainID, addr: ac.addr}
	r.blocks = append(r.blocks, []any{b.Height, b.Hash, b.Time.UTC(), int32(len(b.Txs))})
	for i, e := range b.Events {
		r.events = append(r.events, []any{b.Height, int32(-1), int32(i), e.Type, attrsJSON(e)})
	}
	for i, raw := range b.Txs {
		res := b.Results[i]
		for j, e := range res.Events {
			if mappedEvents[e.Type] {
				continue
			}
			r.events = append(r.events, []any{b.Height, int32(i), int32(j), e.Type, attrsJSON(e)})
		}
		hash := sha256.Sum256(raw)
		var tx hexproofv1.Tx
		var body hexproofv1.TxBody
		if err := proto.Unmarshal(raw, &tx); err != nil || proto.Unmarshal(tx.GetBody(), &body) != nil {
			r.txs = append(r.txs, []any{b.Height, int32(i), hash[:], "", int64(0), int64(0), "undecodable", int64(res.Code), res.Log})
			continue
		}
		r.txs = append(r.txs, []any{b.Height, int32(i), hash[:], r.addr(body.GetSigner()), int64(body.GetNonce()), int64(body.GetFee()), TxKind(&body), int64(res.Code), res.Log})
		if res.Code != 0 {
			continue // rejected: no state change
		}
		r.applyTx(b.Height, int32(i), &body, res)
	}
	return r, nil
}

func firstEvent(res TxResult, typ string) (Event, bool) {
	for _, e := range res.Events {
		if e.Type == typ {
			return e, true
		}
	}
	return Event{}, false
}

func (r *rows) applyTx(h int64, i int32, body *hexproofv1.TxBody, res TxResult) {
	signer := r.addr(body.GetSigner())
	switch p := body.GetPayload().(type) {
	case *hexproofv1.TxBody_HotspotAdd:
		hs := r.addr(p.HotspotAdd.GetHotspot())
		r.adds = append(r.adds, hs)
		r.hsAdds = append(r.hsAdds, hotspotAdd{hs, signer, modeName(p.HotspotAdd.GetMode()), h})
	case *hexproofv1.TxBody_AssertLocation:
		a := p.AssertLocation
		hs := r.addr(a.GetHotspot())
		region := regionName(a.GetRegion())
		r.locations = append(r.locations, []any{hs, h, i, int64(a.GetLocation()), a.GetGainDdbi(), a.GetElevationM(), region})
		r.hsAsserts = append(r.hsAsserts, hotspotAssert{hs, int64(a.GetLocation()), a.GetGainDdbi(), a.GetElevationM(), region, h})
	case *hexproofv1.TxBody_HotspotTransfer:
		r.hsTransfers = append(r.hsTransfers, hotspotTransfer{r.addr(p.HotspotTransfer.GetHotspot()), r.addr(p.HotspotTransfer.GetNewOwner()), h})
	case *hexproofv1.TxBody_OuiCreate, *hexproofv1.TxBody_OuiUpdate:
		r.ouiTouched = true
	case *hexproofv1.TxBody_BurnForDc:
		bd := p.BurnForDc
		var dc int64
		if e, ok := firstEvent(res, EventBurnForDC); ok {
			v, _ := e.Get("dc")
			dc, _ = strconv.ParseInt(v, 10, 64)
		}
		account := ""
		if acc := bd.GetAccount(); acc != nil {
			account = r.addr(acc)
		}
		r.burns = append(r.burns, []any{h, i, signer, int64(bd.GetAmount()), dc, account, int64(bd.GetOui())})
		if _, ok := bd.GetTarget().(*hexproofv1.BurnForDc_Oui); ok {
			r.ouiTouched = true
		}
	case *hexproofv1.TxBody_VoucherClaim:
		v := p.VoucherClaim.GetVoucher()
		r.claims = append(r.claims, []any{h, i, signer, int64(v.GetOui()), r.addr(v.GetRouter()), r.addr(v.GetHotspot()), int64(v.GetEpoch()), int64(v.GetDc()), int64(v.GetPackets())})
		r.ouiTouched = true
	case *hexproofv1.TxBody_PocReceipt:
		rc := &receipt{height: h, idx: i, submitter: signer, rc: p.PocReceipt, verdict: verdictFromEvents(res)}
		r.receipts = append(r.receipts, rc)
	}
}

// verdictFromEvents reads the optional PoC events; nil when absent.
func verdictFromEvents(res TxResult) *Verdict {
	e, ok := firstEvent(res, EventBeacon)
	if !ok {
		return nil
	}
	v := &Verdict{}
	val, _ := e.Get("valid")
	v.Valid, _ = strconv.ParseBool(val)
	v.Reason, _ = e.Get("reason")
	for _, e := range res.Events {
		if e.Type != EventWitness {
			continue
		}
		idx, _ := e.Get("index")
		n, err := strconv.Atoi(idx)
		if err != nil || n < 0 || n > 1<<16 {
			continue
		}
		for len(v.Witnesses) <= n {
			v.Witnesses = append(v.Witnesses, WitnessVerdict{Reason: "not_reported"})
		}
		val, _ := e.Get("valid")
		w := WitnessVerdict{}
		w.Witness, _ = e.Get("hotspot")
		w.Valid, _ = strconv.ParseBool(val)
		w.Reason, _ = e.Get("reason")
		sel, _ := e.Get("selected")
		w.Selected, _ = strconv.ParseBool(sel)
		v.Witnesses[n] = w
	}
	return v
}

// enrich asks the chain for the verdicts the block's events did not carry.
func (r *rows) enrich(ctx context.Context, en Enricher) error {
	if en == nil {
		return nil
	}
	for _, rc := range r.receipts {
		if rc.verdict != nil {
			continue
		}
		v, err := en.BeaconVerdict(ctx, rc.rc.GetBeacon())
		if err != nil {
			return fmt.Errorf("verdict of receipt at %d/%d: %w", rc.height, rc.idx, err)
		}
		rc.verdict = v
	}
	return nil
}

// receiptRows turns receipts into the COPY rows of beacons and witnesses.
func (r *rows) receiptRows() (beacons, witnesses [][]any) {
	if r.built {
		return r.beaconRows, r.witnessRows
	}
	defer func() { r.beaconRows, r.witnessRows, r.built = beacons, witnesses, true }()
	for _, rc := range r.receipts {
		bc := rc.rc.GetBeacon()
		beaconer := r.addr(bc.GetHotspot())
		v := rc.verdict
		if v == nil {
			v = &Verdict{Reason: "verdict_unavailable"}
		}
		beacons = append(beacons, []any{rc.height, rc.idx, beaconer, rc.submitter, int64(bc.GetEntropyHeight()), bc.GetPayload(),
			int64(bc.GetFrequencyHz()), bc.GetDatarate(), bc.GetTxPowerDbm(), millis(bc.GetTransmittedAtMs()), v.Valid, v.Reason, int32(len(rc.rc.GetWitnesses()))})
		ws := rc.rc.GetWitnesses()
		inOrder := len(v.Witnesses) == len(ws)
		byAddr := map[string]WitnessVerdict{}
		if !inOrder {
			for _, wv := range v.Witnesses {
				if _, dup := byAddr[wv.Witness]; !dup {
					byAddr[wv.Witness] = wv
				}
			}
		}
		for j, w := range ws {
			wa := r.addr(w.GetHotspot())
			var wv WitnessVerdict
			var ok bool
			if inOrder {
				wv, ok = v.Witnesses[j], true
			} else {
				wv, ok = byAddr[wa]
			}
			if !ok {
				wv = WitnessVerdict{Reason: "verdict_unavailable"}
			}
			rm := w.GetRadio()
			witnesses = append(witnesses, []any{rc.height, rc.idx, int32(j), beaconer, wa, rm.GetRssiDbm(), rm.GetSnrCb(),
				int64(rm.GetFrequencyHz()), millis(rm.GetReceivedAtMs()), wv.Valid, wv.Reason, wv.Selected})
		}
	}
	return beacons, witnesses
}

func (r *rows) epochRows() (epochs, hotspots, accounts [][]any) {
	e := r.epoch
	if e == nil {
		return nil, nil, nil
	}
	ep := int64(e.Epoch)
	epochs = [][]any{{ep, e.StartHeight, e.EndHeight, int64(e.Emission), jsonOr(e.SummaryJSON)}}
	for _, h := range e.Hotspots {
		hotspots = append(hotspots, []any{ep, h.Hotspot, h.Owner, int64(h.Total), jsonOr(h.DetailJSON)})
	}
	for _, a := range e.Accounts {
		accounts = append(accounts, []any{ep, a.Account, a.Kind, int64(a.Amount)})
	}
	return epochs, hotspots, accounts
}

func modeName(m hexproofv1.HotspotMode) string {
	return strings.ToLower(strings.TrimPrefix(m.String(), "HOTSPOT_MODE_"))
}

func regionName(r hexproofv1.Region) string {
	return strings.TrimPrefix(r.String(), "REGION_")
}

func jsonOr(b []byte) []byte {
	if len(b) == 0 || !json.Valid(b) {
		return []byte("{}")
	}
	return b
}
