package e2e

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// Under a Type=notify unit (NOTIFY_SOCKET set), a member tells systemd
// READY=1 once it serves clients, as etcd does, and STOPPING=1 when it
// shuts down.
func TestSystemdNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sock.Close() })
	next := func() string {
		t.Helper()
		require.NoError(t, sock.SetReadDeadline(time.Now().Add(30*time.Second)))
		buf := make([]byte, 256)
		n, err := sock.Read(buf)
		require.NoError(t, err)
		return string(buf[:n])
	}

	m := hosttest.StartMember(t, hosttest.WithEnv("NOTIFY_SOCKET="+path))
	require.Equal(t, "READY=1", next())
	_, err = m.Etcdctl(t, "put", "k", "v")
	require.NoError(t, err, "the member serves once it said so")
	require.NoError(t, m.Stop())
	require.Equal(t, "STOPPING=1", next())
}
