//go:build !linux

package host

import "errors"

// setSocketOptions refuses the socket options elsewhere than on Linux.
func (c *ServerConfig) setSocketOptions(uintptr) error {
	if c.SocketReusePort || c.SocketReuseAddress {
		return errors.New("--socket-reuse-port and --socket-reuse-address are supported on Linux only")
	}
	return nil
}
