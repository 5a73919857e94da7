package host

import (
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/metastore/metastore/host/config"
)

// setSocketOptions sets SO_REUSEPORT (another socket may then bind the
// same address and port, and the kernel spreads connections between
// them) and SO_REUSEADDR (binding while old connections on the port are
// in TIME_WAIT) as asked, before the socket binds.
func setSocketOptions(c *config.ServerConfig, fd uintptr) error {
	if c.SocketReusePort {
		if err := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return err
		}
	}
	if c.SocketReuseAddress {
		return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	}
	return nil
}
