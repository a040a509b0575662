package node

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/hexproof/hexproof/chain/app"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
)

func genesisPath(home string) string { return filepath.Join(home, "config", "genesis.json") }

// editGenesis loads home's genesis, lets f change it and its app state,
// validates and saves it.
func editGenesis(home string, f func(doc *cmttypes.GenesisDoc, g *app.Genesis) error) error {
	doc, err := cmttypes.GenesisDocFromFile(genesisPath(home))
	if err != nil {
		return fmt.Errorf("read genesis: %w", err)
	}
	g, err := app.ParseGenesis(doc.AppState)
	if err != nil {
		return err
	}
	if err := f(doc, g); err != nil {
		return err
	}
	if err := g.Validate(); err != nil {
		return err
	}
	if doc.AppState, err = json.MarshalIndent(g, "", "  "); err != nil {
		return err
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	return doc.SaveAs(genesisPath(home))
}

// ValidatorKey returns the CometBFT validator public key of a home (32
// bytes, ed25519): what a network coordinator needs to add the node to the
// genesis.
func ValidatorKey(home string) ([]byte, error) {
	ccfg, err := LoadCometConfig(home)
	if err != nil {
		return nil, err
	}
	pv := privval.LoadFilePVEmptyState(ccfg.PrivValidatorKeyFile(), ccfg.PrivValidatorStateFile())
	return pv.Key.PubKey.Bytes(), nil
}

// AddGenesisValidator adds a validator (ed25519 public key, power, reward
// account) to the genesis of home, in both CometBFT's validator list and
// the application's reward accounts.
func AddGenesisValidator(home string, pub []byte, power int64, name string, reward identity.Address) error {
	if len(pub) != ed25519.PubKeySize {
		return fmt.Errorf("validator key is %d bytes, want a 32-byte ed25519 key (`chain genesis show-validator` prints it)", len(pub))
	}
	if power <= 0 {
		return fmt.Errorf("power must be > 0")
	}
	pk := ed25519.PubKey(pub)
	return editGenesis(home, func(doc *cmttypes.GenesisDoc, g *app.Genesis) error {
		for _, v := range doc.Validators {
			if v.PubKey.Equals(pk) {
				return fmt.Errorf("validator %X is already in the genesis", pk.Address())
			}
		}
		doc.Validators = append(doc.Validators, cmttypes.GenesisValidator{Address: pk.Address(), PubKey: pk, Power: power, Name: name})
		g.Validators = append(g.Validators, app.GenesisValidator{PubKey: client.HexBytes(pub), Name: name, RewardAccount: reward})
		return nil
	})
}

// AddGenesisAccount adds (or tops up) a genesis allocation.
func AddGenesisAccount(home string, addr identity.Address, uhxp, dc uint64) error {
	return editGenesis(home, func(_ *cmttypes.GenesisDoc, g *app.Genesis) error {
		for i := range g.Allocations {
			if g.Allocations[i].Address == addr {
				g.Allocations[i].BalanceUHXP += uhxp
				g.Allocations[i].DC += dc
				return nil
			}
		}
		g.Allocations = append(g.Allocations, app.Allocation{Address: addr, BalanceUHXP: uhxp, DC: dc})
		return nil
	})
}
