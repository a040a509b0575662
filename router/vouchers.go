package router

import (
	"context"
	"time"

	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/dc"
)

func (r *Router) voucherLoop(ctx context.Context) error {
	t := time.NewTicker(r.cfg.VoucherInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := r.flushVouchers(); err != nil {
				// Nothing unpersisted is signed; the next tick retries.
				r.log.Error("persist voucher counters; vouchers held back", "err", err)
			}
		}
	}
}

// flushVouchers persists the counters, then signs and sends a voucher for
// every counter that changed.
func (r *Router) flushVouchers() error {
	changed, err := r.meter.Flush()
	if err != nil {
		return err
	}
	st := r.st.Load()
	if st == nil {
		return nil
	}
	for _, c := range changed {
		v := r.signVoucher(st.chainID, c)
		if v == nil {
			continue
		}
		if s := r.srv.Session(c.Hotspot); s != nil {
			s.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Voucher{Voucher: v}})
		}
	}
	return nil
}

// signVoucher signs c (a persisted counter) and remembers the voucher to
// resend it when the hotspot reconnects.
func (r *Router) signVoucher(chainID string, c dc.Counter) *hexproofv1.Voucher {
	if c.DC == 0 {
		// Only free joins so far: the chain pays nothing for it and
		// refuses to claim it.
		return nil
	}
	v := &hexproofv1.Voucher{
		ChainId: chainID, Oui: c.OUI, Router: r.key.PublicKey(), Hotspot: append([]byte(nil), c.Hotspot[:]...),
		Epoch: c.Epoch, Dc: c.DC, Packets: c.Packets,
	}
	if err := r.key.SignMessage(identity.DomainVoucher, v); err != nil {
		r.log.Error("sign voucher", "err", err)
		return nil
	}
	r.m.VouchersSigned.Inc()
	r.signedMu.Lock()
	m := r.signed[c.Hotspot]
	if m == nil {
		m = map[dc.Key]*hexproofv1.Voucher{}
		r.signed[c.Hotspot] = m
	}
	m[c.Key] = v
	// Only the newest two epochs are worth resending.
	for k := range m {
		if k.Epoch+1 < c.Epoch {
			delete(m, k)
		}
	}
	r.signedMu.Unlock()
	return v
}

// claimsPerRefresh bounds the voucher queries of one refresh.
const claimsPerRefresh = 500

// claimsLoop asks the chain, every chain refresh period, what it paid on
// unsettled vouchers: a claim moves DC out of the escrow, and the router
// must stop counting that DC as promised or it would count it twice.
func (r *Router) claimsLoop(ctx context.Context) error {
	t := time.NewTicker(r.cfg.ChainRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			for _, c := range r.meter.Unsettled(claimsPerRefresh) {
				paid, err := r.view.VoucherPaid(ctx, c.OUI, c.Hotspot[:], c.Epoch)
				if err != nil {
					r.log.Debug("read voucher claims", "oui", c.OUI, "epoch", c.Epoch, "err", err)
					break
				}
				r.meter.SetPaid(c.Key, paid)
			}
		}
	}
}
