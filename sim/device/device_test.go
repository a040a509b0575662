package device

import (
	"errors"
	"testing"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/hexproof/hexproof/sim/joinkeys"
	"github.com/hexproof/hexproof/sim/sensor"
	"github.com/hexproof/hexproof/sim/world"
)

var (
	devEUI  = lorawan.EUI64{1, 2, 3, 4, 5, 6, 7, 8}
	joinEUI = lorawan.EUI64{8, 7, 6, 5, 4, 3, 2, 1}
	appKey  = lorawan.AES128Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	netID   = lorawan.NetID{0, 0, 0x3c}
	addr    = lorawan.DevAddr{0x78, 0, 0, 5}
	t0      = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
)

// joinAccept is what a network server answers to a join request.
func joinAccept(t *testing.T, key lorawan.AES128Key, devNonce uint16, joinNonce lorawan.JoinNonce) []byte {
	t.Helper()
	p := lorawan.PHYPayload{
		MHDR:       lorawan.MHDR{MType: lorawan.JoinAccept, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinAcceptPayload{JoinNonce: joinNonce, HomeNetID: netID, DevAddr: addr, RXDelay: 1},
	}
	if err := p.SetDownlinkJoinMIC(lorawan.JoinRequestType, joinEUI, lorawan.DevNonce(devNonce), key); err != nil {
		t.Fatal(err)
	}
	if err := p.EncryptJoinAcceptPayload(key); err != nil {
		t.Fatal(err)
	}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func joined(t *testing.T, cfg Config) *Device {
	t.Helper()
	d := New(cfg)
	f, ok := d.Step(t0)
	if !ok || f.Kind != KindJoinRequest {
		t.Fatalf("first frame %+v", f)
	}
	if _, err := d.HandleDownlink(joinAccept(t, appKey, f.DevNonce, 7), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return d
}

func ackFrame(t *testing.T, d *Device, a lorawan.DevAddr, fcnt uint32, key lorawan.AES128Key) []byte {
	t.Helper()
	p := lorawan.PHYPayload{
		MHDR:       lorawan.MHDR{MType: lorawan.UnconfirmedDataDown, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: a, FCtrl: lorawan.FCtrl{ACK: true}, FCnt: fcnt}},
	}
	if err := p.SetDownlinkDataMIC(lorawan.LoRaWAN1_0, 0, key); err != nil {
		t.Fatal(err)
	}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJoinRequestAndRetry(t *testing.T) {
	d := New(Config{DevEUI: devEUI, JoinEUI: joinEUI, AppKey: appKey, DevNonce: 41, JoinRetry: 10 * time.Second})
	f, ok := d.Step(t0)
	if !ok || f.Kind != KindJoinRequest || f.DevNonce != 41 {
		t.Fatalf("frame %+v", f)
	}
	var p lorawan.PHYPayload
	if err := p.UnmarshalBinary(f.PHYPayload); err != nil {
		t.Fatal(err)
	}
	if ok, err := p.ValidateUplinkJoinMIC(appKey); err != nil || !ok {
		t.Fatal("join request MIC does not verify with the AppKey")
	}
	jr := p.MACPayload.(*lorawan.JoinRequestPayload)
	if jr.DevEUI != devEUI || jr.JoinEUI != joinEUI || jr.DevNonce != 41 || len(f.PHYPayload) != 23 {
		t.Fatalf("join request %+v (%d bytes)", jr, len(f.PHYPayload))
	}
	if _, ok := d.Step(t0.Add(9 * time.Second)); ok {
		t.Fatal("join request repeated before the retry time")
	}
	f, ok = d.Step(t0.Add(10 * time.Second))
	if !ok || f.DevNonce != 42 {
		t.Fatalf("retry %+v: want a new DevNonce", f)
	}
	if _, err := d.Uplink([]byte{1}, false); err == nil {
		t.Fatal("uplink before join accepted")
	}
}

// In LoRaWAN 1.0.x the join accept's MIC does not cover the DevNonce, so
// a device cannot tell an accept meant for another of its requests; it
// would derive keys that do not match and its uplinks would fail the
// network's MIC check.
func TestJoinAccept(t *testing.T) {
	tests := []struct {
		name  string
		key   lorawan.AES128Key
		delay time.Duration
		want  error
	}{
		{"rx1", appKey, 5 * time.Second, nil},
		{"rx2", appKey, 6 * time.Second, nil},
		{"rx1 within tolerance", appKey, 5*time.Second + 15*time.Millisecond, nil},
		{"between windows", appKey, 5500 * time.Millisecond, ErrOutsideWindow},
		{"data window", appKey, time.Second, ErrOutsideWindow},
		{"wrong key", lorawan.AES128Key{9}, 5 * time.Second, ErrNotForMe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(Config{DevEUI: devEUI, JoinEUI: joinEUI, AppKey: appKey})
			f, _ := d.Step(t0)
			ev, err := d.HandleDownlink(joinAccept(t, tc.key, f.DevNonce, 7), tc.delay)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if d.Joined() || d.Stats().Rejected != 1 {
					t.Fatal("a refused join accept changed the device")
				}
				return
			}
			if _, err := d.HandleDownlink(joinAccept(t, appKey, f.DevNonce, 8), tc.delay); !errors.Is(err, ErrNotForMe) {
				t.Fatalf("second join accept without a join request: %v", err)
			}
			if ev.Kind != EventJoined || ev.DevAddr != addr || !d.Joined() || d.DevAddr() != addr {
				t.Fatalf("event %+v", ev)
			}
			nwk, app, _ := joinkeys.SessionKeys(appKey, 7, netID, lorawan.DevNonce(f.DevNonce))
			if gn, ga := d.SessionKeys(); gn != nwk || ga != app {
				t.Fatal("session keys differ from the derivation")
			}
		})
	}
}

func TestUplinksAreRealFrames(t *testing.T) {
	d := joined(t, Config{DevEUI: devEUI, JoinEUI: joinEUI, AppKey: appKey, ConfirmedEvery: 3, UplinkInterval: time.Minute})
	nwk, app := d.SessionKeys()
	var confirmed []uint32
	now := t0.Add(6 * time.Second)
	for i := 0; i < 7; i++ {
		f, ok := d.Step(now)
		if !ok {
			t.Fatalf("no uplink %d at %v", i, now)
		}
		if _, again := d.Step(now.Add(59 * time.Second)); again {
			t.Fatal("uplink before the interval elapsed")
		}
		now = now.Add(time.Minute)
		if f.FCnt != uint32(i) || f.Kind != KindData {
			t.Fatalf("uplink %d: %+v", i, f)
		}
		if f.Confirmed {
			confirmed = append(confirmed, f.FCnt)
		}
		var p lorawan.PHYPayload
		if err := p.UnmarshalBinary(f.PHYPayload); err != nil {
			t.Fatal(err)
		}
		mac := p.MACPayload.(*lorawan.MACPayload)
		if mac.FHDR.DevAddr != addr || *mac.FPort != sensor.FPort {
			t.Fatalf("header %+v", mac.FHDR)
		}
		if ok, err := p.ValidateUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, nwk, nwk); err != nil || !ok {
			t.Fatalf("uplink %d MIC does not verify with the NwkSKey", i)
		}
		if err := p.DecryptFRMPayload(app); err != nil {
			t.Fatal(err)
		}
		r, err := sensor.Decode(mac.FRMPayload[0].(*lorawan.DataPayload).Bytes)
		if err != nil {
			t.Fatalf("uplink %d payload: %v", i, err)
		}
		if r.BatteryMV < 2800 {
			t.Fatalf("reading %+v", r)
		}
	}
	if len(confirmed) != 2 || confirmed[0] != 2 || confirmed[1] != 5 {
		t.Fatalf("confirmed frames %v, want [2 5]", confirmed)
	}
	// Neither confirmed uplink was acked: each is counted unacked when
	// the next uplink goes out.
	if st := d.Stats(); st.Uplinks != 7 || st.Confirmed != 2 || st.Unacked != 2 || d.AwaitingAck() {
		t.Fatalf("stats %+v awaiting %v", st, d.AwaitingAck())
	}
}

func TestAcks(t *testing.T) {
	d := joined(t, Config{DevEUI: devEUI, JoinEUI: joinEUI, AppKey: appKey})
	nwk, _ := d.SessionKeys()
	if _, err := d.Uplink([]byte{1, 2}, true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		frame []byte
		delay time.Duration
		want  error
	}{
		{"other device", ackFrame(t, d, lorawan.DevAddr{1, 2, 3, 4}, 0, nwk), time.Second, ErrNotForMe},
		{"bad mic", ackFrame(t, d, addr, 0, lorawan.AES128Key{1}), time.Second, ErrNotForMe},
		{"outside windows", ackFrame(t, d, addr, 0, nwk), 1500 * time.Millisecond, ErrOutsideWindow},
		{"garbage", []byte{0x60, 1}, time.Second, ErrNotForMe},
		{"rx1", ackFrame(t, d, addr, 0, nwk), time.Second, nil},
		{"replay", ackFrame(t, d, addr, 0, nwk), time.Second, ErrReplay},
		{"rx2 next counter", ackFrame(t, d, addr, 1, nwk), 2 * time.Second, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := d.HandleDownlink(tc.frame, tc.delay)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if err == nil && (ev.Kind != EventAck || !ev.Ack) {
				t.Fatalf("event %+v", ev)
			}
		})
	}
	// Downlinks: the join accept and the two acks.
	if st := d.Stats(); st.Acked != 1 || d.AwaitingAck() || st.Downlinks != 3 || st.Rejected != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFullFCnt(t *testing.T) {
	tests := []struct {
		last uint32
		have bool
		low  uint16
		want uint32
	}{
		{0, false, 0, 0},
		{0, false, 7, 7},
		{5, true, 6, 6},
		{5, true, 5, 5}, // a replay stays equal, for the caller to refuse
		{0xfffe, true, 1, 0x10001},
		{0x1fff0, true, 0xfff5, 0x1fff5},
	}
	for _, tc := range tests {
		if got := FullFCnt(tc.last, tc.have, tc.low); got != tc.want {
			t.Errorf("FullFCnt(%#x, %v, %#x) = %#x, want %#x", tc.last, tc.have, tc.low, got, tc.want)
		}
	}
}

func FuzzHandleDownlink(f *testing.F) {
	f.Add([]byte{0x60, 5, 0, 0, 0x78, 0x20, 0, 0, 1, 2, 3, 4}, int64(time.Second))
	f.Add([]byte{0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, int64(5*time.Second))
	f.Fuzz(func(t *testing.T, b []byte, delay int64) {
		d := New(Config{DevEUI: devEUI, JoinEUI: joinEUI, AppKey: appKey})
		d.Step(t0)
		if _, err := d.HandleDownlink(b, time.Duration(delay)); err == nil {
			t.Fatalf("random frame % x accepted", b)
		}
		if d.Joined() {
			t.Fatal("joined by a random frame")
		}
	})
}

func TestFromWorld(t *testing.T) {
	w, err := world.Generate(world.DefaultConfig(20, 6))
	if err != nil {
		t.Fatal(err)
	}
	for _, wd := range w.Devices {
		c, err := FromWorld(wd)
		if err != nil {
			t.Fatal(err)
		}
		if c.DevEUI.String() != wd.DevEUI || c.JoinEUI.String() != wd.JoinEUI || c.AppKey.String() != wd.AppKey ||
			c.DataRate != wd.DataRate || c.ConfirmedEvery != wd.ConfirmedEvery || c.UplinkInterval != wd.UplinkInterval() {
			t.Fatalf("config %+v from %+v", c, wd)
		}
		f, _ := New(c).Step(t0)
		if f.DataRate != wd.DataRate || (f.FrequencyHz != 868_100_000 && f.FrequencyHz != 868_300_000 && f.FrequencyHz != 868_500_000) {
			t.Fatalf("frame on %d Hz %s", f.FrequencyHz, f.DataRate)
		}
	}
	bad := w.Devices[0]
	bad.AppKey = "00"
	if _, err := FromWorld(bad); err == nil {
		t.Fatal("bad app key accepted")
	}
}

func TestChannelsSpread(t *testing.T) {
	d := joined(t, Config{DevEUI: devEUI, JoinEUI: joinEUI, AppKey: appKey})
	seen := map[uint64]int{}
	for i := 0; i < 60; i++ {
		f, err := d.Uplink([]byte{1}, false)
		if err != nil {
			t.Fatal(err)
		}
		seen[f.FrequencyHz]++
	}
	if len(seen) != 3 {
		t.Fatalf("channels used: %v", seen)
	}
}
