//go:build !linux

package procfs

import "syscall"

// KillWithParent: only Linux can tie a server's life to the benchmark's.
func KillWithParent() *syscall.SysProcAttr { return nil }
