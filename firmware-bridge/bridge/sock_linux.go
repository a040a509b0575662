package bridge

import (
	"net"
	"syscall"
)

// isInet4 reports whether conn is an AF_INET socket, on which x/net's
// batch calls (recvmmsg/sendmmsg with IPv4 addresses) work.
func isInet4(conn *net.UDPConn) bool {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	dom := 0
	if err := rc.Control(func(fd uintptr) {
		dom, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_DOMAIN)
	}); err != nil {
		return false
	}
	return err == nil && dom == syscall.AF_INET
}
