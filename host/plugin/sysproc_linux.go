package plugin

import "syscall"

// sysProcAttr has the kernel kill a plugin when the host dies. The
// plugin stays in the host's process group, so signals to the group reach
// it too.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
