package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/geo"
	"github.com/hexproof/hexproof/chain/rewards"
	"github.com/hexproof/hexproof/internal/identity"
)

// rewardHotspots lists the asserted full-mode hotspots, by address.
func rewardHotspots(l ledger) []rewards.Hotspot {
	var out []rewards.Hotspot
	l.w.Iterate([]byte("hs/"), func(_, v []byte) bool {
		var h client.Hotspot
		if err := json.Unmarshal(v, &h); err != nil {
			panic(fmt.Sprintf("app: decode hotspot: %v", err))
		}
		if h.Mode == client.ModeFull && h.Location != 0 && geo.Resolution(uint64(h.Location)) >= rewards.BaseResolution {
			out = append(out, rewards.Hotspot{Address: h.Address, Owner: h.Owner, Location: uint64(h.Location)})
		}
		return true
	})
	return out
}

// takeActivity returns and deletes the epoch's records under prefix.
func takeActivity(l ledger, prefix []byte, fn func(k, v []byte)) {
	var keys [][]byte
	l.w.Iterate(prefix, func(k, v []byte) bool {
		fn(k, v)
		keys = append(keys, slices.Clone(k))
		return true
	})
	for _, k := range keys {
		l.w.Delete(k)
	}
}

// endEpoch mints the epoch's emission and pays it out with chain/rewards.
func (b *blockCtx) endEpoch(epoch uint64) abcitypes.Event {
	l := b.l
	p := l.params()
	econ := l.economics()
	in := rewards.Input{
		Emission:  econ.EmissionAt(epoch) + econ.Unallocated,
		PriceUusd: l.price().PriceUUSD,
		Hotspots:  rewardHotspots(l),
	}
	takeActivity(l, cat("act/b/", be64(epoch)), func(_, v []byte) {
		var a actBeacon
		if err := json.Unmarshal(v, &a); err != nil {
			panic(fmt.Sprintf("app: decode beacon activity: %v", err))
		}
		in.Beacons = append(in.Beacons, rewards.Beacon{Beaconer: a.Beaconer, Witnesses: a.Witnesses})
	})
	takeActivity(l, cat("act/d/", be64(epoch)), func(k, v []byte) {
		a, _ := identity.AddressFromBytes(k[len(k)-32:])
		// Data-only hotspots are not in in.Hotspots (not counted for
		// density), so the claim names who is paid: the hotspot's owner
		// as the state has it at the epoch end. A claim is only accepted
		// for an existing hotspot, and hotspots are never deleted.
		d := rewards.DataClaim{Hotspot: a, DC: beUint(v)}
		if hs, ok := l.hotspot(a); ok {
			d.Owner = hs.Owner
		}
		in.Data = append(in.Data, d)
	})
	takeActivity(l, cat("act/o/", be64(epoch)), func(k, v []byte) {
		a, _ := identity.AddressFromBytes(k[len(k)-32:])
		in.Oracles = append(in.Oracles, rewards.Weighted{Address: a, Weight: beUint(v)})
	})
	// Validators are paid to their genesis reward accounts; several
	// validators may share one account.
	for _, v := range l.validators() {
		if v.Reward.IsZero() || v.Power <= 0 {
			continue
		}
		i := slices.IndexFunc(in.Validators, func(w rewards.Weighted) bool { return w.Address == v.Reward })
		if i < 0 {
			in.Validators = append(in.Validators, rewards.Weighted{Address: v.Reward, Weight: uint64(v.Power)})
		} else {
			in.Validators[i].Weight += uint64(v.Power)
		}
	}
	slices.SortFunc(in.Validators, func(x, y rewards.Weighted) int { return bytes.Compare(x.Address[:], y.Address[:]) })

	out, err := rewards.Compute(econ.Rewards, in)
	if err != nil {
		// Only bad parameters make Compute fail, and the genesis validated
		// them; carry the emission rather than halt the chain.
		b.a.log.Error("epoch rewards failed; emission carried to the next epoch", "epoch", epoch, "err", err)
		out = &rewards.Output{Emission: in.Emission, Unallocated: in.Emission}
	}
	if err := out.Check(); err != nil {
		panic(fmt.Sprintf("app: epoch %d: %v", epoch, err))
	}
	minted := out.Minted()
	for _, h := range out.Hotspots {
		if h.Total > 0 {
			l.credit(h.Owner, h.Total)
		}
		setJSON(b.c, kReward(h.Hotspot, epoch), client.Reward{
			Epoch: epoch, Hotspot: h.Hotspot, Owner: h.Owner, Scale: h.Scale, Beacons: h.Beacons, Witnesses: h.Witnesses,
			BeaconUnits: h.BeaconUnits, WitnessUnits: h.WitnessUnits, DataDC: h.DataDC,
			Beacon: h.BeaconReward, Witness: h.WitnessReward, Data: h.DataReward, Total: h.Total,
		})
		b.c.Set(kEpochRewardIdx(epoch, h.Hotspot), []byte{})
	}
	for _, group := range []struct {
		kind string
		rs   []rewards.AccountReward
	}{{"validator", out.Validators}, {"oracle", out.Oracles}} {
		kind := group.kind
		for _, r := range group.rs {
			if r.Reward > 0 {
				l.credit(r.Address, r.Reward)
			}
			setJSON(b.c, kAccountReward(epoch, kind, r.Address), client.AccountReward{Epoch: epoch, Account: r.Address, Kind: kind, Weight: r.Weight, Amount: r.Reward})
		}
	}
	s := l.supply()
	s.TotalUHXP += minted
	s.MintedUHXP += minted
	l.setSupply(s)
	econ.Unallocated = out.Unallocated
	setJSON(b.c, keyEconomics, econ)
	n := p.EpochBlocks
	setJSON(b.c, kEpoch(epoch), client.Epoch{
		Epoch: epoch, StartHeight: int64((epoch-1)*n + 1), EndHeight: int64(epoch * n),
		EmissionUHXP: out.Emission, MintedUHXP: minted, UnallocatedUHXP: out.Unallocated,
		BeaconPool: out.Pools.Beacon, WitnessPool: out.Pools.Witness, DataPool: out.Pools.Data,
		ValidatorPool: out.Pools.Validator, OraclePool: out.Pools.Oracle,
		DataPaid: out.Pools.DataPaid, DataUnused: out.Pools.DataUnused, BeaconPaid: out.Pools.BeaconPaid,
		WitnessPaid: out.Pools.WitnessPaid, ValidatorPaid: out.Pools.ValidatorPaid, OraclePaid: out.Pools.OraclePaid,
		PriceUUSD: in.PriceUusd, Beacons: uint64(len(in.Beacons)), RewardedHotspots: uint64(len(out.Hotspots)),
	})
	return abcitypes.Event{Type: "hexproof_epoch", Attributes: []abcitypes.EventAttribute{
		{Key: "epoch", Value: strconv.FormatUint(epoch, 10), Index: true},
		{Key: "minted_uhxp", Value: strconv.FormatUint(minted, 10)},
		{Key: "unallocated_uhxp", Value: strconv.FormatUint(out.Unallocated, 10)},
	}}
}

// density answers the density query over the currently asserted hotspots.
func (a *App) density(l ledger, cell uint64) (any, error) {
	hs := rewardHotspots(l)
	locs := make([]uint64, len(hs))
	for i, h := range hs {
		locs[i] = h.Location
	}
	d, err := rewards.NewDensity(locs, l.economics().Rewards.Density)
	if err != nil {
		return nil, err
	}
	out := client.DensityScale{Cell: client.Cell(cell), Scale: d.Scale(cell), Levels: []client.DensityLevel{}}
	if ex, ok := d.Explain(cell); ok {
		for _, h := range ex {
			out.Levels = append(out.Levels, client.DensityLevel{Resolution: h.Res, Hex: client.Cell(h.Hex), Unclipped: h.Unclipped, Occupied: h.Occupied, Limit: h.Limit, Clipped: h.Clipped})
		}
	}
	return out, nil
}
