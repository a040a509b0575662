// Package rewards computes an epoch's rewards from what the chain recorded:
// valid beacons with their rewarded witnesses (package poc), claimed data
// voucher DC, validators' power and the receipts oracles landed. It is a
// pure function of plain sorted slices with integer arithmetic only, so any
// node or outside auditor recomputes the same micro-unit amounts.
//
//	out, err := rewards.Compute(params, rewards.Input{...})
//
// The math (docs/poc.md has worked examples):
//
//   - Split: the emission is divided into beacon, witness, data, validator
//     and oracle pools by basis points (floor); the rounding remainder goes
//     to the witness pool.
//   - Data: each hotspot's claimed DC is worth DC * 10 µUSD at the oracle
//     price (µUSD per HXP). If the pool covers the total value, hotspots get
//     that value (floor) and the rest of the pool ("unused data") goes to
//     the PoC pools in proportion to their basis points (remainder to the
//     witness pool); otherwise the pool is shared in proportion to DC. With
//     no price (0) the pool is shared in proportion to DC.
//   - PoC units (HIP-15, N=4, r=0.8, cap 2) per valid beacon with w rewarded
//     witnesses: beaconer w/N for w <= N else min(2, 2 - r^(w-N)); each
//     rewarded witness 1 for w <= N else (N - (1 - r^(w-N)))/w; both times
//     the beaconer's hex density scale. Units are fixed point with
//     UnitOne = 10^12 (r^k from an exact table, floored once).
//   - Hex density scale (HIP-17/104, see Density): counts of asserted
//     hotspots per resolution-11 hex rolled up to resolution 4 with
//     clipping; the scale is the product of clipped/unclipped of the
//     hotspot's ancestors, computed exactly and floored once to UnitOne.
//   - Each pool is shared in proportion to units (power for validators,
//     landed receipts for oracles). Shares are floored and the micro-units
//     left are given one each to the largest remainders (ties: lower
//     address first), so every pool is paid exactly.
//   - An empty pool flows on: beacon <-> witness, then PoC and oracle pools
//     to validators; with no validator power the amount is Unallocated (the
//     app carries it into the next epoch). A hotspot with no known owner
//     (not in Input.Hotspots, no DataClaim.Owner) is not paid: its amount
//     is Unallocated too (Pools.Unowned). Minted total plus Unallocated
//     equals the emission to the micro-unit (Output.Check).
//
// Outputs are sorted by address; HotspotReward is the per-hotspot breakdown
// the chain's `why` query returns.
package rewards
