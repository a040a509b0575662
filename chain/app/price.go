package app

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"

	abcitypes "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/chain/tx"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

var det = proto.MarshalOptions{Deterministic: true}

func encodeExtension(price uint64) ([]byte, error) {
	return det.Marshal(&hexproofv1.PriceExtension{PriceUusd: price})
}

// decodeExtension accepts an empty extension (no price) or the canonical
// encoding of a PriceExtension.
func decodeExtension(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) > 32 {
		return 0, fmt.Errorf("vote extension is %d bytes, a price extension is at most 11", len(b))
	}
	var e hexproofv1.PriceExtension
	if err := proto.Unmarshal(b, &e); err != nil {
		return 0, fmt.Errorf("decode price extension: %w", err)
	}
	re, _ := det.Marshal(&e)
	if !bytes.Equal(re, b) || len(e.ProtoReflect().GetUnknown()) > 0 {
		return 0, errors.New("price extension is not canonically encoded")
	}
	if e.PriceUusd == 0 {
		return 0, errors.New("price extension carries price 0; send an empty extension instead")
	}
	return e.PriceUusd, nil
}

// buildPriceVotes builds the price-votes transaction from the extended
// commit of the previous height, or nil when no validator sent a price.
func (a *App) buildPriceVotes(height int64, ec abcitypes.ExtendedCommitInfo) []byte {
	if height <= 1 {
		return nil
	}
	pv := &hexproofv1.PriceVotes{Height: height - 1, Round: ec.Round}
	priced := false
	for _, v := range ec.Votes {
		if v.BlockIdFlag != cmtproto.BlockIDFlagCommit {
			continue
		}
		if len(v.VoteExtension) > 0 {
			priced = true
		}
		pv.Votes = append(pv.Votes, &hexproofv1.PriceVote{
			ValidatorAddress:   v.Validator.Address,
			VoteExtension:      v.VoteExtension,
			ExtensionSignature: v.ExtensionSignature,
		})
	}
	if !priced {
		return nil
	}
	body, err := det.Marshal(&hexproofv1.TxBody{ChainId: a.chainID, Payload: &hexproofv1.TxBody_PriceVotes{PriceVotes: pv}})
	if err != nil {
		return nil
	}
	raw, err := det.Marshal(&hexproofv1.Tx{Body: body})
	if err != nil {
		return nil
	}
	return raw
}

type verifiedVote struct {
	addr  []byte
	power int64
	price uint64
}

// verifyPriceVotes checks a price-votes transaction proposed at height:
// envelope empty but for the chain id, votes of the previous height, every
// extension signature valid under CometBFT's canonical vote-extension sign
// bytes, each validator once, and more than 2/3 of the power signed.
func (a *App) verifyPriceVotes(l ledger, raw []byte, height int64) ([]verifiedVote, error) {
	t, body, err := tx.Decode(raw)
	if err != nil {
		return nil, err
	}
	pv := body.GetPriceVotes()
	if pv == nil {
		return nil, errors.New("not a price-votes transaction")
	}
	if len(t.Signature) != 0 || len(body.Signer) != 0 || body.Nonce != 0 || body.Fee != 0 {
		return nil, errors.New("price votes carry no signer, signature, nonce or fee")
	}
	if body.ChainId != a.chainID {
		return nil, fmt.Errorf("price votes for chain %q", body.ChainId)
	}
	if pv.Height != height-1 {
		return nil, fmt.Errorf("price votes of height %d in block %d; want the previous height", pv.Height, height)
	}
	vals := l.validators()
	var total, signed int64
	for _, v := range vals {
		total += v.Power
	}
	var out []verifiedVote
	seen := map[string]bool{}
	for _, v := range pv.Votes {
		i := slices.IndexFunc(vals, func(r validatorRec) bool { return bytes.Equal(r.Address, v.ValidatorAddress) })
		if i < 0 {
			return nil, fmt.Errorf("vote of unknown validator %X", v.ValidatorAddress)
		}
		if seen[string(v.ValidatorAddress)] {
			return nil, fmt.Errorf("validator %X voted twice", v.ValidatorAddress)
		}
		seen[string(v.ValidatorAddress)] = true
		sb := cmttypes.VoteExtensionSignBytes(a.chainID, &cmtproto.Vote{
			Type: cmtproto.PrecommitType, Height: pv.Height, Round: pv.Round, Extension: v.VoteExtension,
		})
		if len(vals[i].PubKey) != ed25519.PublicKeySize || !ed25519.Verify(ed25519.PublicKey(vals[i].PubKey), sb, v.ExtensionSignature) {
			return nil, fmt.Errorf("bad extension signature of validator %X", v.ValidatorAddress)
		}
		price, err := decodeExtension(v.VoteExtension)
		if err != nil {
			return nil, fmt.Errorf("validator %X: %w", v.ValidatorAddress, err)
		}
		signed += vals[i].Power
		out = append(out, verifiedVote{addr: v.ValidatorAddress, power: vals[i].Power, price: price})
	}
	if 3*signed <= 2*total {
		return nil, fmt.Errorf("price votes carry %d of %d voting power, need more than 2/3", signed, total)
	}
	return out, nil
}

// applyPriceVotes sets the price to the stake-weighted median of the votes
// that carry one. Without any priced vote the price stays.
func (b *blockCtx) applyPriceVotes(raw []byte) (int, error) {
	votes, err := b.a.verifyPriceVotes(b.l, raw, b.height)
	if err != nil {
		return 0, tx.Errorf(client.CodeInvalid, "price votes: %v", err)
	}
	var priced []verifiedVote
	var total int64
	for _, v := range votes {
		if v.price > 0 {
			priced = append(priced, v)
			total += v.power
		}
	}
	if len(priced) == 0 {
		return len(votes), nil
	}
	slices.SortFunc(priced, func(x, y verifiedVote) int {
		if x.price != y.price {
			if x.price < y.price {
				return -1
			}
			return 1
		}
		return bytes.Compare(x.addr, y.addr)
	})
	median := weightedMedian(priced, total)
	p := client.Price{PriceUUSD: median, UpdatedHeight: b.height - 1, Votes: []client.PriceVote{}}
	for _, v := range priced {
		p.Votes = append(p.Votes, client.PriceVote{Validator: client.HexBytes(v.addr), Power: v.power, PriceUUSD: v.price})
	}
	setJSON(b.c, keyPrice, p)
	return len(votes), nil
}

// weightedMedian returns the lowest price at which the cumulative power of
// the (price-sorted) votes reaches half of total.
func weightedMedian(sorted []verifiedVote, total int64) uint64 {
	var cum int64
	for _, v := range sorted {
		cum += v.power
		if 2*cum >= total {
			return v.price
		}
	}
	return sorted[len(sorted)-1].price
}
