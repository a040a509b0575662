package app

import (
	"encoding/binary"
	"slices"
	"strconv"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/poc"
	"github.com/hexproof/hexproof/chain/tx"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// pocView is chain/poc's view of the state.
type pocView struct{ l ledger }

func (v pocView) Hotspot(a identity.Address) (poc.Hotspot, bool) {
	h, ok := v.l.hotspot(a)
	if !ok {
		return poc.Hotspot{}, false
	}
	return toPocHotspot(h), true
}

func toPocHotspot(h client.Hotspot) poc.Hotspot {
	mode := hexproofv1.HotspotMode_HOTSPOT_MODE_FULL
	if h.Mode == client.ModeDataOnly {
		mode = hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY
	}
	return poc.Hotspot{
		Address: h.Address, Owner: h.Owner, Mode: mode, Location: uint64(h.Location),
		GainDdbi: h.GainDdbi, ElevationM: h.ElevationM,
		Region:            hexproofv1.Region(hexproofv1.Region_value["REGION_"+h.Region]),
		LastBeaconHeight:  uint64(h.LastBeaconHeight),
		LastWitnessHeight: uint64(h.LastWitnessHeight),
	}
}

func (v pocView) Block(height uint64) (poc.Block, bool) {
	b := v.l.w.Get(kBlockHash(int64(height)))
	if len(b) < 8 {
		return poc.Block{}, false
	}
	return poc.Block{TimeMs: binary.BigEndian.Uint64(b), Hash: b[8:]}, true
}

// actBeacon is a valid beacon kept until its epoch's rewards.
type actBeacon struct {
	Beaconer  identity.Address   `json:"beaconer"`
	Location  client.Cell        `json:"location"`
	Witnesses []identity.Address `json:"witnesses"`
}

// History entry kinds in kPocHist.
const (
	histBeacon  = 'b'
	histWitness = 'w'
)

func (h *handler) pocReceipt(r *hexproofv1.PocReceipt) ([]byte, int64, error) {
	gas := int64(1+len(r.GetWitnesses())) * gasSignature
	if h.b.checkOnly {
		// CheckTx: the receipt is verified (signatures, rules) by every
		// validator in FinalizeBlock, where it also pays its fee if it
		// fails; the mempool only refuses what cannot be recorded.
		if len(r.GetBeacon().GetHotspot()) != 32 || len(r.GetWitnesses()) > h.params.MaxWitnessesPerReceipt {
			return nil, gas, tx.Errorf(client.CodeInvalid, "poc receipt refused: %s", poc.BeaconMalformed)
		}
		id, err := client.BeaconID(r.Beacon)
		if err != nil {
			return nil, gas, tx.Errorf(client.CodeInvalid, "beacon id: %v", err)
		}
		if h.c.Get(kBeacon(id)) != nil {
			return nil, gas, tx.Errorf(client.CodeReplay, "beacon %x already has a receipt on chain", id)
		}
		addr, _ := identity.AddressFromBytes(r.Beacon.Hotspot)
		if _, ok := h.l.hotspot(addr); !ok {
			return nil, gas, tx.Errorf(client.CodeInvalid, "poc receipt refused: %s", poc.BeaconUnknownHotspot)
		}
		h.c.Set(kBeacon(id), []byte{})
		return id, gas, nil
	}
	now := poc.Now{Height: uint64(h.b.height), TimeMs: uint64(h.b.time.UnixMilli())}
	res := poc.Verify(pocView{h.l}, pocParams(h.params), now, r)
	switch res.Beacon.Reason {
	case poc.BeaconMalformed, poc.BeaconUnknownHotspot, poc.BeaconBadSignature:
		// Nothing to attribute: refuse rather than store anonymous junk.
		return nil, gas, tx.Errorf(client.CodeInvalid, "poc receipt refused: %s", res.Beacon.Reason)
	}
	id, err := client.BeaconID(r.Beacon)
	if err != nil {
		return nil, gas, tx.Errorf(client.CodeInvalid, "beacon id: %v", err)
	}
	if h.c.Get(kBeacon(id)) != nil {
		return nil, gas, tx.Errorf(client.CodeReplay, "beacon %x already has a receipt on chain", id)
	}
	beaconer, _ := h.l.hotspot(res.Beacon.Hotspot)
	rec := client.BeaconReceipt{
		ID: id, Beaconer: res.Beacon.Hotspot, Height: h.b.height, Submitter: h.signer,
		EntropyHeight: res.EntropyHeight, FrequencyHz: r.Beacon.FrequencyHz, Datarate: r.Beacon.Datarate,
		Location: beaconer.Location, Valid: res.Beacon.Valid, Reason: string(res.Beacon.Reason),
		Witnesses: make([]client.WitnessVerdict, 0, len(res.Witnesses)),
	}
	if res.Beacon.Physical {
		beaconer.LastBeaconHeight = int64(res.EntropyHeight)
		h.l.setHotspot(beaconer)
	}
	h.c.Set(kPocHist(beaconer.Address, h.b.height, id, histBeacon), []byte(res.Beacon.Reason))
	act := actBeacon{Beaconer: beaconer.Address, Location: beaconer.Location, Witnesses: []identity.Address{}}
	for i, w := range res.Witnesses {
		rep := r.Witnesses[i]
		wv := client.WitnessVerdict{
			Witness: w.Hotspot, Valid: w.Valid, Reason: string(w.Reason), Selected: w.Rewarded,
			RssiDbm: rep.GetRadio().GetRssiDbm(), SnrCb: rep.GetRadio().GetSnrCb(),
			FrequencyHz: rep.GetRadio().GetFrequencyHz(), ReceivedAtMs: rep.GetRadio().GetReceivedAtMs(),
			DistanceM: w.DistanceM,
		}
		switch w.Reason {
		case poc.WitnessMalformed, poc.WitnessOverLimit, poc.WitnessUnknownHotspot, poc.WitnessBadSignature:
			// Not attributable to a hotspot's history.
		default:
			ws, ok := h.l.hotspot(w.Hotspot)
			if ok {
				wv.Location = ws.Location
				if w.Physical {
					ws.LastWitnessHeight = int64(res.EntropyHeight)
					h.l.setHotspot(ws)
				}
				h.c.Set(kPocHist(w.Hotspot, h.b.height, id, histWitness), append(slices.Clone(beaconer.Address[:]), w.Reason...))
			}
		}
		h.emit("poc_witness", "index", strconv.Itoa(i), "hotspot", w.Hotspot.String(), "valid", strconv.FormatBool(w.Valid), "reason", string(w.Reason), "selected", strconv.FormatBool(w.Rewarded))
		if w.Rewarded {
			act.Witnesses = append(act.Witnesses, w.Hotspot)
		}
		rec.Witnesses = append(rec.Witnesses, wv)
	}
	setJSON(h.c, kBeacon(id), rec)
	h.events = append([]abcitypes.Event{{Type: "poc_beacon", Attributes: []abcitypes.EventAttribute{
		{Key: "id", Value: client.HexBytes(id).String(), Index: true},
		{Key: "beaconer", Value: rec.Beaconer.String(), Index: true},
		{Key: "valid", Value: strconv.FormatBool(rec.Valid)},
		{Key: "reason", Value: rec.Reason},
	}}}, h.events...)
	if res.Beacon.Valid {
		ep := currentEpoch(h.b.height, h.params)
		setJSON(h.c, kActBeacon(ep, id), act)
		setUint(h.c, kActOracle(ep, h.signer), getUint(h.c, kActOracle(ep, h.signer))+1)
	}
	return id, gas, nil
}
