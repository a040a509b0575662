// Package sensor is the payload format of the simulated sensor devices
// (what the devices put in FRMPayload and the simulated network servers
// decode into JSON fields), and the deterministic readings they send.
//
// Format (FPort 2), 8 bytes, big endian:
//
//	0-1  temperature  int16, 0.01 °C
//	2    humidity     uint8, 0.5 %RH
//	3-4  pressure     uint16, 0.1 hPa
//	5-6  battery      uint16, mV
//	7    status       uint8, bit 0: tamper
package sensor
