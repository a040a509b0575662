package bridge

import (
	"errors"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/hexproof/hexproof/firmware-bridge/convert"
	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
)

// batchSize is how many datagrams a worker takes at once: it decodes them,
// sends their acks in one sendmmsg, then publishes.
const batchSize = 32

// item is one datagram of a batch, decoded.
type item struct {
	d     datagram
	typ   gwmp.Type
	ok    bool
	push  gwmp.PushData
	pull  gwmp.PullData
	txack gwmp.TxAck
}

// worker state reused from batch to batch.
type worker struct {
	batch []datagram
	items []item
	acks  []ipv4.Message
	ackb  [batchSize][4]byte
}

// work processes the datagrams of one queue until it is closed.
func (b *Bridge) work(ch <-chan datagram) {
	w := &worker{}
	for d := range ch {
		w.batch = append(w.batch[:0], d)
		open := true
	fill:
		for len(w.batch) < batchSize {
			select {
			case d, ok := <-ch:
				if !ok {
					open = false
					break fill
				}
				w.batch = append(w.batch, d)
			default:
				break fill
			}
		}
		b.handleBatch(w)
		if !open {
			return
		}
	}
}

// handle processes a single datagram (tests and benchmarks).
func (b *Bridge) handle(d datagram) {
	w := &worker{batch: []datagram{d}}
	b.handleBatch(w)
}

func (b *Bridge) handleBatch(w *worker) {
	w.items = w.items[:0]
	w.acks = w.acks[:0]
	for _, d := range w.batch {
		w.items = append(w.items, item{d: d})
		it := &w.items[len(w.items)-1]
		if ack := b.decode(it); ack != nil {
			i := len(w.acks)
			copy(w.ackb[i][:], ack)
			w.acks = append(w.acks, ipv4.Message{Buffers: [][]byte{w.ackb[i][:]}, Addr: net.UDPAddrFromAddrPort(d.addr)})
		}
	}
	b.sendAcks(w.acks)
	for i := range w.items {
		if it := &w.items[i]; it.ok {
			b.process(it)
		}
	}
}

// sendAcks sends PUSH_ACK/PULL_ACK datagrams, in one syscall when it can.
func (b *Bridge) sendAcks(ms []ipv4.Message) {
	if len(ms) == 0 {
		return
	}
	count := func(m *ipv4.Message) { b.out[gwmp.Type(m.Buffers[0][3])].Inc() }
	if b.pc == nil {
		for i := range ms {
			if _, err := b.conn.WriteTo(ms[i].Buffers[0], ms[i].Addr); err != nil {
				b.logLimited("udp_write", "udp write", "addr", ms[i].Addr.String(), "err", err)
				continue
			}
			count(&ms[i])
		}
		return
	}
	for len(ms) > 0 {
		n, err := b.pc.WriteBatch(ms, 0)
		for i := range n {
			count(&ms[i])
		}
		if err != nil {
			b.logLimited("udp_write", "udp write", "addr", ms[n].Addr.String(), "err", err)
			n++ // skip the one that failed
		}
		if n <= 0 {
			n = 1
		}
		ms = ms[min(n, len(ms)):]
	}
}

// decode parses the datagram of it and returns the ack to send, if any.
func (b *Bridge) decode(it *item) []byte {
	d := it.d
	h, err := gwmp.ParseHeader(d.b)
	if err != nil {
		reason := "malformed"
		switch {
		case errors.Is(err, gwmp.ErrShort):
			reason = "truncated"
		case errors.Is(err, gwmp.ErrVersion):
			reason = "version"
		case errors.Is(err, gwmp.ErrUnknownType):
			reason = "unknown_type"
		case errors.Is(err, gwmp.ErrTooLarge):
			reason = "oversized"
		}
		b.parseError(d, reason, err)
		return nil
	}
	b.in[h.Type].Inc()
	it.typ = h.Type
	switch h.Type {
	case gwmp.TypePushData:
		if err := it.push.UnmarshalBinary(d.b); err != nil {
			b.parseError(d, reasonOf(err), err)
			return nil
		}
		it.ok = true
		return []byte{h.Version, byte(h.Token >> 8), byte(h.Token), byte(gwmp.TypePushAck)}
	case gwmp.TypePullData:
		if err := it.pull.UnmarshalBinary(d.b); err != nil {
			b.parseError(d, reasonOf(err), err)
			return nil
		}
		it.ok = true
		return []byte{h.Version, byte(h.Token >> 8), byte(h.Token), byte(gwmp.TypePullAck)}
	case gwmp.TypeTxAck:
		if err := it.txack.UnmarshalBinary(d.b); err != nil {
			b.parseError(d, reasonOf(err), err)
			return nil
		}
		it.ok = true
		return nil
	}
	b.parseError(d, "unexpected_type", errors.New("gateways send only push_data, pull_data and tx_ack; got "+h.Type.String()))
	return nil
}

func reasonOf(err error) string {
	if errors.Is(err, gwmp.ErrShort) {
		return "truncated"
	}
	return "malformed"
}

// process acts on a decoded datagram (after its ack went out).
func (b *Bridge) process(it *item) {
	switch it.typ {
	case gwmp.TypePushData:
		b.processPushData(&it.push)
	case gwmp.TypePullData:
		p := &it.pull
		id, isNew, moved := b.reg.pull(p.GatewayID, it.d.addr, p.Version, time.Now())
		switch {
		case id == "":
			b.logLimited("registry_full", "gateway not registered: too many gateways", "gateway_id", p.GatewayID.String(), "max", maxGateways)
		case isNew:
			b.m.Gateways.Inc()
			b.log.Info("gateway online", "gateway_id", id, "addr", it.d.addr.String(), "protocol_version", p.Version)
			b.pub.SetGatewayState(id, true)
		case moved:
			b.log.Info("gateway address changed", "gateway_id", id, "addr", it.d.addr.String())
		}
	case gwmp.TypeTxAck:
		b.handleTxAck(&it.txack)
	}
}

func (b *Bridge) processPushData(p *gwmp.PushData) {
	id := p.GatewayID.String()
	for i := range p.Payload.RXPK {
		rx := &p.Payload.RXPK[i]
		if !b.cfg.SkipCRCCheck && rx.Stat != 1 {
			b.m.UplinksDropped.WithLabelValues("crc").Inc()
			continue
		}
		if !b.cfg.Filter.Allow(rx.Data) {
			b.m.UplinksDropped.WithLabelValues("filter").Inc()
			continue
		}
		frames, err := convert.UplinkFrames(id, rx, rand.Uint32)
		if err != nil {
			b.m.UplinksDropped.WithLabelValues("invalid").Inc()
			b.logLimited("rxpk_invalid", "rxpk not forwarded", "gateway_id", id, "err", err)
			continue
		}
		b.stats.rx(p.GatewayID, frames[0].TxInfo.Frequency, frames[0].TxInfo.Modulation)
		for _, f := range frames {
			b.pub.PublishEvent(id, "up", f)
		}
	}
	if st := p.Payload.Stat; st != nil {
		gs := convert.GatewayStats(id, st)
		b.stats.fill(p.GatewayID, gs)
		b.pub.PublishEvent(id, "stats", gs)
	}
}

// readBatch is read with recvmmsg: up to 16 datagrams per syscall.
func (b *Bridge) readBatch() {
	const n = 16
	ms := make([]ipv4.Message, n)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 65536)}
	}
	workers := uint32(len(b.workers))
	for {
		k, err := b.pc.ReadBatch(ms, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			b.logLimited("udp_read", "udp read", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		// One allocation holds the copies of the whole batch (the
		// receive buffers are reused); each datagram gets a capped slice.
		total := 0
		for i := range k {
			total += ms[i].N
		}
		slab := make([]byte, 0, total)
		for i := range k {
			m := &ms[i]
			ua, ok := m.Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			if m.Flags&syscall.MSG_TRUNC != 0 || m.N > gwmp.MaxDatagram {
				b.m.ParseErrors.WithLabelValues("oversized").Inc()
				b.logLimited("oversized", "oversized datagram dropped", "addr", ua.String(), "bytes", m.N)
				continue
			}
			off := len(slab)
			slab = append(slab, m.Buffers[0][:m.N]...)
			b.queue(datagram{b: slab[off:len(slab):len(slab)], addr: ua.AddrPort()}, workers)
		}
	}
}
