package sensor

import (
	"bytes"
	"testing"
)

func TestEncodeKnownBytes(t *testing.T) {
	r := Reading{TemperatureC: -5.25, HumidityPct: 40.5, PressureHPa: 1013.2, BatteryMV: 3300, Tamper: true}
	want := []byte{0xfd, 0xf3, 81, 0x27, 0x94, 0x0c, 0xe4, 1}
	if got := Encode(r); !bytes.Equal(got, want) {
		t.Fatalf("encode % x, want % x", got, want)
	}
	back, err := Decode(want)
	if err != nil || back != r {
		t.Fatalf("decode %+v %v", back, err)
	}
}

func TestEncodeSaturates(t *testing.T) {
	r, err := Decode(Encode(Reading{TemperatureC: 500, HumidityPct: 200, PressureHPa: -1, BatteryMV: 1 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	if r.TemperatureC != 327.67 || r.HumidityPct != 127.5 || r.PressureHPa != 0 || r.BatteryMV != 65535 {
		t.Fatalf("%+v", r)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, b := range [][]byte{nil, make([]byte, 7), make([]byte, 9), {0, 0, 0, 0, 0, 0, 0, 2}} {
		if _, err := Decode(b); err == nil {
			t.Errorf("% x accepted", b)
		}
	}
}

func TestSampleDeterministicAndPlausible(t *testing.T) {
	if Sample(1, 5, 14) != Sample(1, 5, 14) {
		t.Fatal("same inputs, different readings")
	}
	if Sample(1, 5, 14) == Sample(2, 5, 14) {
		t.Fatal("different devices, same reading")
	}
	for n := uint32(0); n < 500; n++ {
		r := Sample(9, n, float64(n%24))
		if r.TemperatureC < -5 || r.TemperatureC > 30 || r.HumidityPct < 30 || r.HumidityPct > 100 || r.BatteryMV < 2800 {
			t.Fatalf("implausible reading %+v", r)
		}
		back, err := Decode(Encode(r))
		if err != nil || back != r {
			t.Fatalf("reading %+v does not survive encoding: %+v %v", r, back, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(Reading{TemperatureC: 21.5, HumidityPct: 50, PressureHPa: 1000, BatteryMV: 3000}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(Encode(r), b) {
			t.Fatalf("decode/encode of % x gives % x", b, Encode(r))
		}
	})
}
