package router

import (
	"fmt"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hexproof/hexproof/firmware-bridge/gwmp"
	"github.com/hexproof/hexproof/internal/identity"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/chainview"
	"github.com/hexproof/hexproof/router/vgw"
)

// twoOUIs serves OUI 1 (DevAddr range, LNS a) and OUI 2 (a JoinEUI, LNS b).
func twoOUIs(t *testing.T) (*testRouter, *memChain, *testLNS, *testLNS, *identity.Key) {
	t.Helper()
	routerKey := newKey(t)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1000, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x480000ff}}, nil)})
	chain.setOUI(chainview.OUI{ID: 2, EscrowDC: 1000, Config: ouiConfig(1, routerKey, [][2]uint32{{0x49000000, 0x490000ff}}, [][2]uint64{{0x70b3d57ed0000001, 0}, {0x70b3d57ed0000002, 0x1122334455667788}})})
	a, b := newTestLNS(t), newTestLNS(t)
	tr := startRouter(t, testConfig(t, map[uint64]string{1: a.addr(), 2: b.addr()}), routerKey, chain)
	return tr, chain, a, b, routerKey
}

func TestRouting(t *testing.T) {
	tr, chain, a, b, _ := twoOUIs(t)
	hk := newKey(t)
	chain.onboard(hk)
	h := connect(t, tr.Addr().String(), hk)

	tests := []struct {
		name   string
		phy    []byte
		lns    *testLNS // nil: not routed
		reason string
	}{
		{"devaddr in OUI 1", dataFrame(0x48000010, 1, 10), a, ""},
		{"devaddr at the end of OUI 1's range", dataFrame(0x480000ff, 1, 10), a, ""},
		{"devaddr in OUI 2", dataFrame(0x49000001, 1, 10), b, ""},
		{"join by JoinEUI, any DevEUI", joinFrame(0x70b3d57ed0000001, 42, 1), b, ""},
		{"join by exact pair", joinFrame(0x70b3d57ed0000002, 0x1122334455667788, 1), b, ""},
		{"join with the pair's JoinEUI but another DevEUI", joinFrame(0x70b3d57ed0000002, 0x1122334455667789, 1), nil, "no_route"},
		{"devaddr of nobody", dataFrame(0x26000001, 1, 10), nil, "no_route"},
		{"downlink frame", append([]byte{0x60}, dataFrame(0x48000010, 1, 10)[1:]...), nil, "not_uplink"},
		{"garbage", []byte{0x40, 1}, nil, "bad_frame"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			beforeA, beforeB := len(a.uplinks()), len(b.uplinks())
			before := tr.dropped(tt.reason)
			tmst := uint32(1000 * (i + 1))
			h.send(h.uplink(tt.phy, -80, 50, tmst))
			if tt.lns == nil {
				waitCount(t, "dropped "+tt.reason, func() float64 { return tr.dropped(tt.reason) }, before+1)
				if len(a.uplinks()) != beforeA || len(b.uplinks()) != beforeB {
					t.Fatal("an unrouted frame reached an LNS")
				}
				return
			}
			other, otherBefore, want := b, beforeB, beforeA+1
			if tt.lns == b {
				other, otherBefore, want = a, beforeA, beforeB+1
			}
			tt.lns.waitFor("uplink", func() bool { return len(tt.lns.ups) == want })
			got := tt.lns.uplinks()[want-1]
			if string(got.rxpk.Data) != string(tt.phy) || got.rxpk.Tmst != tmst || got.rxpk.RSSI != -80 || got.rxpk.LSNR == nil || *got.rxpk.LSNR != 5 || got.rxpk.Freq != 868.1 {
				t.Fatalf("LNS got %+v", got.rxpk)
			}
			if got.eui != vgw.EUI(hk.Address()) {
				t.Fatalf("gateway EUI %016x, want the hotspot's %016x", got.eui, vgw.EUI(hk.Address()))
			}
			if len(other.uplinks()) != otherBefore {
				t.Fatal("frame reached the other OUI's LNS too")
			}
		})
	}
}

// fiveHotspots connects five onboarded hotspots.
func fiveHotspots(t *testing.T, tr *testRouter, chain *memChain) []*testHotspot {
	var hs []*testHotspot
	for i := 0; i < 5; i++ {
		k := newKey(t)
		chain.onboard(k)
		hs = append(hs, connect(t, tr.Addr().String(), k))
	}
	return hs
}

func TestDedupMultiBuy(t *testing.T) {
	for _, maxCopies := range []uint32{1, 3} {
		t.Run(fmt.Sprintf("max_copies=%d", maxCopies), func(t *testing.T) {
			routerKey := newKey(t)
			chain := newMemChain()
			chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1000, Config: ouiConfig(maxCopies, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
			lns := newTestLNS(t)
			cfg := testConfig(t, map[uint64]string{1: lns.addr()})
			// A slow test machine must not make copies late.
			cfg.DedupWindow = 3 * time.Second
			tr := startRouter(t, cfg, routerKey, chain)
			hs := fiveHotspots(t, tr, chain)

			phy := dataFrame(0x48000001, 9, 11) // 24 bytes: 1 DC
			for i, h := range hs {
				go h.send(h.uplink(phy, int32(-100+i), 0, uint32(i)))
			}
			waitCount(t, "copies handled", func() float64 { return tr.bought(1) + tr.dropped("duplicate") }, 5)
			if got := tr.bought(1); got != float64(maxCopies) {
				t.Fatalf("bought %v copies, want %d", got, maxCopies)
			}
			lns.waitFor("bought copies", func() bool { return len(lns.ups) == int(maxCopies) })
			euis := map[uint64]bool{}
			for _, u := range lns.uplinks() {
				euis[u.eui] = true
			}
			if len(euis) != int(maxCopies) {
				t.Fatalf("copies came from %d virtual gateways, want %d distinct", len(euis), maxCopies)
			}
			// The same hotspot sending the frame again buys nothing more.
			hs[0].send(hs[0].uplink(phy, -1, 0, 0))
			waitCount(t, "duplicates", func() float64 { return tr.dropped("duplicate") }, float64(5-maxCopies)+1)
			if got := tr.Meter().Promised(1); got != uint64(maxCopies) {
				t.Fatalf("promised %d DC, want %d (one per 24-byte copy)", got, maxCopies)
			}
		})
	}
}

func TestDownlinkToBestHotspot(t *testing.T) {
	routerKey := newKey(t)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1000, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
	lns := newTestLNS(t)
	cfg := testConfig(t, map[uint64]string{1: lns.addr()})
	cfg.DedupWindow = 3 * time.Second // a slow test machine must not make copies late
	tr := startRouter(t, cfg, routerKey, chain)
	hs := fiveHotspots(t, tr, chain)

	phy := dataFrame(0x48000002, 3, 5)
	rssi := []int32{-120, -90, -70, -40, -40}
	snr := []int32{-100, 20, 30, 75, 70} // 3 and 4 tie on RSSI; 3 has the better SNR
	tmst := []uint32{4_000_000_000, 100, 2_000_000, 300_000_000, 55}
	hs[0].send(hs[0].uplink(phy, rssi[0], snr[0], tmst[0]))
	waitCount(t, "first copy bought", func() float64 { return tr.bought(1) }, 1)
	for i := 1; i < 5; i++ {
		hs[i].send(hs[i].uplink(phy, rssi[i], snr[i], tmst[i]))
	}
	waitCount(t, "duplicates", func() float64 { return tr.dropped("duplicate") }, 4)
	lns.waitFor("uplink", func() bool { return len(lns.ups) == 1 })
	up := lns.uplinks()[0]
	if up.eui != vgw.EUI(hs[0].key.Address()) {
		t.Fatal("the bought copy is not the first hotspot's")
	}

	// The LNS answers on the only gateway it knows, RX1 one second later
	// (tmst wraps); the router sends it to hotspot 3 on hotspot 3's clock.
	lns.pullResp(up.eui, 0x4242, vgw.Downlink{Tmst: tmst[0] + 1_000_000, FrequencyHz: 868_100_000, PowerDBm: 14, Modulation: "LORA", DataRate: "SF7BW125", CodingRate: "4/5", IPol: true, Data: []byte{0x60, 1, 2, 3}})
	d := hs[3].nextDownlink()
	if d.GetRx1().GetTmst() != tmst[3]+1_000_000 || d.GetRx1().GetFrequencyHz() != 868_100_000 || d.GetRx1().GetDatarate() != "SF7BW125" || !d.GetRx1().GetPolarizationInversion() {
		t.Fatalf("rx1 = %v", d.GetRx1())
	}
	if d.GetRx2().GetTmst() != tmst[3]+2_000_000 || d.GetRx2().GetFrequencyHz() != 869_525_000 || d.GetRx2().GetDatarate() != "SF12BW125" {
		t.Fatalf("rx2 = %v", d.GetRx2())
	}
	if string(d.GetPhyPayload()) != string([]byte{0x60, 1, 2, 3}) {
		t.Fatalf("payload %x", d.GetPhyPayload())
	}
	for i, h := range hs {
		if i != 3 && len(h.downlinks) != 0 {
			t.Fatalf("hotspot %d got a downlink too", i)
		}
	}
	hs[3].ack(d.GetId(), hexproofv1.TxAckStatus_TX_ACK_STATUS_OK, 1)
	lns.waitFor("TX_ACK", func() bool { return len(lns.acks) == 1 })
	ack := lns.txAcks()[0]
	if ack.Token != 0x4242 || ack.GatewayID.Uint64() != up.eui || ack.Outcome() != gwmp.TxAckNone {
		t.Fatalf("TX_ACK = %+v", ack)
	}
}

func TestRX2FallbackOnTooLate(t *testing.T) {
	routerKey := newKey(t)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1000, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
	lns := newTestLNS(t)
	tr := startRouter(t, testConfig(t, map[uint64]string{1: lns.addr()}), routerKey, chain)
	hk := newKey(t)
	chain.onboard(hk)
	h := connect(t, tr.Addr().String(), hk)
	eui := vgw.EUI(hk.Address())

	tests := []struct {
		name string
		// acks the hotspot sends, in order: status and window
		acks []struct {
			s hexproofv1.TxAckStatus
			w uint32
		}
		want string
	}{
		{"RX1 too late, RX2 sent", []struct {
			s hexproofv1.TxAckStatus
			w uint32
		}{{hexproofv1.TxAckStatus_TX_ACK_STATUS_TOO_LATE, 1}, {hexproofv1.TxAckStatus_TX_ACK_STATUS_OK, 2}}, gwmp.TxAckNone},
		{"both windows too late", []struct {
			s hexproofv1.TxAckStatus
			w uint32
		}{{hexproofv1.TxAckStatus_TX_ACK_STATUS_TOO_LATE, 1}, {hexproofv1.TxAckStatus_TX_ACK_STATUS_TOO_LATE, 2}}, gwmp.TxAckTooLate},
		{"RX1 sent", []struct {
			s hexproofv1.TxAckStatus
			w uint32
		}{{hexproofv1.TxAckStatus_TX_ACK_STATUS_OK, 1}}, gwmp.TxAckNone},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := uint32(10_000_000 * (i + 1))
			n := len(lns.uplinks()) + 1
			h.send(h.uplink(dataFrame(0x48000003, uint16(i), 5), -80, 0, tm))
			lns.waitFor("uplink", func() bool { return len(lns.ups) == n })
			token := uint16(100 + i)
			lns.pullResp(eui, token, vgw.Downlink{Tmst: tm + 1_000_000, FrequencyHz: 868_300_000, PowerDBm: 14, Modulation: "LORA", DataRate: "SF9BW125", CodingRate: "4/5", IPol: true, Data: []byte{0x60, 9}})
			d := h.nextDownlink()
			if d.GetRx2() == nil || d.GetRx2().GetTmst() != tm+2_000_000 || d.GetRx2().GetFrequencyHz() != 869_525_000 {
				t.Fatalf("downlink without the RX2 window: %v", d)
			}
			acks := len(lns.txAcks())
			for _, a := range tt.acks {
				h.ack(d.GetId(), a.s, a.w)
			}
			lns.waitFor("TX_ACK", func() bool { return len(lns.acks) > acks })
			// One more uplink round trip: an intermediate ack would have
			// reached the LNS by then.
			h.send(h.uplink(dataFrame(0x48000003, uint16(i+100), 5), -80, 0, 1))
			lns.waitFor("uplink", func() bool { return len(lns.ups) == n+1 })
			got := lns.txAcks()
			if len(got) != acks+1 {
				t.Fatalf("LNS got %d TX_ACKs, want 1 (the final one): %+v", len(got)-acks, got[acks:])
			}
			if got[acks].Token != token || got[acks].Outcome() != tt.want {
				t.Fatalf("TX_ACK = %+v, want token %d error %s", got[acks], token, tt.want)
			}
		})
	}
}

func TestRefusedSessions(t *testing.T) {
	tr, chain, _, _, _ := twoOUIs(t)
	onboarded := newKey(t)
	chain.onboard(onboarded)
	other := newKey(t)
	tests := []struct {
		name   string
		key    *identity.Key
		sign   func([]byte) []byte
		reason []string
		code   codes.Code
	}{
		{"unregistered hotspot", newKey(t), nil, []string{"not onboarded", testChainID}, codes.PermissionDenied},
		{"proof signed by another key", onboarded, func(m []byte) []byte { return other.Sign(identity.DomainSession, m) }, []string{"signature"}, codes.Unauthenticated},
		{"proof under the wrong domain", onboarded, func(m []byte) []byte { return onboarded.Sign(identity.DomainUplink, m) }, []string{"signature"}, codes.Unauthenticated},
		{"proof over another nonce", onboarded, func(m []byte) []byte { return onboarded.Sign(identity.DomainSession, append(m, 0)) }, []string{"signature"}, codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, resp, err := openStream(t, tr.Addr().String(), tt.key, tt.sign)
			if err != nil {
				t.Fatalf("open stream: %v", err)
			}
			ref := resp.GetRefused()
			if ref == nil || !containsAll(ref.GetReason(), tt.reason...) {
				t.Fatalf("response %v, want SessionRefused mentioning %q", resp, tt.reason)
			}
			_, err = h.st.Recv()
			if status.Code(err) != tt.code {
				t.Fatalf("stream ended with %v, want code %v", err, tt.code)
			}
		})
	}
	// The onboarded hotspot with a good proof gets in.
	connect(t, tr.Addr().String(), onboarded)
}

func TestBadUplinkSignatureDropped(t *testing.T) {
	tr, chain, a, _, _ := twoOUIs(t)
	hk := newKey(t)
	chain.onboard(hk)
	h := connect(t, tr.Addr().String(), hk)
	up := h.uplink(dataFrame(0x48000001, 1, 4), -80, 0, 1)
	up.Radio.RssiDbm = -20 // tampered after signing
	h.send(up)
	waitCount(t, "bad signatures", func() float64 { return tr.dropped("bad_signature") }, 1)
	// Another hotspot's signature on this stream is refused too.
	other := newKey(t)
	up = &hexproofv1.Uplink{Hotspot: hk.PublicKey(), PhyPayload: dataFrame(0x48000001, 2, 4), Radio: &hexproofv1.RadioMeta{FrequencyHz: 868_100_000}}
	if err := other.SignMessage(identity.DomainUplink, up); err != nil {
		t.Fatal(err)
	}
	h.send(up)
	waitCount(t, "bad signatures", func() float64 { return tr.dropped("bad_signature") }, 2)
	// Then a good one goes through, and the bad ones never did.
	h.send(h.uplink(dataFrame(0x48000001, 3, 4), -80, 0, 1))
	a.waitFor("good uplink", func() bool { return len(a.ups) == 1 })
	if got := a.uplinks()[0].rxpk.Data; string(got) != string(dataFrame(0x48000001, 3, 4)) {
		t.Fatalf("LNS got %x", got)
	}
}

func TestDCExhaustionStopsPurchases(t *testing.T) {
	routerKey := newKey(t)
	chain := newMemChain()
	// 5 DC: a 30-byte frame costs 2 DC, a join 1 DC.
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 5, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, [][2]uint64{{1, 0}})})
	lns := newTestLNS(t)
	cfg := testConfig(t, map[uint64]string{1: lns.addr()})
	cfg.ChainRefresh = 20 * time.Millisecond
	cfg.VoucherInterval = 20 * time.Millisecond
	tr := startRouter(t, cfg, routerKey, chain)
	hk := newKey(t)
	chain.onboard(hk)
	h := connect(t, tr.Addr().String(), hk)

	big := func(fcnt uint16) []byte { return dataFrame(0x48000001, fcnt, 30-13) } // 30 bytes
	if n := len(big(0)); n != 30 {
		t.Fatalf("frame is %d bytes", n)
	}
	h.send(h.uplink(big(1), -80, 0, 1))             // 2 DC, 3 left
	h.send(h.uplink(big(2), -80, 0, 2))             // 2 DC, 1 left
	h.send(h.uplink(big(3), -80, 0, 3))             // refused
	h.send(h.uplink(joinFrame(1, 2, 3), -80, 0, 4)) // 1 DC, 0 left
	h.send(h.uplink(joinFrame(1, 2, 4), -80, 0, 5)) // refused
	waitCount(t, "no_dc drops", func() float64 { return tr.dropped("no_dc") }, 2)
	waitCount(t, "bought", func() float64 { return tr.bought(1) }, 3)
	lns.waitFor("3 uplinks", func() bool { return len(lns.ups) == 3 })
	if got := tr.Meter().Promised(1); got != 5 {
		t.Fatalf("promised %d DC, want all 5", got)
	}
	if len(lns.uplinks()) != 3 {
		t.Fatal("an unpaid frame reached the LNS")
	}

	// The company buys DC; the router sees it at the next refresh.
	o, _ := chain.OUI(t.Context(), 1)
	o.EscrowDC = 7
	chain.setOUI(o)
	waitCount(t, "available DC", func() float64 { return float64(tr.Meter().Available(1)) }, 2)
	h.send(h.uplink(big(4), -80, 0, 6))
	waitCount(t, "bought", func() float64 { return tr.bought(1) }, 4)

	// The hotspot claims its voucher: the chain moves the 7 DC out of the
	// escrow. The router must not count them twice: once the company buys
	// 10 more DC, all 10 are available.
	var v *hexproofv1.Voucher
	for v == nil || v.GetDc() < 7 {
		v = h.nextVoucher()
	}
	if v.GetDc() != 7 || v.GetPackets() != 4 {
		t.Fatalf("voucher dc=%d packets=%d, want 7 and 4", v.GetDc(), v.GetPackets())
	}
	chain.claim(v)
	o, _ = chain.OUI(t.Context(), 1)
	if o.EscrowDC != 0 {
		t.Fatalf("escrow after the claim = %d", o.EscrowDC)
	}
	o.EscrowDC = 10
	chain.setOUI(o)
	waitCount(t, "available DC after the claim and a purchase", func() float64 { return float64(tr.Meter().Available(1)) }, 10)
}

func TestVoucherCountersSurviveRestart(t *testing.T) {
	routerKey := newKey(t)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1000, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
	lns := newTestLNS(t)
	cfg := testConfig(t, map[uint64]string{1: lns.addr()})
	cfg.VoucherInterval = 30 * time.Millisecond
	hk := newKey(t)
	chain.onboard(hk)

	check := func(v *hexproofv1.Voucher, dc, packets uint64) {
		t.Helper()
		if err := identity.VerifyMessage(routerKey.PublicKey(), identity.DomainVoucher, v); err != nil {
			t.Fatalf("voucher signature: %v", err)
		}
		if v.GetChainId() != testChainID || v.GetOui() != 1 || v.GetEpoch() != 7 || string(v.GetHotspot()) != string(hk.PublicKey()) || string(v.GetRouter()) != string(routerKey.PublicKey()) {
			t.Fatalf("voucher %v", v)
		}
		if v.GetDc() != dc || v.GetPackets() != packets {
			t.Fatalf("voucher dc=%d packets=%d, want %d and %d", v.GetDc(), v.GetPackets(), dc, packets)
		}
	}
	latest := func(h *testHotspot, packets uint64) *hexproofv1.Voucher {
		t.Helper()
		for {
			v := h.nextVoucher()
			if v.GetPackets() >= packets {
				return v
			}
		}
	}

	tr := startRouter(t, cfg, routerKey, chain)
	h := connect(t, tr.Addr().String(), hk)
	h.send(h.uplink(dataFrame(0x48000001, 1, 10), -80, 0, 1))  // 23 bytes: 1 DC
	h.send(h.uplink(dataFrame(0x48000001, 2, 40), -80, 0, 2))  // 53 bytes: 3 DC
	h.send(h.uplink(dataFrame(0x48000001, 3, 100), -80, 0, 3)) // 113 bytes: 5 DC
	check(latest(h, 3), 9, 3)
	h.cancel()
	tr.stop(t)

	if _, err := os.Stat(cfg.VoucherFile()); err != nil {
		t.Fatalf("counters file: %v", err)
	}
	tr2 := startRouter(t, cfg, routerKey, chain)
	h2 := connect(t, tr2.Addr().String(), hk)
	// On connect the restarted router resends the persisted voucher.
	check(h2.nextVoucher(), 9, 3)
	h2.send(h2.uplink(dataFrame(0x48000001, 4, 10), -80, 0, 4))
	check(latest(h2, 4), 10, 4)
	if got := tr2.Meter().Promised(1); got != 10 {
		t.Fatalf("promised after restart = %d, want 10", got)
	}
}

func TestRateLimit(t *testing.T) {
	routerKey := newKey(t)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1000, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
	lns := newTestLNS(t)
	cfg := testConfig(t, map[uint64]string{1: lns.addr()})
	cfg.RateLimit, cfg.RateBurst = 0.001, 3
	tr := startRouter(t, cfg, routerKey, chain)
	hk := newKey(t)
	chain.onboard(hk)
	h := connect(t, tr.Addr().String(), hk)
	for i := 0; i < 5; i++ {
		h.send(h.uplink(dataFrame(0x48000001, uint16(i), 1), -80, 0, uint32(i)))
	}
	waitCount(t, "rate limited", func() float64 { return tr.dropped("rate_limited") }, 2)
	waitCount(t, "bought", func() float64 { return tr.bought(1) }, 3)
}

func TestStreamLimits(t *testing.T) {
	routerKey := newKey(t)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1000, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
	lns := newTestLNS(t)
	cfg := testConfig(t, map[uint64]string{1: lns.addr()})
	cfg.MaxStreams = 1
	cfg.MaxMessageBytes = 600
	tr := startRouter(t, cfg, routerKey, chain)
	a, b := newKey(t), newKey(t)
	chain.onboard(a)
	chain.onboard(b)
	ha := connect(t, tr.Addr().String(), a)

	t.Run("stream count", func(t *testing.T) {
		h, resp, err := openStream(t, tr.Addr().String(), b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !containsAll(resp.GetRefused().GetReason(), "limit") {
			t.Fatalf("second stream: %v, want a refusal for the stream limit", resp)
		}
		if _, err := h.st.Recv(); status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("second stream ended with %v", err)
		}
	})
	t.Run("message size", func(t *testing.T) {
		up := ha.uplink(make([]byte, 700), -80, 0, 1)
		ha.send(up)
		select {
		case err := <-ha.ended:
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("oversized message: stream ended with %v, want ResourceExhausted", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("oversized message did not end the stream")
		}
	})
}

func TestReconnectReplacesSession(t *testing.T) {
	tr, chain, a, _, _ := twoOUIs(t)
	hk := newKey(t)
	chain.onboard(hk)
	old := connect(t, tr.Addr().String(), hk)
	fresh := connect(t, tr.Addr().String(), hk)
	select {
	case err := <-old.ended:
		if status.Code(err) != codes.Aborted {
			t.Fatalf("old stream ended with %v, want Aborted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("old stream still open")
	}
	fresh.send(fresh.uplink(dataFrame(0x48000001, 1, 1), -80, 0, 1))
	a.waitFor("uplink on the new stream", func() bool { return len(a.ups) == 1 })
}

func TestDownlinkForOfflineHotspot(t *testing.T) {
	routerKey := newKey(t)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1000, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
	lns := newTestLNS(t)
	tr := startRouter(t, testConfig(t, map[uint64]string{1: lns.addr()}), routerKey, chain)
	hk := newKey(t)
	chain.onboard(hk)
	h := connect(t, tr.Addr().String(), hk)
	h.send(h.uplink(dataFrame(0x48000001, 1, 1), -80, 0, 500))
	lns.waitFor("uplink", func() bool { return len(lns.ups) == 1 })
	h.cancel()
	waitCount(t, "sessions", func() float64 { return float64(tr.srv.Sessions()) }, 0)
	lns.pullResp(vgw.EUI(hk.Address()), 77, vgw.Downlink{Tmst: 1_000_500, FrequencyHz: 868_100_000, Modulation: "LORA", DataRate: "SF7BW125", CodingRate: "4/5", IPol: true, Data: []byte{0x60}})
	lns.waitFor("TX_ACK", func() bool { return len(lns.acks) == 1 })
	if a := lns.txAcks()[0]; a.Token != 77 || a.Outcome() != gwmp.TxAckTooLate {
		t.Fatalf("TX_ACK %+v, want TOO_LATE for token 77", a)
	}
}

func TestSurvivesChainOutage(t *testing.T) {
	routerKey := newKey(t)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1000, Config: ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, nil)})
	lns := newTestLNS(t)
	cfg := testConfig(t, map[uint64]string{1: lns.addr()})
	cfg.ChainRefresh = 10 * time.Millisecond
	tr := startRouter(t, cfg, routerKey, chain)
	known, stranger := newKey(t), newKey(t)
	chain.onboard(known)
	h := connect(t, tr.Addr().String(), known)
	h.cancel()

	chain.mu.Lock()
	chain.down = true
	chain.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // several failed refreshes

	// A hotspot seen onboarded reconnects and its uplinks are routed and paid.
	h = connect(t, tr.Addr().String(), known)
	h.send(h.uplink(dataFrame(0x48000001, 1, 1), -80, 0, 1))
	lns.waitFor("uplink during the outage", func() bool { return len(lns.ups) == 1 })
	// One the router never saw is told to retry, not that it is unknown.
	chain.onboard(stranger)
	_, resp, err := openStream(t, tr.Addr().String(), stranger, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !containsAll(resp.GetRefused().GetReason(), "retry") {
		t.Fatalf("stranger during the outage: %v", resp)
	}
}

func TestRefusesOtherChain(t *testing.T) {
	tr, chain, _, _, _ := twoOUIs(t)
	hk := newKey(t)
	chain.onboard(hk)
	st, err := hexproofv1.NewRouterServiceClient(dial(t, tr.Addr().String())).Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_Init{Init: &hexproofv1.SessionInit{Hotspot: hk.PublicKey(), ChainId: "other-chain"}}}); err != nil {
		t.Fatal(err)
	}
	resp, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if !containsAll(resp.GetRefused().GetReason(), "other-chain", testChainID) {
		t.Fatalf("response %v, want a refusal naming both chains", resp)
	}
	if _, err := st.Recv(); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("stream ended with %v", err)
	}
}

func TestFreeJoins(t *testing.T) {
	routerKey := newKey(t)
	chain := newMemChain()
	c := ouiConfig(1, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, [][2]uint64{{5, 0}})
	c.FreeJoins = true
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 0, Config: c})
	lns := newTestLNS(t)
	tr := startRouter(t, testConfig(t, map[uint64]string{1: lns.addr()}), routerKey, chain)
	hk := newKey(t)
	chain.onboard(hk)
	h := connect(t, tr.Addr().String(), hk)
	h.send(h.uplink(joinFrame(5, 1, 1), -80, 0, 1))
	h.send(h.uplink(dataFrame(0x48000001, 1, 1), -80, 0, 2))
	waitCount(t, "no_dc", func() float64 { return tr.dropped("no_dc") }, 1)
	lns.waitFor("the free join", func() bool { return len(lns.ups) == 1 })
	if got := lns.uplinks()[0].rxpk.Data[0]; got != 0x00 {
		t.Fatalf("LNS got MHDR %#x, want the join request", got)
	}
}
