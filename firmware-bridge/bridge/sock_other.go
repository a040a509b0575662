//go:build !linux

package bridge

import "net"

// isInet4 is false off Linux: batching is a Linux feature (recvmmsg).
func isInet4(*net.UDPConn) bool { return false }
