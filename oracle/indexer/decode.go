package indexer

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Event types and attributes the indexer maps into typed tables. Everything
// else is still kept in the events table.
const (
	EventBeacon       = "poc_beacon"    // valid, reason
	EventWitness      = "poc_witness"   // index, valid, reason
	EventReward       = "reward"        // epoch, account, hotspot, kind, amount
	EventBurnForDC    = "burn_for_dc"   // dc
	EventOuiCreate    = "oui_create"    // oui
	EventVoucherClaim = "voucher_claim" // paid_dc
)

// rows is what one block adds to the database.
type rows struct {
	height    int64
	chainID   string
	blocks    [][]any
	txs       [][]any
	events    [][]any
	locations [][]any
	beacons   [][]any
	witnesses [][]any
	rewards   [][]any
	burns     [][]any
	claims    [][]any
	// state holds ordered statements for the current-state tables.
	state []stmt
	// receipts counts PoC receipts (for metrics and benchmarks).
	receipts int
}

type stmt struct {
	sql  string
	args []any
}

func addr(b []byte) string {
	a, err := identity.AddressFromBytes(b)
	if err != nil {
		return "invalid:" + fmt.Sprintf("%x", b)
	}
	return a.String()
}

// TxKind names the payload of a TxBody.
func TxKind(body *hexproofv1.TxBody) string {
	if body.GetPayload() == nil {
		return "empty"
	}
	name := string(body.ProtoReflect().WhichOneof(body.ProtoReflect().Descriptor().Oneofs().ByName("payload")).Name())
	return name
}

func attrsJSON(e Event) []byte {
	m := make(map[string]string, len(e.Attrs))
	for _, a := range e.Attrs {
		m[a.Key] = a.Value
	}
	b, _ := json.Marshal(m)
	return b
}

func parseBool(s string) bool { b, _ := strconv.ParseBool(s); return b }

func millis(ms uint64) time.Time { return time.UnixMilli(int64(ms)).UTC() }

// decode turns a block into rows. It never fails on a bad transaction: a tx
// that does not decode is kept as kind "undecodable" so that rows still equal
// the chain's.
func decode(b *Block) (*rows, error) {
	if len(b.Results) != len(b.Txs) {
		return nil, fmt.Errorf("block %d: %d txs but %d results", b.Height, len(b.Txs), len(b.Results))
	}
	r := &rows{height: b.Height, chainID: b.ChainID}
	r.blocks = append(r.blocks, []any{b.Height, b.Hash, b.Time.UTC(), int32(len(b.Txs))})
	for i, e := range b.Events {
		r.events = append(r.events, []any{b.Height, int32(-1), int32(i), e.Type, attrsJSON(e)})
		if e.Type == EventReward {
			r.addReward(b.Height, e)
		}
	}
	for i, raw := range b.Txs {
		res := b.Results[i]
		for j, e := range res.Events {
			r.events = append(r.events, []any{b.Height, int32(i), int32(j), e.Type, attrsJSON(e)})
		}
		hash := sha256.Sum256(raw)
		var tx hexproofv1.Tx
		var body hexproofv1.TxBody
		if err := proto.Unmarshal(raw, &tx); err != nil || proto.Unmarshal(tx.GetBody(), &body) != nil {
			r.txs = append(r.txs, []any{b.Height, int32(i), hash[:], "", int64(0), int64(0), "undecodable", int32(res.Code), res.Log})
			continue
		}
		r.txs = append(r.txs, []any{b.Height, int32(i), hash[:], addr(body.GetSigner()), int64(body.GetNonce()), int64(body.GetFee()), TxKind(&body), int32(res.Code), res.Log})
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

func attrInt(res TxResult, typ, key string) (int64, bool) {
	e, ok := firstEvent(res, typ)
	if !ok {
		return 0, false
	}
	v, ok := e.Get(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

func (r *rows) applyTx(h int64, i int32, body *hexproofv1.TxBody, res TxResult) {
	signer := addr(body.GetSigner())
	switch p := body.GetPayload().(type) {
	case *hexproofv1.TxBody_HotspotAdd:
		r.state = append(r.state, stmt{`INSERT INTO hotspots (address, owner, mode, added_height, updated_height)
			VALUES ($1, $2, $3, $4, $4) ON CONFLICT (address) DO NOTHING`,
			[]any{addr(p.HotspotAdd.GetHotspot()), signer, modeName(p.HotspotAdd.GetMode()), h}})
	case *hexproofv1.TxBody_AssertLocation:
		a := p.AssertLocation
		hs := addr(a.GetHotspot())
		region := regionName(a.GetRegion())
		r.locations = append(r.locations, []any{hs, h, i, int64(a.GetLocation()), a.GetGainDdbi(), a.GetElevationM(), region})
		r.state = append(r.state, stmt{`UPDATE hotspots SET location = $2, gain_ddbi = $3, elevation_m = $4, region = $5, updated_height = $6 WHERE address = $1`,
			[]any{hs, int64(a.GetLocation()), a.GetGainDdbi(), a.GetElevationM(), region, h}})
	case *hexproofv1.TxBody_HotspotTransfer:
		r.state = append(r.state, stmt{`UPDATE hotspots SET owner = $2, updated_height = $3 WHERE address = $1`,
			[]any{addr(p.HotspotTransfer.GetHotspot()), addr(p.HotspotTransfer.GetNewOwner()), h}})
	case *hexproofv1.TxBody_OuiCreate:
		oui, ok := attrInt(res, EventOuiCreate, "oui")
		if !ok {
			return // the chain did not say which number it assigned
		}
		c := p.OuiCreate.GetConfig()
		r.state = append(r.state, stmt{`INSERT INTO ouis (oui, owner, payer, net_id, config, created_height, updated_height)
			VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (oui) DO NOTHING`,
			[]any{oui, signer, payerOf(c, signer), int64(c.GetNetId()), ouiJSON(c), h}})
	case *hexproofv1.TxBody_OuiUpdate:
		c := p.OuiUpdate.GetConfig()
		r.state = append(r.state, stmt{`UPDATE ouis SET payer = $2, net_id = $3, config = $4, updated_height = $5 WHERE oui = $1`,
			[]any{int64(p.OuiUpdate.GetOui()), payerOf(c, signer), int64(c.GetNetId()), ouiJSON(c), h}})
	case *hexproofv1.TxBody_BurnForDc:
		bd := p.BurnForDc
		dc, _ := attrInt(res, EventBurnForDC, "dc")
		account := ""
		if acc := bd.GetAccount(); acc != nil {
			account = addr(acc)
		}
		r.burns = append(r.burns, []any{h, i, signer, int64(bd.GetAmount()), dc, account, int64(bd.GetOui())})
		if _, ok := bd.GetTarget().(*hexproofv1.BurnForDc_Oui); ok {
			r.state = append(r.state, stmt{`UPDATE ouis SET dc_escrow = dc_escrow + $2, dc_burned = dc_burned + $2 WHERE oui = $1`,
				[]any{int64(bd.GetOui()), dc}})
		}
	case *hexproofv1.TxBody_VoucherClaim:
		v := p.VoucherClaim.GetVoucher()
		paid, _ := attrInt(res, EventVoucherClaim, "paid_dc")
		r.claims = append(r.claims, []any{h, i, signer, int64(v.GetOui()), addr(v.GetRouter()), addr(v.GetHotspot()), int64(v.GetEpoch()), int64(v.GetDc()), int64(v.GetPackets()), paid})
		r.state = append(r.state, stmt{`UPDATE ouis SET dc_escrow = dc_escrow - $2, dc_used = dc_used + $2 WHERE oui = $1`,
			[]any{int64(v.GetOui()), paid}})
	case *hexproofv1.TxBody_PocReceipt:
		r.addReceipt(h, i, signer, p.PocReceipt, res)
	}
}

func (r *rows) addReceipt(h int64, i int32, submitter string, rc *hexproofv1.PocReceipt, res TxResult) {
	r.receipts++
	bc := rc.GetBeacon()
	beaconer := addr(bc.GetHotspot())
	valid, reason := true, ""
	if e, ok := firstEvent(res, EventBeacon); ok {
		v, _ := e.Get("valid")
		valid = parseBool(v)
		reason, _ = e.Get("reason")
	}
	type verdict struct {
		valid  bool
		reason string
	}
	verdicts := map[int]verdict{}
	for _, e := range res.Events {
		if e.Type != EventWitness {
			continue
		}
		idx, _ := e.Get("index")
		n, err := strconv.Atoi(idx)
		if err != nil {
			continue
		}
		v, _ := e.Get("valid")
		rs, _ := e.Get("reason")
		verdicts[n] = verdict{parseBool(v), rs}
	}
	r.beacons = append(r.beacons, []any{h, i, beaconer, submitter, int64(bc.GetEntropyHeight()), bc.GetPayload(),
		int64(bc.GetFrequencyHz()), bc.GetDatarate(), bc.GetTxPowerDbm(), millis(bc.GetTransmittedAtMs()), valid, reason, int32(len(rc.GetWitnesses()))})
	for j, w := range rc.GetWitnesses() {
		v, ok := verdicts[j]
		if !ok {
			v = verdict{valid: valid, reason: "not_reported"}
			if valid {
				v.reason = ""
			}
		}
		rm := w.GetRadio()
		r.witnesses = append(r.witnesses, []any{h, i, int32(j), beaconer, addr(w.GetHotspot()), rm.GetRssiDbm(), rm.GetSnrCb(),
			int64(rm.GetFrequencyHz()), millis(rm.GetReceivedAtMs()), v.valid, v.reason})
	}
}

func (r *rows) addReward(h int64, e Event) {
	get := func(k string) string { v, _ := e.Get(k); return v }
	epoch, err1 := strconv.ParseInt(get("epoch"), 10, 64)
	amount, err2 := strconv.ParseInt(get("amount"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	r.rewards = append(r.rewards, []any{epoch, h, get("account"), get("hotspot"), get("kind"), amount})
}

func payerOf(c *hexproofv1.OuiConfig, signer string) string {
	if len(c.GetPayer()) == 0 {
		return signer
	}
	return addr(c.GetPayer())
}

func ouiJSON(c *hexproofv1.OuiConfig) []byte {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(c)
	if err != nil {
		return []byte("{}")
	}
	return b
}

func modeName(m hexproofv1.HotspotMode) string {
	return strings.ToLower(strings.TrimPrefix(m.String(), "HOTSPOT_MODE_"))
}

func regionName(r hexproofv1.Region) string {
	return strings.TrimPrefix(r.String(), "REGION_")
}
