package gwmp

import "github.com/hexproof/hexproof/firmware-bridge/gwmp"

// EUI is a gateway EUI.
//
// Deprecated: use gwmp.EUI64 of firmware-bridge/gwmp.
type EUI = gwmp.EUI64

// ParseEUI parses 16 hex digits.
//
// Deprecated: use gwmp.ParseEUI64 of firmware-bridge/gwmp.
func ParseEUI(s string) (EUI, error) { return gwmp.ParseEUI64(s) }
