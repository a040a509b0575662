package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/app"
	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/config"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func appDevnetParams() client.Params { return app.DevnetParams() }

type txKind struct {
	name, synopsis string
	// flags declares the kind's flags and returns a builder of its payload.
	flags func(fs *flag.FlagSet) func(ctx context.Context, c *client.Client, signer *identity.Key) (proto.Message, error)
}

func txKinds() []txKind {
	return []txKind{
		{"transfer", "send micro-HXP to an account", func(fs *flag.FlagSet) func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
			to := fs.String("to", "", "recipient address (hxp1...)")
			amount := fs.Uint64("amount", 0, "micro-HXP")
			return func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
				a, err := identity.ParseAddress(*to)
				if err != nil {
					return nil, fmt.Errorf("--to: %w", err)
				}
				return &hexproofv1.Transfer{To: a.Bytes(), Amount: *amount}, nil
			}
		}},
		{"burn", "burn micro-HXP for data credits (to an account, default the signer, or an OUI escrow)", func(fs *flag.FlagSet) func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
			amount := fs.Uint64("amount", 0, "micro-HXP to burn")
			account := fs.String("account", "", "credit this account's DC (default: the signer)")
			oui := fs.Uint64("oui", 0, "credit this OUI's escrow instead")
			return func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
				b := &hexproofv1.BurnForDc{Amount: *amount}
				switch {
				case *oui != 0:
					b.Target = &hexproofv1.BurnForDc_Oui{Oui: *oui}
				case *account != "":
					a, err := identity.ParseAddress(*account)
					if err != nil {
						return nil, fmt.Errorf("--account: %w", err)
					}
					b.Target = &hexproofv1.BurnForDc_Account{Account: a.Bytes()}
				}
				return b, nil
			}
		}},
		{"hotspot-add", "onboard a hotspot owned by the signer (needs the hotspot's key file to co-sign)", func(fs *flag.FlagSet) func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
			hk := fs.String("hotspot-key", "", "the hotspot's key file")
			mode := fs.String("mode", "full", "full or data_only")
			return func(ctx context.Context, c *client.Client, signer *identity.Key) (proto.Message, error) {
				k, err := identity.LoadKeyFile(*hk)
				if err != nil {
					return nil, fmt.Errorf("--hotspot-key: %w", err)
				}
				m := hexproofv1.HotspotMode_HOTSPOT_MODE_FULL
				switch *mode {
				case "full":
				case "data_only", "data-only":
					m = hexproofv1.HotspotMode_HOTSPOT_MODE_DATA_ONLY
				default:
					return nil, fmt.Errorf("--mode must be full or data_only")
				}
				chainID, err := c.ChainID(ctx)
				if err != nil {
					return nil, err
				}
				return client.SignHotspotAdd(k, chainID, signer.Address(), m)
			}
		}},
		{"assert", "assert (or move) a hotspot's location; charges the DC fee", func(fs *flag.FlagSet) func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
			hs := fs.String("hotspot", "", "hotspot address")
			cell := fs.String("cell", "", "H3 resolution-12 cell, hex (the oracle's /api/v1/h3/cell gives it)")
			gain := fs.Int("gain", 12, "antenna gain, deci-dBi")
			elev := fs.Int("elevation", 0, "antenna elevation above ground, m")
			region := fs.String("region", "EU868", "LoRaWAN region (EU868, US915, AU915, AS923, KR920, IN865, CN470, RU864, EU433)")
			return func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
				a, err := identity.ParseAddress(*hs)
				if err != nil {
					return nil, fmt.Errorf("--hotspot: %w", err)
				}
				c, err := client.ParseCell(*cell)
				if err != nil {
					return nil, fmt.Errorf("--cell: %w", err)
				}
				r, ok := hexproofv1.Region_value["REGION_"+strings.ToUpper(*region)]
				if !ok || r == 0 {
					return nil, fmt.Errorf("--region %q is not a LoRaWAN region", *region)
				}
				return &hexproofv1.AssertLocation{Hotspot: a.Bytes(), Location: uint64(c), GainDdbi: int32(*gain), ElevationM: int32(*elev), Region: hexproofv1.Region(r)}, nil
			}
		}},
		{"hotspot-transfer", "give a hotspot to a new owner", func(fs *flag.FlagSet) func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
			hs := fs.String("hotspot", "", "hotspot address")
			to := fs.String("new-owner", "", "new owner address")
			return func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
				a, err := identity.ParseAddress(*hs)
				if err != nil {
					return nil, fmt.Errorf("--hotspot: %w", err)
				}
				b, err := identity.ParseAddress(*to)
				if err != nil {
					return nil, fmt.Errorf("--new-owner: %w", err)
				}
				return &hexproofv1.HotspotTransfer{Hotspot: a.Bytes(), NewOwner: b.Bytes()}, nil
			}
		}},
		{"oui-create", "register an OUI owned by the signer (its number is in the result data)", func(fs *flag.FlagSet) func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
			cfg := ouiFlags(fs)
			return func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
				c, err := cfg()
				if err != nil {
					return nil, err
				}
				return &hexproofv1.OuiCreate{Config: c}, nil
			}
		}},
		{"oui-update", "replace an OUI's configuration (owner only)", func(fs *flag.FlagSet) func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
			oui := fs.Uint64("oui", 0, "OUI number")
			cfg := ouiFlags(fs)
			return func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
				c, err := cfg()
				if err != nil {
					return nil, err
				}
				return &hexproofv1.OuiUpdate{Oui: *oui, Config: c}, nil
			}
		}},
		{"poc-receipt", "submit a PoC receipt (protojson of hexproof.v1.PocReceipt)", func(fs *flag.FlagSet) func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
			file := fs.String("file", "", "JSON file")
			return func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
				var r hexproofv1.PocReceipt
				return &r, readProtoJSON(*file, &r)
			}
		}},
		{"voucher-claim", "claim a router-signed voucher (protojson of hexproof.v1.Voucher)", func(fs *flag.FlagSet) func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
			file := fs.String("file", "", "JSON file")
			return func(context.Context, *client.Client, *identity.Key) (proto.Message, error) {
				var v hexproofv1.Voucher
				if err := readProtoJSON(*file, &v); err != nil {
					return nil, err
				}
				return &hexproofv1.VoucherClaim{Voucher: &v}, nil
			}
		}},
	}
}

func readProtoJSON(path string, m proto.Message) error {
	if path == "" {
		return errors.New("--file is required")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := protojson.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func ouiFlags(fs *flag.FlagSet) func() (*hexproofv1.OuiConfig, error) {
	payer := fs.String("payer", "", "account paying for packets (default: the signer)")
	netID := fs.String("net-id", "0", "24-bit LoRaWAN NetID, hex")
	var ranges, pairs, routers config.StringList
	fs.Var(&ranges, "devaddr-range", "DevAddr range START-END in hex, repeatable")
	fs.Var(&pairs, "eui-pair", "JOINEUI:DEVEUI in hex (DEVEUI 0 = any), repeatable")
	fs.Var(&routers, "router", "router ENDPOINT=ADDRESS (host:port=hxp1...), repeatable")
	maxCopies := fs.Uint("max-copies", 1, "copies of each frame to buy")
	freeJoins := fs.Bool("free-joins", false, "joins are not charged")
	return func() (*hexproofv1.OuiConfig, error) {
		c := &hexproofv1.OuiConfig{MaxCopies: uint32(*maxCopies), FreeJoins: *freeJoins}
		n, err := strconv.ParseUint(*netID, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("--net-id: want hex: %w", err)
		}
		c.NetId = uint32(n)
		if *payer != "" {
			a, err := identity.ParseAddress(*payer)
			if err != nil {
				return nil, fmt.Errorf("--payer: %w", err)
			}
			c.Payer = a.Bytes()
		}
		for _, r := range ranges {
			s, e, ok := strings.Cut(r, "-")
			a, err1 := client.ParseDevAddr(s)
			b, err2 := client.ParseDevAddr(e)
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("--devaddr-range %q: want START-END in hex", r)
			}
			c.DevaddrRanges = append(c.DevaddrRanges, &hexproofv1.DevAddrRange{Start: a, End: b})
		}
		for _, p := range pairs {
			j, d, ok := strings.Cut(p, ":")
			a, err1 := client.ParseEUI(j)
			b, err2 := client.ParseEUI(d)
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("--eui-pair %q: want JOINEUI:DEVEUI in hex", p)
			}
			c.EuiPairs = append(c.EuiPairs, &hexproofv1.EuiPair{JoinEui: a, DevEui: b})
		}
		for _, r := range routers {
			ep, addr, ok := strings.Cut(r, "=")
			a, err := identity.ParseAddress(addr)
			if !ok || err != nil {
				return nil, fmt.Errorf("--router %q: want host:port=hxp1<address>", r)
			}
			c.Routers = append(c.Routers, &hexproofv1.RouterEndpoint{Endpoint: ep, PublicKey: a.Bytes()})
		}
		return c, nil
	}
}

func txUsage(env Env) {
	fmt.Fprintln(env.Stdout, "usage: chain tx <kind> [flags]\n\nKinds:")
	for _, k := range txKinds() {
		fmt.Fprintf(env.Stdout, "  %-17s %s\n", k.name, k.synopsis)
	}
	fmt.Fprintln(env.Stdout, "\nEvery kind takes --node, --key/--key-file, --fee and --no-wait; run `chain tx <kind> --help`.")
}

func runTx(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		txUsage(env)
		if len(args) == 0 {
			return ErrUsage
		}
		return nil
	}
	for _, k := range txKinds() {
		if k.name != args[0] {
			continue
		}
		fs := newFlags(env, "tx "+k.name, k.synopsis+".\nThe transaction is signed with the account key and broadcast through the node's RPC;\nby default the command waits until it is committed and prints the result.")
		nodeURL := fs.String("node", "http://127.0.0.1:26657", "CometBFT RPC of a node")
		keyring := fs.String("keyring", defaultKeyring(env), "directory of key files")
		keyName := fs.String("key", "", "signing key name in the keyring")
		keyFile := fs.String("key-file", "", "signing key file (instead of --key)")
		fee := fs.Uint64("fee", 0, "fee in micro-HXP (at least the chain's min_fee_uhxp)")
		noWait := fs.Bool("no-wait", false, "return after CheckTx instead of waiting for the block")
		build := k.flags(fs)
		if err := parse(fs, env, args[1:]); err != nil {
			return err
		}
		path := *keyFile
		if path == "" {
			if *keyName == "" {
				return fmt.Errorf("%w: give --key NAME or --key-file FILE", ErrUsage)
			}
			path = filepath.Join(*keyring, *keyName+".json")
		}
		key, err := identity.LoadKeyFile(path)
		if err != nil {
			return err
		}
		c, err := client.New(*nodeURL)
		if err != nil {
			return err
		}
		payload, err := build(ctx, c, key)
		if err != nil {
			return err
		}
		res, err := c.NewSigner(key, *fee).Send(ctx, payload, !*noWait)
		if res != nil {
			if perr := printJSON(env.Stdout, res); perr != nil {
				return perr
			}
		}
		return err
	}
	txUsage(env)
	return fmt.Errorf("%w: unknown tx kind %q", ErrUsage, args[0])
}
