//go:build !linux

package host

import (
	"errors"

	"github.com/metastore/metastore/host/config"
)

// setSocketOptions refuses the socket options elsewhere than on Linux.
func setSocketOptions(c *config.ServerConfig, _ uintptr) error {
	if c.SocketReusePort || c.SocketReuseAddress {
		return errors.New("--socket-reuse-port and --socket-reuse-address are supported on Linux only")
	}
	return nil
}
