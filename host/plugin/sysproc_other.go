//go:build !linux

package plugin

import "syscall"

// sysProcAttr: without a parent-death signal, the plugin's own watch
// of its parent ends it when the host dies.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
