package hosttest

import "syscall"

// sysProcAttr puts the member in a process group of its own, so that cleanup
// can kill the processes it starts, and has the kernel kill it if the test
// binary dies first.
//
// Pdeathsig fires when the OS thread that started the child exits, not only
// the process. Go threads exit only when a goroutine ends while locked with
// runtime.LockOSThread, so do not start members from such a goroutine (for
// example one that has entered a network namespace).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
