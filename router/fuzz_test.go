package router

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hexproof/hexproof/internal/identity"
	"github.com/hexproof/hexproof/internal/logging"
	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
	"github.com/hexproof/hexproof/router/chainview"
)

// FuzzStreamRequest feeds arbitrary stream messages to the router's
// decoding and uplink path (proto decoding, validation, LoRaWAN parsing,
// routing, dedup, signature check, DC, GWMP encoding). With resign set the
// fuzzer's uplink is signed by the session's hotspot first, so the path
// after the signature check is explored too.
func FuzzStreamRequest(f *testing.F) {
	routerKey, hk := newKey(f), newKey(f)
	chain := newMemChain()
	chain.setOUI(chainview.OUI{ID: 1, EscrowDC: 1 << 40, Config: ouiConfig(2, routerKey, [][2]uint32{{0x48000000, 0x48ffffff}}, [][2]uint64{{1, 0}})})
	chain.onboard(hk)
	lns := newTestLNS(f)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer lis.Close()
	cfg := testConfig(f, map[uint64]string{1: lns.addr()})
	r, err := New(cfg, logging.Discard(), Deps{Key: routerKey, Chain: chain, Listener: lis})
	if err != nil {
		f.Fatal(err)
	}
	if err := r.view.Refresh(context.Background()); err != nil {
		f.Fatal(err)
	}
	h := &testHotspot{t: f, key: hk}
	for _, phy := range [][]byte{dataFrame(0x48000001, 1, 10), joinFrame(1, 2, 3), dataFrame(0x26000001, 1, 0), {0xe0, 1, 2, 3, 4, 5}} {
		b, err := proto.Marshal(&hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_Uplink{Uplink: h.uplink(phy, -80, 10, 5)}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	ack, _ := proto.Marshal(&hexproofv1.StreamRequest{Msg: &hexproofv1.StreamRequest_TxAck{TxAck: &hexproofv1.TxAck{DownlinkId: 1, Status: 2, Window: 1}}})
	f.Add(ack, false)

	var hotspot [32]byte
	copy(hotspot[:], hk.PublicKey())
	f.Fuzz(func(t *testing.T, b []byte, resign bool) {
		var req hexproofv1.StreamRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			return
		}
		up := req.GetUplink()
		if up == nil {
			return
		}
		if resign {
			up.Hotspot = hk.PublicKey()
			if err := hk.SignMessage(identity.DomainUplink, up); err != nil {
				return // unknown fields: refused by the signature check too
			}
		}
		reason := r.uplink(hotspot, up, time.Now(), nil)
		if reason == "" && identity.VerifyMessage(hotspot[:], identity.DomainUplink, up) != nil {
			t.Fatal("bought an uplink whose signature does not verify")
		}
	})
}
