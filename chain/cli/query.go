package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hexproof/hexproof/chain/client"
)

type queryKind struct {
	name   string
	path   string
	params []string // positional arguments, in order
	help   string
	// optional is how many of the last params may be left out.
	optional int
}

func queryKinds() []queryKind {
	return []queryKind{
		{"params", client.PathParams, nil, "chain parameters", 0},
		{"supply", client.PathSupply, nil, "token supply", 0},
		{"validators", client.PathValidators, nil, "validators, stake, reward accounts", 0},
		{"price", client.PathPrice, nil, "on-chain HXP price and the votes behind it", 0},
		{"account", client.PathAccount, []string{"address"}, "balances and nonce", 0},
		{"hotspot", client.PathHotspot, []string{"address"}, "one hotspot", 0},
		{"hotspots-owner", client.PathHotspotsByOwner, []string{"address"}, "hotspots of an owner", 0},
		{"hotspots-cell", client.PathHotspotsInCell, []string{"cell"}, "hotspots inside an H3 cell (res 0..12)", 0},
		{"density", client.PathDensity, []string{"cell"}, "hex density scale of a cell", 0},
		{"oui", client.PathOUI, []string{"oui"}, "one OUI with routing config and escrow", 0},
		{"ouis", client.PathOUIs, nil, "every OUI", 0},
		{"route-devaddr", client.PathRouteDevAddr, []string{"devaddr"}, "OUIs routing a DevAddr (hex)", 0},
		{"route-eui", client.PathRouteEUI, []string{"join_eui", "dev_eui"}, "OUIs routing a join (hex EUIs)", 0},
		{"beacon", client.PathBeacon, []string{"id"}, "verdict on a beacon with per-witness reasons", 0},
		{"poc", client.PathHotspotPoC, []string{"address", "limit"}, "recent beacons and witness reports of a hotspot", 1},
		{"rewards", client.PathRewards, []string{"address", "epoch"}, "a hotspot's reward in an epoch, with breakdown", 0},
		{"hotspot-rewards", client.PathHotspotRewards, []string{"address"}, "every epoch reward of a hotspot", 0},
		{"epoch", client.PathEpoch, []string{"epoch"}, "an ended epoch's emission and pools", 0},
		{"account-rewards", client.PathAccountRewards, []string{"epoch"}, "validator and oracle rewards of an epoch", 0},
		{"epoch-rewards", client.PathEpochHotspotRewards, []string{"epoch", "offset", "limit"}, "one page of every hotspot reward of an epoch, by address", 2},
		{"voucher", client.PathVoucher, []string{"oui", "hotspot", "epoch"}, "DC paid to a hotspot for an OUI's vouchers", 0},
		{"why", client.PathWhy, []string{"address", "epoch"}, "why a hotspot earned what it did: reward, density, recent PoC", 0},
	}
}

// usageParams renders q's arguments, optional ones in brackets.
func usageParams(q queryKind) string {
	var b strings.Builder
	for i, p := range q.params {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i >= len(q.params)-q.optional {
			p = "[" + p + "]"
		}
		b.WriteString(p)
	}
	return b.String()
}

func runQuery(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(env.Stdout, "usage: chain query <what> [arguments] [--node URL]\n\nWhat (arguments):")
		for _, q := range queryKinds() {
			fmt.Fprintf(env.Stdout, "  %-16s %-24s %s\n", q.name, usageParams(q), q.help)
		}
		fmt.Fprintln(env.Stdout, "  raw              PATH                     any abci_query path, e.g. '/hotspot?address=hxp1...'\n\nAnswers are JSON; docs/chain-queries.md describes them.")
		if len(args) == 0 {
			return ErrUsage
		}
		return nil
	}
	what := args[0]
	fs := newFlags(env, "query "+what, "Queries the chain through a node's RPC and prints the JSON answer.")
	nodeURL := fs.String("node", "http://127.0.0.1:26657", "CometBFT RPC of a node")
	if err := parse(fs, env, args[1:]); err != nil {
		return err
	}
	pos := fs.Args()
	var path string
	if what == "raw" {
		if len(pos) != 1 {
			return fmt.Errorf("%w: query raw PATH", ErrUsage)
		}
		path = pos[0]
	} else {
		for _, q := range queryKinds() {
			if q.name != what {
				continue
			}
			if len(pos) > len(q.params) || len(pos) < len(q.params)-q.optional {
				return fmt.Errorf("%w: chain query %s %s", ErrUsage, q.name, usageParams(q))
			}
			var kv []string
			for i, v := range pos {
				kv = append(kv, q.params[i], v)
			}
			path = client.QueryPath(q.path, kv...)
		}
		if path == "" {
			return fmt.Errorf("%w: unknown query %q (chain query --help lists them)", ErrUsage, what)
		}
	}
	c, err := client.New(*nodeURL)
	if err != nil {
		return err
	}
	raw, err := c.QueryRaw(ctx, path)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	return printJSON(env.Stdout, v)
}

func runStatus(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "status", "Prints the node's chain id and latest block.")
	nodeURL := fs.String("node", "http://127.0.0.1:26657", "CometBFT RPC of a node")
	if err := parse(fs, env, args); err != nil {
		return err
	}
	c, err := client.New(*nodeURL)
	if err != nil {
		return err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	return printJSON(env.Stdout, st)
}
