package main

import "syscall"

// sysProcAttr makes the kernel kill a server if the comparison dies, so an
// interrupted run leaves nothing behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
