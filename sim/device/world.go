package device

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hexproof/hexproof/sim/world"
)

// FromWorld is the configuration of a world's device (LoRaWAN 1.0.x,
// EU868 default channels, its data rate, interval and confirmed ratio).
func FromWorld(w world.Device) (Config, error) {
	var c Config
	if err := decodeHex(w.DevEUI, c.DevEUI[:]); err != nil {
		return c, fmt.Errorf("device %s dev_eui: %w", w.Name, err)
	}
	if err := decodeHex(w.JoinEUI, c.JoinEUI[:]); err != nil {
		return c, fmt.Errorf("device %s join_eui: %w", w.Name, err)
	}
	if err := decodeHex(w.AppKey, c.AppKey[:]); err != nil {
		return c, fmt.Errorf("device %s app_key: %w", w.Name, err)
	}
	c.UplinkInterval = time.Duration(w.UplinkIntervalS) * time.Second
	c.ConfirmedEvery = w.ConfirmedEvery
	c.DataRate = w.DataRate
	return c, nil
}

func decodeHex(s string, dst []byte) error {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(dst) {
		return fmt.Errorf("%q is not %d hex digits", s, 2*len(dst))
	}
	copy(dst, b)
	return nil
}
