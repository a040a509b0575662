package router

import (
	"context"
	"time"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/stream"
	"github.com/hexproof/hexproof/router/vgw"
)

// pendingTimeout is how long the router waits for a hotspot's final
// TxAck: the latest RX2 window is 16 s after the uplink.
const pendingTimeout = 20 * time.Second

// PullResp implements vgw.Handler: a downlink from the LNS, on the virtual
// gateway of the hotspot the LNS picked. It goes to the hotspot that heard
// the uplink best (when that one is still connected), with the timestamp
// moved to that hotspot's clock, and with an RX2 window the hotspot falls
// back to.
func (r *Router) PullResp(g *vgw.Gateway, token uint16, tx vgw.Downlink, received time.Time) {
	target := g.Hotspot
	tmst := tx.Tmst
	redirected := false
	if !tx.Immediate {
		if key, delay, ok := g.FindUplink(tx.Tmst); ok {
			if best, ok := r.dedup.Best(key, received); ok && best.Hotspot != g.Hotspot && r.srv.Session(best.Hotspot) != nil {
				target, tmst, redirected = best.Hotspot, best.Tmst+delay, true
			}
		}
	}
	sess := r.srv.Session(target)
	if sess == nil {
		r.m.Downlinks.WithLabelValues("hotspot_offline").Inc()
		_ = g.TxAck(token, gwmp.TxAckTooLate)
		return
	}
	rx1 := &hexproofv1.DownlinkWindow{
		FrequencyHz: tx.FrequencyHz, Datarate: tx.DataRate, PowerDbm: tx.PowerDBm, Tmst: tmst,
		Immediate: tx.Immediate, PolarizationInversion: tx.IPol, CodingRate: tx.CodingRate,
	}
	var rx2 *hexproofv1.DownlinkWindow
	if !tx.Immediate {
		region := hexproofv1.Region(sess.Region.Load())
		if w, ok := r.cfg.RX2[region]; ok && (w.FrequencyHz != tx.FrequencyHz || w.DataRate != tx.DataRate) {
			rx2 = &hexproofv1.DownlinkWindow{
				FrequencyHz: w.FrequencyHz, Datarate: w.DataRate, PowerDbm: tx.PowerDBm, Tmst: tmst + 1_000_000,
				PolarizationInversion: tx.IPol, CodingRate: tx.CodingRate,
			}
		}
	}
	id := r.downID.Add(1)
	r.downMu.Lock()
	r.pending[id] = &pendingDown{gw: g, token: token, target: target, hasRX2: rx2 != nil, created: received}
	r.downMu.Unlock()
	ok := sess.Send(&hexproofv1.StreamResponse{Msg: &hexproofv1.StreamResponse_Downlink{Downlink: &hexproofv1.Downlink{
		Id: id, PhyPayload: tx.Data, Rx1: rx1, Rx2: rx2,
	}}})
	if !ok {
		r.downMu.Lock()
		delete(r.pending, id)
		r.downMu.Unlock()
		r.m.Downlinks.WithLabelValues("queue_full").Inc()
		_ = g.TxAck(token, gwmp.TxAckTooLate)
		return
	}
	r.m.DownlinkLatency.Observe(time.Since(received).Seconds())
	if redirected {
		r.m.Downlinks.WithLabelValues("redirected").Inc()
	}
}

// TxAck implements stream.Handler: forward the final outcome to the LNS.
func (r *Router) TxAck(s *stream.Session, ack *hexproofv1.TxAck) {
	r.downMu.Lock()
	p := r.pending[ack.GetDownlinkId()]
	if p == nil || p.target != s.Hotspot {
		r.downMu.Unlock()
		return
	}
	failed := ack.GetStatus() != hexproofv1.TxAckStatus_TX_ACK_STATUS_OK
	if failed && p.hasRX2 && ack.GetWindow() == 1 {
		// RX1 failed; the hotspot tries RX2 and acks again.
		p.last = ack.GetStatus()
		r.downMu.Unlock()
		r.m.Downlinks.WithLabelValues("rx1_failed").Inc()
		return
	}
	delete(r.pending, ack.GetDownlinkId())
	r.downMu.Unlock()
	result := "sent_rx1"
	switch {
	case failed:
		result = "failed"
	case ack.GetWindow() == 2:
		result = "sent_rx2"
	}
	r.m.Downlinks.WithLabelValues(result).Inc()
	_ = p.gw.TxAck(p.token, TxAckError(ack.GetStatus()))
}

// TxAckError maps a hotspot's status to the packet forwarder's TX_ACK
// error string. Statuses GWMP has no word for become the closest one an
// LNS acts on the same way.
func TxAckError(s hexproofv1.TxAckStatus) string {
	switch s {
	case hexproofv1.TxAckStatus_TX_ACK_STATUS_OK:
		return gwmp.TxAckNone
	case hexproofv1.TxAckStatus_TX_ACK_STATUS_TOO_EARLY:
		return gwmp.TxAckTooEarly
	case hexproofv1.TxAckStatus_TX_ACK_STATUS_COLLISION_PACKET, hexproofv1.TxAckStatus_TX_ACK_STATUS_QUEUE_FULL:
		return gwmp.TxAckCollisionPacket
	case hexproofv1.TxAckStatus_TX_ACK_STATUS_COLLISION_BEACON:
		return gwmp.TxAckCollisionBeacon
	case hexproofv1.TxAckStatus_TX_ACK_STATUS_TX_FREQ:
		return gwmp.TxAckTxFreq
	case hexproofv1.TxAckStatus_TX_ACK_STATUS_TX_POWER:
		return gwmp.TxAckTxPower
	case hexproofv1.TxAckStatus_TX_ACK_STATUS_GPS_UNLOCKED:
		return gwmp.TxAckGPSUnlocked
	default:
		return gwmp.TxAckTooLate
	}
}

// sweepLoop expires downlinks whose final TxAck never came; one that failed
// RX1 is reported to the LNS with that failure.
func (r *Router) sweepLoop(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			var expired []*pendingDown
			r.downMu.Lock()
			for id, p := range r.pending {
				if now.Sub(p.created) > pendingTimeout {
					delete(r.pending, id)
					expired = append(expired, p)
				}
			}
			r.downMu.Unlock()
			for _, p := range expired {
				r.m.Downlinks.WithLabelValues("no_ack").Inc()
				if p.last != hexproofv1.TxAckStatus_TX_ACK_STATUS_UNSPECIFIED {
					_ = p.gw.TxAck(p.token, TxAckError(p.last))
				}
			}
		}
	}
}
