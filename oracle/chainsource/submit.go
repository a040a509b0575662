package chainsource

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hexproof/hexproof/chain/client"
	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/oracle/ingest"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

// Ingest adapts the chain to ingest.Chain: receipts are signed with the
// oracle's key through a client.Signer, which keeps the account nonce.
type Ingest struct {
	src    *Source
	signer *client.Signer
}

var _ ingest.Chain = (*Ingest)(nil)

// NewIngest returns the ingest adapter signing with key and offering fee
// micro-HXP per receipt.
func NewIngest(src *Source, key *identity.Key, fee uint64) *Ingest {
	return &Ingest{src: src, signer: src.c.NewSigner(key, fee)}
}

// Head implements ingest.Chain.
func (i *Ingest) Head(ctx context.Context) (int64, time.Time, error) {
	b, err := i.src.c.LatestBlock(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	return b.Height, b.Time, nil
}

// BlockAt implements ingest.Chain.
func (i *Ingest) BlockAt(ctx context.Context, height int64) ([]byte, time.Time, error) {
	b, err := i.src.c.BlockAt(ctx, height)
	if err != nil {
		return nil, time.Time{}, err
	}
	return b.Hash, b.Time, nil
}

// EntropyValidityBlocks implements ingest.Chain.
func (i *Ingest) EntropyValidityBlocks(ctx context.Context) (uint64, error) {
	p, err := i.src.Params(ctx)
	if err != nil {
		return 0, err
	}
	return p.EntropyValidityBlocks, nil
}

// Submit implements ingest.Chain.
func (i *Ingest) Submit(ctx context.Context, rc *hexproofv1.PocReceipt) (ingest.Submission, error) {
	res, err := i.signer.Send(ctx, rc, false)
	var te *client.TxError
	if errors.As(err, &te) {
		sub := ingest.Submission{TxHash: te.Hash.String(), Log: te.Log}
		switch te.Code {
		case client.CodeReplay:
			sub.Outcome = ingest.Duplicate
		case client.CodeBadNonce, client.CodeInsufficientFee, client.CodeInsufficientFunds:
			// The signer re-reads its nonce; a fee or balance problem may be fixed by the operator.
			return sub, fmt.Errorf("%w: %v", ingest.ErrTransient, err)
		default:
			sub.Outcome = ingest.Rejected
		}
		return sub, nil
	}
	if err != nil {
		return ingest.Submission{}, fmt.Errorf("%w: %v", ingest.ErrTransient, err)
	}
	return ingest.Submission{TxHash: res.Hash.String(), Outcome: ingest.Accepted}, nil
}

// Included implements ingest.Chain.
func (i *Ingest) Included(ctx context.Context, txHash string) (bool, ingest.Outcome, string, error) {
	h, err := hex.DecodeString(txHash)
	if err != nil {
		return false, 0, "", fmt.Errorf("tx hash %q: %w", txHash, err)
	}
	r, err := i.src.c.RPC().Tx(ctx, h, false)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return false, 0, "", nil
		}
		return false, 0, "", err
	}
	switch r.TxResult.Code {
	case client.CodeBadNonce:
		// Lost a nonce race: re-read the nonce and let ingest resubmit.
		i.signer.Reset()
		return false, 0, "", nil
	case client.CodeOK:
		return true, ingest.Accepted, r.TxResult.Log, nil
	case client.CodeReplay:
		return true, ingest.Duplicate, r.TxResult.Log, nil
	default:
		return true, ingest.Rejected, r.TxResult.Log, nil
	}
}
