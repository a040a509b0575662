package bridge

import (
	"encoding/hex"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/chirpstack/chirpstack/api/go/v4/gw"

	"github.com/hexproof/hexproof/firmware-bridge/convert"
	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

// downlink is a DownlinkFrame being tried item by item.
type downlink struct {
	frame    *gw.DownlinkFrame
	eui      gwmp.EUI64
	id       string
	idx      int
	statuses []gw.TxAckStatus
	timer    *time.Timer
}

type pendingKey struct {
	eui   gwmp.EUI64
	token uint16
}

// scheduler holds the downlinks waiting for a TX_ACK. Whoever removes a
// downlink from pending owns it.
type scheduler struct {
	mu      sync.Mutex
	pending map[pendingKey]*downlink
}

func (s *scheduler) take(k pendingKey) *downlink {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.pending[k]
	if d != nil {
		delete(s.pending, k)
		d.timer.Stop()
	}
	return d
}

func (s *scheduler) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, d := range s.pending {
		d.timer.Stop()
		delete(s.pending, k)
	}
}

// HandleDownlink schedules a downlink command. It does not block: it sends
// the first item's PULL_RESP and returns; the TX_ACK decides what follows.
func (b *Bridge) HandleDownlink(f *gw.DownlinkFrame) {
	id := f.GatewayId
	if id == "" && len(f.GatewayIdLegacy) == 8 {
		id = hex.EncodeToString(f.GatewayIdLegacy)
	}
	eui, err := gwmp.ParseEUI64(id)
	if err != nil {
		b.log.Warn("downlink dropped: bad gateway id", "gateway_id", id, "downlink_id", f.DownlinkId, "err", err)
		return
	}
	if len(f.Items) == 0 {
		b.log.Warn("downlink dropped: no items", "gateway_id", id, "downlink_id", f.DownlinkId)
		return
	}
	d := &downlink{frame: f, eui: eui, id: eui.String(), statuses: make([]gw.TxAckStatus, len(f.Items))}
	b.tryItem(d)
}

// tryItem sends item d.idx, or the next one that can be sent, or finishes
// the downlink with its ack.
func (b *Bridge) tryItem(d *downlink) {
	for ; d.idx < len(d.frame.Items); d.idx++ {
		g, ok := b.reg.get(d.eui)
		if !ok {
			d.statuses[d.idx] = gw.TxAckStatus_INTERNAL_ERROR
			b.logLimited("downlink_no_gateway", "downlink item failed: gateway has no downlink path (no recent PULL_DATA)", "gateway_id", d.id, "downlink_id", d.frame.DownlinkId)
			continue
		}
		pk, err := convert.TXPK(d.frame.Items[d.idx])
		if err != nil {
			d.statuses[d.idx] = gw.TxAckStatus_INTERNAL_ERROR
			b.log.Warn("downlink item failed: cannot convert", "gateway_id", d.id, "downlink_id", d.frame.DownlinkId, "item", d.idx, "err", err)
			continue
		}
		token := uint16(rand.Uint32())
		pkt, err := gwmp.PullResp{Version: g.version, Token: token, Payload: gwmp.PullRespPayload{TXPK: pk}}.MarshalBinary()
		if err != nil {
			d.statuses[d.idx] = gw.TxAckStatus_INTERNAL_ERROR
			b.log.Warn("downlink item failed: cannot encode", "gateway_id", d.id, "item", d.idx, "err", err)
			continue
		}
		if g.version == gwmp.Version1 {
			// Version 1 has no TX_ACK: sent is as good as it gets.
			if b.send(g.addr, gwmp.TypePullResp, pkt) != nil {
				d.statuses[d.idx] = gw.TxAckStatus_INTERNAL_ERROR
				continue
			}
			d.statuses[d.idx] = gw.TxAckStatus_OK
			break
		}
		k := pendingKey{eui: d.eui, token: token}
		b.down.mu.Lock()
		if _, busy := b.down.pending[k]; busy {
			b.down.mu.Unlock()
			d.idx-- // token clash: draw another for the same item
			continue
		}
		b.down.pending[k] = d
		d.timer = time.AfterFunc(b.cfg.TxAckTimeout, func() { b.txAckTimeout(k) })
		b.down.mu.Unlock()
		if b.send(g.addr, gwmp.TypePullResp, pkt) != nil {
			if b.down.take(k) == d {
				d.statuses[d.idx] = gw.TxAckStatus_INTERNAL_ERROR
				continue
			}
			return // the timeout fired in between and owns d now
		}
		return
	}
	b.publishAck(d)
}

func (b *Bridge) txAckTimeout(k pendingKey) {
	d := b.down.take(k)
	if d == nil {
		return
	}
	// The item may or may not have gone out; trying the next window now
	// would be late anyway. INTERNAL_ERROR is the status; the log and the
	// TX_ACK_TIMEOUT metric say why.
	d.statuses[d.idx] = gw.TxAckStatus_INTERNAL_ERROR
	b.m.AckStatus.WithLabelValues("TX_ACK_TIMEOUT").Inc()
	b.log.Warn("downlink: no tx_ack from gateway", "gateway_id", d.id, "downlink_id", d.frame.DownlinkId, "item", d.idx, "timeout", b.cfg.TxAckTimeout.String())
	b.publishAck(d)
}

// handleTxAck applies a decoded TX_ACK.
func (b *Bridge) handleTxAck(a *gwmp.TxAck) {
	d := b.down.take(pendingKey{eui: a.GatewayID, token: a.Token})
	if d == nil {
		b.logLimited("tx_ack_unknown", "tx_ack for no pending downlink (late or duplicate)", "gateway_id", a.GatewayID.String(), "token", a.Token)
		return
	}
	st, warn := convert.TxAckStatus(a.Payload)
	if warn != "" {
		b.log.Warn("downlink emitted with a warning", "gateway_id", d.id, "downlink_id", d.frame.DownlinkId, "warn", warn)
	}
	d.statuses[d.idx] = st
	if st == gw.TxAckStatus_OK {
		b.publishAck(d)
		return
	}
	b.log.Info("downlink item rejected by gateway, trying the next", "gateway_id", d.id, "downlink_id", d.frame.DownlinkId, "item", d.idx, "status", st.String())
	d.idx++
	b.tryItem(d)
}
