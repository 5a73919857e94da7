package host

import (
	"context"
	"net"
	"syscall"

	"github.com/metastore/metastore/host/config"
)

// listenTCP listens on addr with the socket options of
// --socket-reuse-port and --socket-reuse-address, as etcd sets them on
// its client, peer and metrics listeners.
func listenTCP(c *config.ServerConfig, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = setSocketOptions(c, fd) }); err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}
