package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/hexproof/hexproof/chain/node"
	"github.com/hexproof/hexproof/internal/identity"
)

func runGenesis(_ context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(env.Stdout, `usage: chain genesis show-validator|add-validator|add-account [flags]

Builds the genesis of a multi-validator network before it starts:
  1. every validator runs `+"`chain init --chain-id ID`"+` and `+"`chain genesis show-validator`"+`;
  2. the coordinator runs add-validator for each of them (and add-account
     for initial balances) on one home;
  3. everyone copies that config/genesis.json into their home and starts.`)
		if len(args) == 0 {
			return ErrUsage
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	fs := newFlags(env, "genesis "+sub, map[string]string{
		"show-validator": "Prints this node's validator public key (hex and base64).",
		"add-validator":  "Adds a validator to config/genesis.json of --home.",
		"add-account":    "Adds (or tops up) an account in config/genesis.json of --home.",
	}[sub])
	home := fs.String("home", defaultHome(env), "node home directory")
	pub := fs.String("pubkey", "", "validator ed25519 public key, hex or base64 (add-validator)")
	power := fs.Int64("power", 10, "voting power (add-validator)")
	name := fs.String("name", "", "validator name (add-validator)")
	reward := fs.String("reward-account", "", "validator reward account hxp1... (add-validator)")
	addr := fs.String("address", "", "account hxp1... (add-account)")
	uhxp := fs.Uint64("uhxp", 0, "micro-HXP (add-account)")
	dc := fs.Uint64("dc", 0, "data credits (add-account)")
	if err := parse(fs, env, rest); err != nil {
		return err
	}
	switch sub {
	case "show-validator":
		k, err := node.ValidatorKey(*home)
		if err != nil {
			return err
		}
		return printJSON(env.Stdout, map[string]string{"pub_key_hex": hex.EncodeToString(k), "pub_key_base64": base64.StdEncoding.EncodeToString(k)})
	case "add-validator":
		k, err := hex.DecodeString(*pub)
		if err != nil || len(k) != 32 {
			if k, err = base64.StdEncoding.DecodeString(*pub); err != nil {
				return fmt.Errorf("--pubkey: want the hex or base64 key `chain genesis show-validator` prints")
			}
		}
		var ra identity.Address
		if *reward != "" {
			if ra, err = identity.ParseAddress(*reward); err != nil {
				return fmt.Errorf("--reward-account: %w", err)
			}
		}
		return node.AddGenesisValidator(*home, k, *power, *name, ra)
	case "add-account":
		a, err := identity.ParseAddress(*addr)
		if err != nil {
			return fmt.Errorf("--address: %w", err)
		}
		return node.AddGenesisAccount(*home, a, *uhxp, *dc)
	}
	return fmt.Errorf("%w: unknown genesis command %q (show-validator, add-validator, add-account)", ErrUsage, sub)
}
