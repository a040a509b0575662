// Package joinkeys derives LoRaWAN 1.0.x session keys after an OTAA join,
// shared by the simulated devices and the simulated network servers:
//
//	NwkSKey = aes128_encrypt(AppKey, 0x01 | JoinNonce | NetID | DevNonce | pad16)
//	AppSKey = aes128_encrypt(AppKey, 0x02 | JoinNonce | NetID | DevNonce | pad16)
//
// with the 3-byte JoinNonce (AppNonce), 3-byte NetID and 2-byte DevNonce
// little endian, as on the air (LoRaWAN 1.0.4 §6.2.5).
package joinkeys
