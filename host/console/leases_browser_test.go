package console_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// The leases page counts a lease's TTL down and lists its keys; revoking
// it there deletes them.
func TestConsoleLeasesRevoke(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	ctx := context.Background()
	lease, err := cli.Grant(ctx, 600)
	require.NoError(t, err)
	other, err := cli.Grant(ctx, 3600)
	require.NoError(t, err)
	for _, k := range []string{"/sessions/worker-1", "/sessions/worker-2"} {
		_, err := cli.Put(ctx, k, "alive", clientv3.WithLease(lease.ID))
		require.NoError(t, err)
	}
	_, err = cli.Put(ctx, "/locks/db", "worker-3", clientv3.WithLease(other.ID))
	require.NoError(t, err)
	id := fmt.Sprintf("%x", int64(lease.ID))

	p := newPage(t)
	p.open(m.Endpoint() + "/ui/leases")
	row := fmt.Sprintf(`tr[data-lease="%s"]`, id)
	p.waitText(row, "/sessions/worker-2")
	p.waitText(row+" td[data-ttl]", " s")
	first := eval[string](p, `document.querySelector('`+row+` td[data-ttl]').textContent`)
	p.waitFor(`document.querySelector('` + row + ` td[data-ttl]').textContent !== ` + jsString(first))
	p.screenshot("leases", true)

	p.click(row + ` [data-testid="revoke"]`)
	p.click(row + ` [data-testid="confirm-yes"]`)
	p.waitFor(`document.querySelector("#leases-table") && !document.querySelector('` + row + `')`)
	resp, err := cli.Get(ctx, "/sessions/", clientv3.WithPrefix())
	require.NoError(t, err)
	require.Empty(t, resp.Kvs, "the revoked lease's keys are still there")
	resp, err = cli.Get(ctx, "/locks/db")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "another lease's key went too")
	p.waitText(fmt.Sprintf(`tr[data-lease="%x"]`, int64(other.ID)), "/locks/db")
}
