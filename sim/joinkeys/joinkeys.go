package joinkeys

import (
	"crypto/aes"
	"encoding/binary"
	"fmt"

	"github.com/brocaar/lorawan"
)

// SessionKeys derives the network and application session keys.
func SessionKeys(appKey lorawan.AES128Key, joinNonce lorawan.JoinNonce, netID lorawan.NetID, devNonce lorawan.DevNonce) (nwkSKey, appSKey lorawan.AES128Key, err error) {
	if joinNonce >= 1<<24 {
		return nwkSKey, appSKey, fmt.Errorf("join nonce %d does not fit 24 bits", joinNonce)
	}
	block, err := aes.NewCipher(appKey[:])
	if err != nil {
		return nwkSKey, appSKey, err
	}
	var in [16]byte
	var jn [4]byte
	binary.LittleEndian.PutUint32(jn[:], uint32(joinNonce))
	copy(in[1:4], jn[:3])
	// NetID is held big endian; on the air it is little endian.
	in[4], in[5], in[6] = netID[2], netID[1], netID[0]
	binary.LittleEndian.PutUint16(in[7:9], uint16(devNonce))
	in[0] = 0x01
	block.Encrypt(nwkSKey[:], in[:])
	in[0] = 0x02
	block.Encrypt(appSKey[:], in[:])
	return nwkSKey, appSKey, nil
}
