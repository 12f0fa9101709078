package procfs

import "syscall"

// KillWithParent makes the kernel kill a started server if the benchmark
// dies, so an interrupted run leaves nothing behind.
func KillWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
