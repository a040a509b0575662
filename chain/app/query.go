package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/geo"
	"github.com/hexproof/hexproof/chain/state"
	"github.com/hexproof/hexproof/internal/identity"
)

type queryError struct {
	code uint32
	msg  string
}

func (e *queryError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &queryError{client.QueryNotFound, fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &queryError{client.QueryBadRequest, fmt.Sprintf(format, args...)}
}

// Query implements abcitypes.Application. Paths are documented in
// docs/chain-queries.md; answers are JSON of chain/client types.
func (a *App) Query(_ context.Context, req *abcitypes.RequestQuery) (*abcitypes.ResponseQuery, error) {
	path, rawQuery, _ := strings.Cut(req.Path, "?")
	q, err := url.ParseQuery(rawQuery)
	h := a.store.Height()
	if err != nil {
		return &abcitypes.ResponseQuery{Code: client.QueryBadRequest, Log: "parameters: " + err.Error(), Height: h}, nil
	}
	if h == 0 {
		return &abcitypes.ResponseQuery{Code: client.QueryNotFound, Log: "the chain has not committed its first block yet", Height: h}, nil
	}
	// The application keeps one version of its state, so it cannot answer
	// for an earlier height; answering with the latest state instead would
	// hand the caller data from a height it did not ask for.
	if req.Height != 0 && req.Height != h {
		return &abcitypes.ResponseQuery{Code: client.QueryBadRequest, Height: h,
			Log: fmt.Sprintf("height %d: this node answers queries at its latest committed height only (%d now); omit height or pass 0, or read historical rewards with /rewards/hotspot and /rewards/epoch/hotspots", req.Height, h)}, nil
	}
	if req.Prove {
		return &abcitypes.ResponseQuery{Code: client.QueryBadRequest, Height: h,
			Log: "prove: the chain application does not produce Merkle proofs (its app hash is a lattice hash over the whole state); query without prove"}, nil
	}
	v, err := a.query(ledger{w: state.NewCache(a.store)}, path, q)
	if err != nil {
		code := client.QueryBadRequest
		if qe, ok := err.(*queryError); ok {
			code = qe.code
		}
		return &abcitypes.ResponseQuery{Code: code, Log: err.Error(), Height: h}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &abcitypes.ResponseQuery{Code: client.QueryOK, Value: b, Height: h}, nil
}

func addrArg(q url.Values, name string) (identity.Address, error) {
	s := q.Get(name)
	if s == "" {
		return identity.Address{}, badRequest("parameter %s (an hxp1... address) is required", name)
	}
	a, err := identity.ParseAddress(s)
	if err != nil {
		return a, badRequest("parameter %s: %v", name, err)
	}
	return a, nil
}

func uintArg(q url.Values, name string) (uint64, error) {
	v, err := strconv.ParseUint(q.Get(name), 10, 64)
	if err != nil {
		return 0, badRequest("parameter %s must be a decimal number", name)
	}
	return v, nil
}

func cellArg(q url.Values) (uint64, error) {
	c, err := client.ParseCell(q.Get("cell"))
	if err != nil || !geo.IsValid(uint64(c)) || geo.Resolution(uint64(c)) > 12 {
		return 0, badRequest("parameter cell must be an H3 cell in hex of resolution 0..12")
	}
	return uint64(c), nil
}

func (a *App) query(l ledger, path string, q url.Values) (any, error) {
	switch path {
	case client.PathParams:
		return l.params(), nil
	case client.PathSupply:
		return l.supply(), nil
	case client.PathPrice:
		return l.price(), nil
	case client.PathValidators:
		out := []client.Validator{}
		for _, v := range l.validators() {
			out = append(out, client.Validator{Address: v.Address, PubKey: v.PubKey, Power: v.Power, Name: v.Name, Reward: v.Reward})
		}
		return out, nil
	case client.PathAccount:
		addr, err := addrArg(q, "address")
		if err != nil {
			return nil, err
		}
		return l.account(addr), nil
	case client.PathHotspot:
		addr, err := addrArg(q, "address")
		if err != nil {
			return nil, err
		}
		hs, ok := l.hotspot(addr)
		if !ok {
			return nil, notFound("hotspot %s does not exist", addr)
		}
		return hs, nil
	case client.PathHotspotsByOwner:
		owner, err := addrArg(q, "address")
		if err != nil {
			return nil, err
		}
		out := []client.Hotspot{}
		l.w.Iterate(cat("hsown/", owner[:]), func(k, _ []byte) bool {
			a, _ := identity.AddressFromBytes(k[len(k)-32:])
			if hs, ok := l.hotspot(a); ok {
				out = append(out, hs)
			}
			return true
		})
		return out, nil
	case client.PathHotspotsInCell:
		cell, err := cellArg(q)
		if err != nil {
			return nil, err
		}
		lo, hi := h3DescendantRange(cell)
		out := []client.Hotspot{}
		a.store.IterateRange(cat("hscell/", be64(lo)), cat("hscell/", be64(hi+1)), func(k, _ []byte) bool {
			c := beUint(k[len("hscell/"):])
			if p, err := geo.Parent(c, geo.Resolution(cell)); err == nil && p == cell {
				a, _ := identity.AddressFromBytes(k[len(k)-32:])
				if hs, ok := l.hotspot(a); ok {
					out = append(out, hs)
				}
			}
			return true
		})
		return out, nil
	case client.PathDensity:
		cell, err := cellArg(q)
		if err != nil {
			return nil, err
		}
		return a.density(l, cell)
	case client.PathOUI:
		n, err := uintArg(q, "oui")
		if err != nil {
			return nil, err
		}
		o, ok := l.oui(n)
		if !ok {
			return nil, notFound("OUI %d does not exist", n)
		}
		return o, nil
	case client.PathOUIs:
		return allOUIs(l), nil
	case client.PathRouteDevAddr:
		d, err := client.ParseDevAddr(q.Get("devaddr"))
		if err != nil {
			return nil, badRequest("%v", err)
		}
		out := []client.Route{}
		for _, o := range allOUIs(l) {
			for _, r := range o.Config.DevAddrRanges {
				if d >= r.Start && d <= r.End {
					out = append(out, routeOf(o))
					break
				}
			}
		}
		return out, nil
	case client.PathRouteEUI:
		je, err := client.ParseEUI(q.Get("join_eui"))
		if err != nil {
			return nil, badRequest("%v", err)
		}
		de, err := client.ParseEUI(q.Get("dev_eui"))
		if err != nil {
			return nil, badRequest("%v", err)
		}
		out := []client.Route{}
		for _, o := range allOUIs(l) {
			for _, p := range o.Config.EuiPairs {
				if p.JoinEUI == je && (p.DevEUI == 0 || p.DevEUI == de) {
					out = append(out, routeOf(o))
					break
				}
			}
		}
		return out, nil
	case client.PathBeacon:
		id, err := hex.DecodeString(q.Get("id"))
		if err != nil || len(id) != 32 {
			return nil, badRequest("parameter id must be a 64-digit hex beacon id")
		}
		var rec client.BeaconReceipt
		if !getJSON(l.w, kBeacon(id), &rec) {
			return nil, notFound("no receipt for beacon %x", id)
		}
		return rec, nil
	case client.PathHotspotPoC:
		addr, err := addrArg(q, "address")
		if err != nil {
			return nil, err
		}
		limit := 100
		if s := q.Get("limit"); s != "" && s != "0" {
			if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 1000 {
				return nil, badRequest("parameter limit must be 1..1000")
			}
		}
		out := client.HotspotPoC{Hotspot: addr, Entries: []client.PocEntry{}}
		prefix := cat("poch/", addr[:])
		l.w.Iterate(prefix, func(k, v []byte) bool {
			rest := k[len(prefix):]
			e := client.PocEntry{Height: int64(^beUint(rest[:8])), BeaconID: client.HexBytes(bytes.Clone(rest[8:40]))}
			switch rest[40] {
			case histBeacon:
				e.Kind, e.Beaconer, e.Reason = "beacon", addr, string(v)
			default:
				e.Kind = "witness"
				e.Beaconer, _ = identity.AddressFromBytes(v[:32])
				e.Reason = string(v[32:])
			}
			e.Valid = e.Reason == ""
			out.Entries = append(out.Entries, e)
			return len(out.Entries) < limit
		})
		return out, nil
	case client.PathRewards:
		addr, err := addrArg(q, "address")
		if err != nil {
			return nil, err
		}
		ep, err := uintArg(q, "epoch")
		if err != nil {
			return nil, err
		}
		var r client.Reward
		if !getJSON(l.w, kReward(addr, ep), &r) {
			return nil, notFound("no reward for hotspot %s in epoch %d", addr, ep)
		}
		return r, nil
	case client.PathHotspotRewards:
		addr, err := addrArg(q, "address")
		if err != nil {
			return nil, err
		}
		out := []client.Reward{}
		l.w.Iterate(cat("rew/", addr[:]), func(_, v []byte) bool {
			var r client.Reward
			if json.Unmarshal(v, &r) == nil {
				out = append(out, r)
			}
			return true
		})
		return out, nil
	case client.PathEpoch:
		ep, err := uintArg(q, "epoch")
		if err != nil {
			return nil, err
		}
		var e client.Epoch
		if !getJSON(l.w, kEpoch(ep), &e) {
			return nil, notFound("epoch %d has not ended", ep)
		}
		return e, nil
	case client.PathEpochHotspotRewards:
		ep, err := uintArg(q, "epoch")
		if err != nil {
			return nil, err
		}
		offset, limit := uint64(0), uint64(client.DefaultEpochRewardsLimit)
		if q.Get("offset") != "" {
			if offset, err = uintArg(q, "offset"); err != nil {
				return nil, err
			}
		}
		if s := q.Get("limit"); s != "" && s != "0" {
			if limit, err = uintArg(q, "limit"); err != nil || limit > client.MaxEpochRewardsLimit {
				return nil, badRequest("parameter limit must be 1..%d", client.MaxEpochRewardsLimit)
			}
		}
		var e client.Epoch
		if !getJSON(l.w, kEpoch(ep), &e) {
			return nil, notFound("epoch %d has not ended", ep)
		}
		out := client.EpochHotspotRewards{Epoch: ep, Total: e.RewardedHotspots, Offset: offset, Rewards: []client.Reward{}}
		prefix := cat("rewe/", be64(ep))
		var i uint64
		var broken error
		l.w.Iterate(prefix, func(k, _ []byte) bool {
			if i++; i <= offset {
				return true
			}
			if uint64(len(out.Rewards)) == limit {
				out.NextOffset = offset + limit
				return false
			}
			a, _ := identity.AddressFromBytes(k[len(prefix):])
			var r client.Reward
			if !getJSON(l.w, kReward(a, ep), &r) {
				// A broken invariant; refuse rather than skip silently.
				broken = fmt.Errorf("epoch %d reward index names hotspot %s, which has no reward record", ep, a)
				return false
			}
			out.Rewards = append(out.Rewards, r)
			return true
		})
		if broken != nil {
			return nil, broken
		}
		return out, nil
	case client.PathAccountRewards:
		ep, err := uintArg(q, "epoch")
		if err != nil {
			return nil, err
		}
		out := []client.AccountReward{}
		l.w.Iterate(cat("arew/", be64(ep)), func(_, v []byte) bool {
			var r client.AccountReward
			if json.Unmarshal(v, &r) == nil {
				out = append(out, r)
			}
			return true
		})
		return out, nil
	case client.PathVoucher:
		n, err := uintArg(q, "oui")
		if err != nil {
			return nil, err
		}
		hs, err := addrArg(q, "hotspot")
		if err != nil {
			return nil, err
		}
		ep, err := uintArg(q, "epoch")
		if err != nil {
			return nil, err
		}
		vs := client.VoucherState{OUI: n, Hotspot: hs, Epoch: ep}
		getJSON(l.w, kVoucher(n, hs, ep), &vs)
		return vs, nil
	case client.PathWhy:
		addr, err := addrArg(q, "address")
		if err != nil {
			return nil, err
		}
		ep, err := uintArg(q, "epoch")
		if err != nil {
			return nil, err
		}
		hs, ok := l.hotspot(addr)
		if !ok {
			return nil, notFound("hotspot %s does not exist", addr)
		}
		why := client.Why{Hotspot: hs}
		var r client.Reward
		if getJSON(l.w, kReward(addr, ep), &r) {
			why.Reward = &r
		}
		if hs.Location != 0 {
			d, err := a.density(l, uint64(hs.Location))
			if err != nil {
				return nil, err
			}
			ds := d.(client.DensityScale)
			why.Density = &ds
		}
		recent, err := a.query(l, client.PathHotspotPoC, url.Values{"address": {addr.String()}, "limit": {"20"}})
		if err != nil {
			return nil, err
		}
		why.Recent = recent.(client.HotspotPoC).Entries
		return why, nil
	}
	return nil, notFound("unknown query path %q; see docs/chain-queries.md", path)
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}

func allOUIs(l ledger) []client.OUI {
	out := []client.OUI{}
	l.w.Iterate([]byte("oui/"), func(_, v []byte) bool {
		var o client.OUI
		if json.Unmarshal(v, &o) == nil {
			out = append(out, o)
		}
		return true
	})
	return out
}

func routeOf(o client.OUI) client.Route {
	return client.Route{OUI: o.OUI, NetID: o.Config.NetID, Routers: o.Config.Routers, MaxCopies: o.Config.MaxCopies,
		FreeJoins: o.Config.FreeJoins, EscrowDC: o.EscrowDC, Active: o.EscrowDC > 0}
}
