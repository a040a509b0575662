package devnet

import "syscall"

// childAttr makes validator processes die with the devnet (even on kill -9
// of the devnet itself), so none is left behind holding its ports, and puts
// them in their own process group so that Ctrl-C on the terminal reaches
// only the devnet, which stops them last.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
