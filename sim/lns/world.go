package lns

import (
	"encoding/hex"
	"fmt"

	"github.com/hexproof/hexproof/sim/world"
)

// ConfigFromWorld is the network server configuration of one company of a
// world: its NetID, DevAddr range and devices. The caller adds the topic
// prefix and timings.
func ConfigFromWorld(w *world.World, company string) (Config, error) {
	var c Config
	var comp *world.Company
	for i := range w.Companies {
		if w.Companies[i].Name == company {
			comp = &w.Companies[i]
		}
	}
	if comp == nil {
		return c, fmt.Errorf("company %q is not in the world", company)
	}
	c.Company = comp.Name
	if err := decodeHex(comp.NetID, c.NetID[:]); err != nil {
		return c, fmt.Errorf("company %s net_id: %w", company, err)
	}
	if err := decodeHex(comp.DevAddrStart, c.DevAddrStart[:]); err != nil {
		return c, fmt.Errorf("company %s dev_addr_start: %w", company, err)
	}
	c.DevAddrCount = comp.DevAddrCount
	for _, d := range w.Devices {
		if d.Company != company {
			continue
		}
		var k DeviceKeys
		if err := decodeHex(d.DevEUI, k.DevEUI[:]); err != nil {
			return c, fmt.Errorf("device %s dev_eui: %w", d.Name, err)
		}
		if err := decodeHex(d.JoinEUI, k.JoinEUI[:]); err != nil {
			return c, fmt.Errorf("device %s join_eui: %w", d.Name, err)
		}
		if err := decodeHex(d.AppKey, k.AppKey[:]); err != nil {
			return c, fmt.Errorf("device %s app_key: %w", d.Name, err)
		}
		c.Devices = append(c.Devices, k)
	}
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
