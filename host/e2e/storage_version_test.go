package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// TestStorageVersionIsEtcds: the storage version a member reports in its
// status, and a snapshot of it carries ("Server version" of etcdctl
// snapshot save), are what etcd of the API version MetaStore speaks
// reports: restore tools choose by them.
func TestStorageVersionIsEtcds(t *testing.T) {
	etcd, metastore := servers(t)
	serverVersion := regexp.MustCompile(`Server version (\S+)`)
	var status, snapshot []string
	for i, p := range []*hosttest.Process{etcd, metastore} {
		// etcd migrates its storage version a moment after it starts
		// serving, once it has decided the cluster version, a minor
		// version at a time (its log: 3.5.0, then 3.6.0, then 3.7.0);
		// until then its status and snapshots carry an older version or
		// none. Wait until it is that of the server's minor version.
		var version string
		require.Eventually(t, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			st, err := p.Client(t).Status(ctx, p.Endpoint())
			if err != nil {
				return false
			}
			version = st.StorageVersion
			minor := strings.Join(strings.SplitN(st.Version, ".", 3)[:2], ".")
			return strings.HasPrefix(version, minor+".")
		}, 20*time.Second, 100*time.Millisecond, "%s reports the storage version of its minor version", []string{"etcd", "MetaStore"}[i])
		status = append(status, version)
		out, err := p.Etcdctl(t, "snapshot", "save", filepath.Join(t.TempDir(), "snap.db"))
		require.NoError(t, err, out)
		got := serverVersion.FindStringSubmatch(out)
		require.NotNil(t, got, "etcdctl snapshot save says the server version: %s", out)
		snapshot = append(snapshot, got[1])
	}
	require.Equal(t, status[0], status[1], "storage version in status, etcd then MetaStore")
	require.Equal(t, snapshot[0], snapshot[1], "server version of a snapshot, etcd then MetaStore")
	require.Equal(t, status[0], snapshot[0])
}
