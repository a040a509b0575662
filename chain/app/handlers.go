package app

import (
	"bytes"
	"math/bits"
	"strconv"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/geo"
	"github.com/hexproof/hexproof/chain/state"
	"github.com/hexproof/hexproof/chain/tx"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// handler executes one transaction's payload inside its own cache.
type handler struct {
	b      *blockCtx
	c      *state.Cache
	l      ledger
	signer identity.Address
	params client.Params
	raw    []byte
	events []abcitypes.Event
}

func (h *handler) emit(typ string, kv ...string) {
	e := abcitypes.Event{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Attributes = append(e.Attributes, abcitypes.EventAttribute{Key: kv[i], Value: kv[i+1], Index: true})
	}
	h.events = append(h.events, e)
}

// run dispatches on the payload; it returns the result data and the extra
// gas (signatures checked).
func (h *handler) run(body *hexproofv1.TxBody) ([]byte, int64, error) {
	switch p := body.Payload.(type) {
	case *hexproofv1.TxBody_Transfer:
		return nil, 0, h.transfer(p.Transfer)
	case *hexproofv1.TxBody_BurnForDc:
		return h.burn(p.BurnForDc)
	case *hexproofv1.TxBody_HotspotAdd:
		return nil, gasSignature, h.hotspotAdd(p.HotspotAdd)
	case *hexproofv1.TxBody_AssertLocation:
		return nil, 0, h.assertLocation(p.AssertLocation)
	case *hexproofv1.TxBody_HotspotTransfer:
		return nil, 0, h.hotspotTransfer(p.HotspotTransfer)
	case *hexproofv1.TxBody_OuiCreate:
		return h.ouiCreate(p.OuiCreate)
	case *hexproofv1.TxBody_OuiUpdate:
		return nil, 0, h.ouiUpdate(p.OuiUpdate)
	case *hexproofv1.TxBody_PocReceipt:
		return h.pocReceipt(p.PocReceipt)
	case *hexproofv1.TxBody_VoucherClaim:
		return h.voucherClaim(p.VoucherClaim)
	case *hexproofv1.TxBody_PriceVotes:
		return nil, 0, tx.Errorf(client.CodeProposerOnly, "price votes are injected by the block proposer")
	}
	return nil, 0, tx.Errorf(client.CodeInvalid, "unknown payload")
}

func (h *handler) transfer(p *hexproofv1.Transfer) error {
	to, err := addrOf(p.To, "transfer.to")
	if err != nil {
		return err
	}
	if p.Amount == 0 {
		return tx.Errorf(client.CodeInvalid, "transfer amount is 0")
	}
	from := h.l.account(h.signer)
	if from.BalanceUHXP < p.Amount {
		return tx.Errorf(client.CodeInsufficientFunds, "transfer of %d micro-HXP but %s holds %d", p.Amount, h.signer, from.BalanceUHXP)
	}
	from.BalanceUHXP -= p.Amount
	h.l.setAccount(from)
	h.l.credit(to, p.Amount)
	return nil
}

// DCPerUSD: one DC is $0.00001, i.e. 10 micro-USD.
const microUSDPerDC = 10

// DCForUHXP converts micro-HXP to DC at price (micro-USD per HXP), rounding
// down: dc = uhxp * price / (1e6 * 10). ok is false on overflow.
func DCForUHXP(uhxp, priceUUSD uint64) (uint64, bool) {
	hi, lo := bits.Mul64(uhxp, priceUUSD)
	const div = 1_000_000 * microUSDPerDC
	if hi >= div {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, div)
	return q, true
}

func (h *handler) burn(p *hexproofv1.BurnForDc) ([]byte, int64, error) {
	if p.Amount == 0 {
		return nil, 0, tx.Errorf(client.CodeInvalid, "burn amount is 0")
	}
	price := h.l.price().PriceUUSD
	if price == 0 {
		return nil, 0, tx.Errorf(client.CodeNoPrice, "the chain has no HXP price yet; wait for validator price votes")
	}
	dc, ok := DCForUHXP(p.Amount, price)
	if !ok {
		return nil, 0, tx.Errorf(client.CodeInvalid, "burn amount too large")
	}
	if dc == 0 {
		return nil, 0, tx.Errorf(client.CodeInvalid, "burning %d micro-HXP at %d micro-USD/HXP buys less than 1 DC; burn more", p.Amount, price)
	}
	acc := h.l.account(h.signer)
	if acc.BalanceUHXP < p.Amount {
		return nil, 0, tx.Errorf(client.CodeInsufficientFunds, "burn of %d micro-HXP but %s holds %d", p.Amount, h.signer, acc.BalanceUHXP)
	}
	acc.BalanceUHXP -= p.Amount
	h.l.setAccount(acc)
	switch t := p.Target.(type) {
	case *hexproofv1.BurnForDc_Oui:
		o, ok := h.l.oui(t.Oui)
		if !ok {
			return nil, 0, tx.Errorf(client.CodeNotFound, "OUI %d does not exist", t.Oui)
		}
		o.EscrowDC += dc
		h.l.setOUI(o)
	default:
		to := h.signer
		if a, ok := p.Target.(*hexproofv1.BurnForDc_Account); ok {
			var err error
			if to, err = addrOf(a.Account, "burn_for_dc.account"); err != nil {
				return nil, 0, err
			}
		}
		ta := h.l.account(to)
		ta.DC += dc
		h.l.setAccount(ta)
	}
	s := h.l.supply()
	s.TotalUHXP -= p.Amount
	s.BurnedUHXP += p.Amount
	s.DCIssued += dc
	h.l.setSupply(s)
	h.emit("burn_for_dc", "dc", strconv.FormatUint(dc, 10), "amount_uhxp", strconv.FormatUint(p.Amount, 10), "price_uusd", strconv.FormatUint(price, 10))
	return be64(dc), 0, nil
}

// chargeDC takes dc from the signer's DC balance.
func (h *handler) chargeDC(dc uint64, what string) error {
	if dc == 0 {
		return nil
	}
	acc := h.l.account(h.signer)
	if acc.DC < dc {
		return tx.Errorf(client.CodeInsufficientDC, "%s costs %d DC but %s holds %d DC; burn HXP for DC first", what, dc, h.signer, acc.DC)
	}
	acc.DC -= dc
	h.l.setAccount(acc)
	s := h.l.supply()
	s.DCBurned += dc
	h.l.setSupply(s)
	return nil
}

func modeName(m hexproofv1.HotspotMode) (string, bool) {
	switch m {
	case hexproofv1.HotspotMode_HOTSPOT_MODE_FULL:
		return client.ModeFull, true
	case hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY:
		return client.ModeDataOnly, true
	}
	return "", false
}

func (h *handler) hotspotAdd(p *hexproofv1.HotspotAdd) error {
	hs, err := addrOf(p.Hotspot, "hotspot_add.hotspot")
	if err != nil {
		return err
	}
	mode, ok := modeName(p.Mode)
	if !ok {
		return tx.Errorf(client.CodeInvalid, "hotspot mode must be full or data_only")
	}
	sb, err := client.HotspotAddSignBytes(h.b.chainID, h.signer.Bytes(), hs.Bytes(), p.Mode)
	if err != nil {
		return tx.Errorf(client.CodeInvalid, "hotspot add sign bytes: %v", err)
	}
	if err := identity.Verify(hs.Bytes(), identity.DomainHotspotAdd, sb, p.HotspotSignature); err != nil {
		return tx.Errorf(client.CodeBadSignature, "hotspot signature (the hotspot key must sign HotspotAddSignBytes for this owner and chain): %v", err)
	}
	if _, exists := h.l.hotspot(hs); exists {
		return tx.Errorf(client.CodeExists, "hotspot %s already exists", hs)
	}
	if err := h.chargeDC(h.params.HotspotAddFeeDC, "adding a hotspot"); err != nil {
		return err
	}
	h.l.setHotspot(client.Hotspot{Address: hs, Owner: h.signer, Mode: mode, AddedHeight: h.b.height})
	h.c.Set(kOwnerIdx(h.signer, hs), []byte{})
	return nil
}

// ownedHotspot loads a hotspot the signer must own.
func (h *handler) ownedHotspot(b []byte, what string) (client.Hotspot, error) {
	a, err := addrOf(b, what)
	if err != nil {
		return client.Hotspot{}, err
	}
	hs, ok := h.l.hotspot(a)
	if !ok {
		return hs, tx.Errorf(client.CodeNotFound, "hotspot %s does not exist; add it first", a)
	}
	if hs.Owner != h.signer {
		return hs, tx.Errorf(client.CodeUnauthorized, "hotspot %s is owned by %s, not the signer %s", a, hs.Owner, h.signer)
	}
	return hs, nil
}

func regionName(r hexproofv1.Region) (string, bool) {
	if r == hexproofv1.Region_REGION_UNSPECIFIED {
		return "", false
	}
	n, ok := hexproofv1.Region_name[int32(r)]
	if !ok {
		return "", false
	}
	return n[len("REGION_"):], true
}

func (h *handler) assertLocation(p *hexproofv1.AssertLocation) error {
	hs, err := h.ownedHotspot(p.Hotspot, "assert_location.hotspot")
	if err != nil {
		return err
	}
	if !geo.IsValid(p.Location) || geo.Resolution(p.Location) != 12 {
		return tx.Errorf(client.CodeInvalid, "location %x is not a valid H3 resolution-12 cell", p.Location)
	}
	region, ok := regionName(p.Region)
	if !ok {
		return tx.Errorf(client.CodeInvalid, "assert_location.region must be a LoRaWAN region")
	}
	if p.GainDdbi < -100 || p.GainDdbi > 300 {
		return tx.Errorf(client.CodeInvalid, "antenna gain %d deci-dBi outside -100..300", p.GainDdbi)
	}
	if p.ElevationM < -500 || p.ElevationM > 10000 {
		return tx.Errorf(client.CodeInvalid, "elevation %d m outside -500..10000", p.ElevationM)
	}
	if err := h.chargeDC(h.params.AssertLocationFeeDC, "asserting a location"); err != nil {
		return err
	}
	if hs.Location != 0 {
		h.c.Delete(kCellIdx(uint64(hs.Location), hs.Address))
	}
	hs.Location = client.Cell(p.Location)
	hs.GainDdbi, hs.ElevationM, hs.Region = p.GainDdbi, p.ElevationM, region
	hs.AssertedHeight = h.b.height
	hs.AssertCount++
	h.l.setHotspot(hs)
	h.c.Set(kCellIdx(p.Location, hs.Address), []byte{})
	return nil
}

func (h *handler) hotspotTransfer(p *hexproofv1.HotspotTransfer) error {
	hs, err := h.ownedHotspot(p.Hotspot, "hotspot_transfer.hotspot")
	if err != nil {
		return err
	}
	to, err := addrOf(p.NewOwner, "hotspot_transfer.new_owner")
	if err != nil {
		return err
	}
	if to == hs.Owner {
		return tx.Errorf(client.CodeInvalid, "new owner is the current owner")
	}
	h.c.Delete(kOwnerIdx(hs.Owner, hs.Address))
	hs.Owner = to
	h.l.setHotspot(hs)
	h.c.Set(kOwnerIdx(to, hs.Address), []byte{})
	return nil
}

// ouiConfig validates a proto config and converts it.
func (h *handler) ouiConfig(c *hexproofv1.OuiConfig) (client.OuiConfig, error) {
	var out client.OuiConfig
	if c == nil {
		return out, tx.Errorf(client.CodeInvalid, "OUI config missing")
	}
	if c.NetId > 0xffffff {
		return out, tx.Errorf(client.CodeInvalid, "net_id %x is not a 24-bit NetID", c.NetId)
	}
	if n := len(c.DevaddrRanges) + len(c.EuiPairs) + len(c.Routers); n > int(h.params.MaxOuiEntries) {
		return out, tx.Errorf(client.CodeInvalid, "OUI config has %d entries, limit %d", n, h.params.MaxOuiEntries)
	}
	if c.MaxCopies == 0 {
		return out, tx.Errorf(client.CodeInvalid, "max_copies must be at least 1")
	}
	out.Payer = h.signer
	if len(c.Payer) > 0 {
		p, err := addrOf(c.Payer, "oui.payer")
		if err != nil {
			return out, err
		}
		out.Payer = p
	}
	out.NetID, out.MaxCopies, out.FreeJoins = c.NetId, c.MaxCopies, c.FreeJoins
	out.DevAddrRanges = []client.DevAddrRange{}
	for _, r := range c.DevaddrRanges {
		if r.End < r.Start {
			return out, tx.Errorf(client.CodeInvalid, "devaddr range %08x-%08x is reversed", r.Start, r.End)
		}
		out.DevAddrRanges = append(out.DevAddrRanges, client.DevAddrRange{Start: r.Start, End: r.End})
	}
	out.EuiPairs = []client.EuiPair{}
	for _, e := range c.EuiPairs {
		out.EuiPairs = append(out.EuiPairs, client.EuiPair{JoinEUI: e.JoinEui, DevEUI: e.DevEui})
	}
	out.Routers = []client.Router{}
	for _, r := range c.Routers {
		k, err := addrOf(r.PublicKey, "oui router public_key")
		if err != nil {
			return out, err
		}
		if r.Endpoint == "" || len(r.Endpoint) > 256 {
			return out, tx.Errorf(client.CodeInvalid, "router endpoint must be host:port (1..256 bytes)")
		}
		out.Routers = append(out.Routers, client.Router{Endpoint: r.Endpoint, PublicKey: k})
	}
	return out, nil
}

func (h *handler) ouiCreate(p *hexproofv1.OuiCreate) ([]byte, int64, error) {
	cfg, err := h.ouiConfig(p.Config)
	if err != nil {
		return nil, 0, err
	}
	if err := h.chargeDC(h.params.OuiCreateFeeDC, "creating an OUI"); err != nil {
		return nil, 0, err
	}
	n := getUint(h.c, keyNextOUI)
	setUint(h.c, keyNextOUI, n+1)
	h.l.setOUI(client.OUI{OUI: n, Owner: h.signer, Config: cfg, CreatedHeight: h.b.height, UpdatedHeight: h.b.height})
	return be64(n), 0, nil
}

func (h *handler) ouiUpdate(p *hexproofv1.OuiUpdate) error {
	o, ok := h.l.oui(p.Oui)
	if !ok {
		return tx.Errorf(client.CodeNotFound, "OUI %d does not exist", p.Oui)
	}
	if o.Owner != h.signer {
		return tx.Errorf(client.CodeUnauthorized, "OUI %d is owned by %s; only its owner may change it", p.Oui, o.Owner)
	}
	cfg, err := h.ouiConfig(p.Config)
	if err != nil {
		return err
	}
	o.Config = cfg
	o.UpdatedHeight = h.b.height
	h.l.setOUI(o)
	return nil
}

// currentEpoch is the epoch the block belongs to: epoch e holds heights
// (e-1)*N+1 .. e*N.
func currentEpoch(height int64, p client.Params) uint64 {
	return (uint64(height)-1)/p.EpochBlocks + 1
}

func (h *handler) voucherClaim(p *hexproofv1.VoucherClaim) ([]byte, int64, error) {
	v := p.Voucher
	if v == nil {
		return nil, 0, tx.Errorf(client.CodeInvalid, "voucher missing")
	}
	if v.ChainId != h.b.chainID {
		return nil, 0, tx.Errorf(client.CodeWrongChain, "voucher is for chain %q", v.ChainId)
	}
	o, ok := h.l.oui(v.Oui)
	if !ok {
		return nil, 0, tx.Errorf(client.CodeNotFound, "OUI %d does not exist", v.Oui)
	}
	registered := false
	for _, r := range o.Config.Routers {
		if bytes.Equal(r.PublicKey[:], v.Router) {
			registered = true
		}
	}
	if !registered {
		return nil, 0, tx.Errorf(client.CodeUnauthorized, "router %x is not registered in OUI %d", v.Router, v.Oui)
	}
	if err := identity.VerifyMessage(v.Router, identity.DomainVoucher, v); err != nil {
		return nil, gasSignature, tx.Errorf(client.CodeBadSignature, "voucher signature: %v", err)
	}
	hsAddr, err := addrOf(v.Hotspot, "voucher.hotspot")
	if err != nil {
		return nil, gasSignature, err
	}
	if _, ok := h.l.hotspot(hsAddr); !ok {
		return nil, gasSignature, tx.Errorf(client.CodeNotFound, "hotspot %s does not exist", hsAddr)
	}
	if cur := currentEpoch(h.b.height, h.params); v.Epoch == 0 || v.Epoch > cur {
		return nil, gasSignature, tx.Errorf(client.CodeInvalid, "voucher epoch %d is not in 1..%d (the current epoch)", v.Epoch, cur)
	}
	var vs client.VoucherState
	key := kVoucher(v.Oui, hsAddr, v.Epoch)
	if !getJSON(h.c, key, &vs) {
		vs = client.VoucherState{OUI: v.Oui, Hotspot: hsAddr, Epoch: v.Epoch}
	}
	if v.Dc <= vs.PaidDC {
		return nil, gasSignature, tx.Errorf(client.CodeReplay, "voucher pays %d DC but %d DC were already paid for this OUI, hotspot and epoch", v.Dc, vs.PaidDC)
	}
	inc := v.Dc - vs.PaidDC
	if o.EscrowDC < inc {
		return nil, gasSignature, tx.Errorf(client.CodeInsufficientDC, "OUI %d escrow holds %d DC, the voucher needs %d more; the OUI must burn HXP for DC", v.Oui, o.EscrowDC, inc)
	}
	o.EscrowDC -= inc
	h.l.setOUI(o)
	vs.PaidDC, vs.Packets = v.Dc, v.Packets
	setJSON(h.c, key, vs)
	ep := currentEpoch(h.b.height, h.params)
	setUint(h.c, kActData(ep, hsAddr), getUint(h.c, kActData(ep, hsAddr))+inc)
	s := h.l.supply()
	s.DCBurned += inc
	h.l.setSupply(s)
	h.emit("voucher_claim", "oui", strconv.FormatUint(v.Oui, 10), "hotspot", hsAddr.String(), "epoch", strconv.FormatUint(v.Epoch, 10), "paid_dc", strconv.FormatUint(inc, 10))
	return be64(inc), gasSignature, nil
}
