package beacon

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"

	hexproofv1 "github.com/hexproof/hexproof/proto/hexproof/v1"
)

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// TestDeriveVector pins derivation version 1: a change here changes every
// beacon on the network and breaks hotspots running older agents.
func TestDeriveVector(t *testing.T) {
	entropy, hotspot := seq(0, 32), seq(0xA0, 32)
	tests := []struct {
		region hexproofv1.Region
		freq   uint64
		dr     string
	}{
		{hexproofv1.Region_REGION_EU868, 868500000, "SF8BW125"},
		{hexproofv1.Region_REGION_US915, 904900000, "SF8BW125"},
	}
	const payload = "dbbcfe066cbfe274d028096e2534094271a6a36f5d8fc8b8a38578f8dc530c79795212f380ae0b3c7053639775d030affe2d26"
	for _, tt := range tests {
		t.Run(tt.region.String(), func(t *testing.T) {
			b, err := Derive(entropy, hotspot, tt.region)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b.Payload); got != payload {
				t.Errorf("payload %s, want %s", got, payload)
			}
			if b.FrequencyHz != tt.freq || b.DataRate != tt.dr {
				t.Errorf("got %d %s, want %d %s", b.FrequencyHz, b.DataRate, tt.freq, tt.dr)
			}
		})
	}
}

// TestDeriveMatchesSpec recomputes the documented formula independently.
func TestDeriveMatchesSpec(t *testing.T) {
	for i := 0; i < 50; i++ {
		entropy := sha256.Sum256([]byte{byte(i), 1})
		hotspot := sha256.Sum256([]byte{byte(i), 2})
		var want []byte
		for ctr := byte(0); ctr < 2; ctr++ {
			in := append([]byte("hexproof/beacon-payload/v1\x00"), entropy[:]...)
			in = append(in, hotspot[:]...)
			h := sha256.Sum256(append(in, ctr))
			want = append(want, h[:]...)
		}
		want = want[:51]
		b, err := Derive(entropy[:], hotspot[:], hexproofv1.Region_REGION_AU915)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Payload, want) {
			t.Fatalf("case %d: payload %x, want %x", i, b.Payload, want)
		}
		sel := sha256.Sum256(append([]byte("hexproof/beacon-channel/v1\x00"), want...))
		var ch, dr uint64
		for k := 0; k < 8; k++ {
			ch = ch<<8 | uint64(sel[k])
			dr = dr<<8 | uint64(sel[8+k])
		}
		p, _ := PlanFor(hexproofv1.Region_REGION_AU915)
		if b.FrequencyHz != p.Channels[ch%uint64(len(p.Channels))] || b.DataRate != p.DataRates[dr%uint64(len(p.DataRates))] {
			t.Fatalf("case %d: got %d %s", i, b.FrequencyHz, b.DataRate)
		}
	}
}

func TestDeriveSensitivity(t *testing.T) {
	e, h := seq(0, 32), seq(0xA0, 32)
	base, _ := Derive(e, h, hexproofv1.Region_REGION_EU868)
	e2 := append([]byte(nil), e...)
	e2[31] ^= 1
	h2 := append([]byte(nil), h...)
	h2[0] ^= 1
	for name, in := range map[string][2][]byte{"entropy": {e2, h}, "hotspot": {e, h2}} {
		b, err := Derive(in[0], in[1], hexproofv1.Region_REGION_EU868)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(b.Payload, base.Payload) {
			t.Errorf("%s change did not change the payload", name)
		}
	}
}

func TestDeriveErrors(t *testing.T) {
	tests := []struct {
		name    string
		entropy []byte
		hotspot []byte
		region  hexproofv1.Region
		want    error
	}{
		{"empty entropy", nil, seq(0, 32), hexproofv1.Region_REGION_EU868, ErrBadEntropy},
		{"long entropy", seq(0, 65), seq(0, 32), hexproofv1.Region_REGION_EU868, ErrBadEntropy},
		{"short hotspot", seq(0, 32), seq(0, 31), hexproofv1.Region_REGION_EU868, ErrBadHotspot},
		{"unspecified region", seq(0, 32), seq(0, 32), hexproofv1.Region_REGION_UNSPECIFIED, ErrBadRegion},
		{"unknown region", seq(0, 32), seq(0, 32), hexproofv1.Region(99), ErrBadRegion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Derive(tt.entropy, tt.hotspot, tt.region); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// TestPlans checks every region of the proto has a plan whose channels and
// data rates the band accepts, that the integer EIRP is band's value rounded
// down, and that Derive reaches every channel and data rate.
func TestPlans(t *testing.T) {
	for v := range hexproofv1.Region_name {
		r := hexproofv1.Region(v)
		if r == hexproofv1.Region_REGION_UNSPECIFIED {
			continue
		}
		t.Run(r.String(), func(t *testing.T) {
			p, ok := PlanFor(r)
			if !ok {
				t.Fatal("no plan")
			}
			b, err := band.GetConfig(specs[r].name, false, lorawan.DwellTimeNoLimit)
			if err != nil {
				t.Fatal(err)
			}
			if want := int32(math.Floor(float64(b.GetDefaultMaxUplinkEIRP()))); p.MaxEIRPDBm != want {
				t.Errorf("max EIRP %d, band says %d", p.MaxEIRPDBm, want)
			}
			for _, f := range p.Channels {
				if _, err := b.GetUplinkChannelIndex(uint32(f), true); err != nil {
					t.Errorf("channel %d not a default uplink channel: %v", f, err)
				}
			}
			seenF, seenDR := map[uint64]bool{}, map[string]bool{}
			for i := 0; i < 400; i++ {
				e := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
				bc, err := Derive(e[:], seq(1, 32), r)
				if err != nil {
					t.Fatal(err)
				}
				seenF[bc.FrequencyHz], seenDR[bc.DataRate] = true, true
			}
			if len(seenF) != len(p.Channels) || len(seenDR) != len(p.DataRates) {
				t.Errorf("400 beacons used %d/%d channels and %d/%d data rates", len(seenF), len(p.Channels), len(seenDR), len(p.DataRates))
			}
		})
	}
}

func TestTxPowerDBm(t *testing.T) {
	tests := []struct {
		region hexproofv1.Region
		gain   int32
		want   int32
	}{
		{hexproofv1.Region_REGION_EU868, 0, 16},
		{hexproofv1.Region_REGION_EU868, 12, 14},  // 16 - 1.2 = 14.8 -> 14
		{hexproofv1.Region_REGION_EU868, 20, 14},  // exact
		{hexproofv1.Region_REGION_EU868, -15, 17}, // lossy antenna: 17.5 -> 17
		{hexproofv1.Region_REGION_US915, 80, 22},  // 30 - 8 = 22
		{hexproofv1.Region_REGION_US915, 400, -10},
		{hexproofv1.Region_REGION_US915, 405, -11}, // -10.5 -> -11
		{hexproofv1.Region_REGION_CN470, 0, 19},
		{hexproofv1.Region_REGION_UNSPECIFIED, 0, 0},
	}
	for _, tt := range tests {
		if got := TxPowerDBm(tt.region, tt.gain); got != tt.want {
			t.Errorf("TxPowerDBm(%v, %d) = %d, want %d", tt.region, tt.gain, got, tt.want)
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	b, _ := Derive(seq(0, 32), seq(0xA0, 32), hexproofv1.Region_REGION_EU868)
	phy := Frame(b.Payload)
	if len(phy) != 52 || phy[0] != 0xE0 {
		t.Fatalf("frame %x", phy)
	}
	p, ok := ParseFrame(phy)
	if !ok || !bytes.Equal(p, b.Payload) {
		t.Fatalf("ParseFrame = %x %v", p, ok)
	}
	for _, bad := range [][]byte{nil, phy[:51], append(append([]byte(nil), phy...), 0), append([]byte{0x40}, phy[1:]...)} {
		if _, ok := ParseFrame(bad); ok {
			t.Errorf("ParseFrame(%x) accepted", bad)
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add(Frame(seq(0, 51)))
	f.Add([]byte{0xE0})
	f.Fuzz(func(t *testing.T, phy []byte) {
		p, ok := ParseFrame(phy)
		if ok && !bytes.Equal(Frame(p), phy) {
			t.Fatalf("round trip %x -> %x", phy, Frame(p))
		}
	})
}
