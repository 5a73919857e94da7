package host

import (
	"net"

	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
)

// systemd's notify protocol states the member reports, as etcd does under
// a Type=notify unit.
const (
	sdReady    = "READY=1"
	sdStopping = "STOPPING=1"
)

// notifySystemd sends state to the service manager when the member runs
// under one that asked for it (NOTIFY_SOCKET in environ; a leading "@"
// names an abstract socket, which the net package understands as is). A
// failure is logged and never stops the member: it serves whether or not
// systemd heard.
func notifySystemd(lg *zap.Logger, environ []string, state string) {
	socket := config.Getenv(environ, "NOTIFY_SOCKET")
	if socket == "" {
		return
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err == nil {
		_, err = conn.Write([]byte(state))
		_ = conn.Close()
	}
	if err != nil {
		lg.Warn("failed to notify systemd", zap.String("state", state), zap.String("socket", socket), zap.Error(err))
		return
	}
	lg.Info("notified systemd", zap.String("state", state))
}
