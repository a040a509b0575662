package app

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/poc"
	"github.com/hexproof/hexproof/chain/rewards"
	"github.com/hexproof/hexproof/internal/identity"
)

// Genesis is the application part of genesis.json (app_state).
type Genesis struct {
	Params client.Params `json:"params"`
	// Initial HXP price, micro-USD per HXP (0: no price until the first
	// validator votes arrive; burning for DC waits for one).
	PriceUUSD uint64 `json:"price_uusd"`
	// Emission schedule: from epoch FromEpoch on, each epoch mints
	// PerEpochUHXP (until the next entry).
	Emission []EmissionStep `json:"emission"`
	// Pool split (basis points), HIP-15 and HIP-17 parameters.
	Rewards     rewards.Params `json:"rewards"`
	Allocations []Allocation   `json:"allocations"`
	// Reward accounts of the validators (matched by CometBFT public key).
	Validators []GenesisValidator `json:"validators"`
}

// EmissionStep is one step of the emission schedule.
type EmissionStep struct {
	FromEpoch    uint64 `json:"from_epoch"`
	PerEpochUHXP uint64 `json:"per_epoch_uhxp"`
}

// Allocation is a genesis balance.
type Allocation struct {
	Address     identity.Address `json:"address"`
	BalanceUHXP uint64           `json:"balance_uhxp"`
	DC          uint64           `json:"dc"`
}

// GenesisValidator names a validator's reward account.
type GenesisValidator struct {
	// CometBFT ed25519 public key, hex.
	PubKey        client.HexBytes  `json:"pub_key"`
	Name          string           `json:"name,omitempty"`
	RewardAccount identity.Address `json:"reward_account"`
}

// DefaultParams are production parameters: chain/poc's defaults (Helium's
// values in blocks of about one second), one-hour epochs.
func DefaultParams() client.Params {
	p := client.Params{
		EpochBlocks:         3600,
		MinFeeUHXP:          0,
		HotspotAddFeeDC:     4_000_000,
		AssertLocationFeeDC: 1_000_000,
		OuiCreateFeeDC:      0,
		MaxOuiEntries:       1024,
	}
	setPocParams(&p, poc.DefaultParams())
	return p
}

// DevnetParams are parameters for local test networks: short epochs and
// beacon intervals so that everything happens within minutes.
func DevnetParams() client.Params {
	p := DefaultParams()
	p.EpochBlocks = 100
	p.BeaconIntervalBlocks = 10
	p.EntropyValidityBlocks = 60
	p.ReciprocityWindowBlocks = 1000
	return p
}

// pocParams extracts chain/poc's parameters.
func pocParams(p client.Params) poc.Params {
	return poc.Params{
		BeaconIntervalBlocks:        p.BeaconIntervalBlocks,
		EntropyValidityBlocks:       p.EntropyValidityBlocks,
		ReciprocityWindowBlocks:     p.ReciprocityWindowBlocks,
		WitnessMaxDelayMs:           p.WitnessMaxDelayMs,
		WitnessMaxDelayAfterFirstMs: p.WitnessMaxDelayAfterFirstMs,
		MaxClockSkewMs:              p.MaxClockSkewMs,
		MaxFrequencyDeltaHz:         p.MaxFrequencyDeltaHz,
		MinWitnessCellDistance:      p.MinWitnessCellDistance,
		MaxWitnessDistanceM:         p.MaxWitnessDistanceM,
		MaxRssiExcessDB:             p.MaxRssiExcessDB,
		MaxWitnessesRewarded:        p.MaxWitnessesRewarded,
		MaxWitnessesPerReceipt:      p.MaxWitnessesPerReceipt,
	}
}

func setPocParams(p *client.Params, q poc.Params) {
	p.BeaconIntervalBlocks = q.BeaconIntervalBlocks
	p.EntropyValidityBlocks = q.EntropyValidityBlocks
	p.ReciprocityWindowBlocks = q.ReciprocityWindowBlocks
	p.WitnessMaxDelayMs = q.WitnessMaxDelayMs
	p.WitnessMaxDelayAfterFirstMs = q.WitnessMaxDelayAfterFirstMs
	p.MaxClockSkewMs = q.MaxClockSkewMs
	p.MaxFrequencyDeltaHz = q.MaxFrequencyDeltaHz
	p.MinWitnessCellDistance = q.MinWitnessCellDistance
	p.MaxWitnessDistanceM = q.MaxWitnessDistanceM
	p.MaxRssiExcessDB = q.MaxRssiExcessDB
	p.MaxWitnessesRewarded = q.MaxWitnessesRewarded
	p.MaxWitnessesPerReceipt = q.MaxWitnessesPerReceipt
}

// DefaultGenesis returns a genesis with default parameters.
func DefaultGenesis() Genesis {
	return Genesis{
		Params:    DefaultParams(),
		PriceUUSD: 1_000_000,
		Emission:  []EmissionStep{{FromEpoch: 1, PerEpochUHXP: 1_000_000_000}},
		Rewards:   rewards.DefaultParams(),
	}
}

// Validate checks the genesis for mistakes a network operator can make.
func (g *Genesis) Validate() error {
	if g.Params.EpochBlocks == 0 {
		return errors.New("genesis params: epoch_blocks must be > 0")
	}
	if err := pocParams(g.Params).Validate(); err != nil {
		return fmt.Errorf("genesis params: %w", err)
	}
	if err := g.Rewards.Validate(); err != nil {
		return fmt.Errorf("genesis rewards: %w", err)
	}
	for i := 1; i < len(g.Emission); i++ {
		if g.Emission[i].FromEpoch <= g.Emission[i-1].FromEpoch {
			return errors.New("genesis emission: from_epoch must increase")
		}
	}
	seen := map[identity.Address]bool{}
	for _, a := range g.Allocations {
		if a.Address.IsZero() {
			return errors.New("genesis allocations: empty address")
		}
		if seen[a.Address] {
			return fmt.Errorf("genesis allocations: %s listed twice", a.Address)
		}
		seen[a.Address] = true
	}
	for _, v := range g.Validators {
		if len(v.PubKey) != 32 {
			return fmt.Errorf("genesis validators: pub_key %s is not a 32-byte ed25519 key", hex.EncodeToString(v.PubKey))
		}
	}
	return nil
}

// ParseGenesis decodes app_state bytes strictly.
func ParseGenesis(b []byte) (*Genesis, error) {
	var g Genesis
	if len(b) == 0 {
		g = DefaultGenesis()
	} else if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("parse genesis app_state: %w", err)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}
