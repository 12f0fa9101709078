//go:build !linux

package main

import "syscall"

// sysProcAttr: only Linux can tie the server's life to the benchmark's.
// (The RSS and CPU figures also come from /proc and read as 0 elsewhere.)
func sysProcAttr() *syscall.SysProcAttr { return nil }

func selfCPUSeconds() float64 { return 0 }
