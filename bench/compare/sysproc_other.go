//go:build !linux

package main

import "syscall"

// sysProcAttr: only Linux can tie a server's life to the comparison's.
// (The RSS and CPU figures also come from /proc and read as 0 elsewhere.)
func sysProcAttr() *syscall.SysProcAttr { return nil }
