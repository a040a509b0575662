package sensor

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/hexproof/hexproof/sim/internal/detrand"
)

// FPort is the application port the readings are sent on.
const FPort = 2

// Size is the encoded reading's length.
const Size = 8

// Reading is one sensor sample.
type Reading struct {
	TemperatureC float64 `json:"temperature_c"`
	HumidityPct  float64 `json:"humidity_pct"`
	PressureHPa  float64 `json:"pressure_hpa"`
	BatteryMV    int     `json:"battery_mv"`
	Tamper       bool    `json:"tamper"`
}

// Encode packs a reading, saturating values that do not fit.
func Encode(r Reading) []byte {
	b := make([]byte, Size)
	t := math.Round(r.TemperatureC * 100)
	binary.BigEndian.PutUint16(b[0:2], uint16(int16(math.Max(math.MinInt16, math.Min(math.MaxInt16, t)))))
	b[2] = byte(math.Max(0, math.Min(255, math.Round(r.HumidityPct*2))))
	binary.BigEndian.PutUint16(b[3:5], uint16(math.Max(0, math.Min(math.MaxUint16, math.Round(r.PressureHPa*10)))))
	binary.BigEndian.PutUint16(b[5:7], uint16(max(0, min(math.MaxUint16, r.BatteryMV))))
	if r.Tamper {
		b[7] |= 1
	}
	return b
}

// Decode unpacks a reading.
func Decode(b []byte) (Reading, error) {
	if len(b) != Size {
		return Reading{}, fmt.Errorf("sensor payload of %d bytes, want %d", len(b), Size)
	}
	if b[7]&^1 != 0 {
		return Reading{}, fmt.Errorf("sensor payload status %#x has unknown bits", b[7])
	}
	return Reading{
		TemperatureC: float64(int16(binary.BigEndian.Uint16(b[0:2]))) / 100,
		HumidityPct:  float64(b[2]) / 2,
		PressureHPa:  float64(binary.BigEndian.Uint16(b[3:5])) / 10,
		BatteryMV:    int(binary.BigEndian.Uint16(b[5:7])),
		Tamper:       b[7]&1 != 0,
	}, nil
}

// Sample is the reading device seed sends as its n-th uplink: a daily
// temperature cycle with noise, humidity moving against it, pressure
// drifting, and a battery slowly draining. The same seed and n give the
// same reading.
func Sample(seed uint64, n uint32, at float64) Reading {
	r := detrand.New(detrand.Hash(seed, uint64(n)))
	// at is the time of day in hours (0-24).
	day := math.Sin((at - 9) / 24 * 2 * math.Pi)
	base := 12 + 4*detrand.Unit(detrand.Mix(seed))
	return Reading{
		TemperatureC: math.Round((base+6*day+r.Normal()*0.3)*100) / 100,
		HumidityPct:  math.Round((65-15*day+r.Normal()*2)*2) / 2,
		PressureHPa:  math.Round((1013+8*math.Sin(float64(n)/500)+r.Normal()*0.5)*10) / 10,
		BatteryMV:    max(2800, 3600-int(n/50)),
		Tamper:       r.Float64() < 0.001,
	}
}
