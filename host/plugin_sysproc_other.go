//go:build !linux

package host

import "syscall"

// pluginSysProcAttr: without a parent-death signal, the plugin's own watch
// of its parent ends it when the host dies.
func pluginSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
