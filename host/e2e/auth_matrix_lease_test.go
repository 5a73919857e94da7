package e2e

import (
	"context"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stretchr/testify/require"
)

// matrixLease is a lease root attaches /a/l and /m/l to before auth is
// enabled: the lease calls need permission on the keys of the lease.
const matrixLease clientv3.LeaseID = 0x1234

func setupMatrixLease(ctx context.Context, t *testing.T, c *clientv3.Client) {
	_, err := clientv3.RetryLeaseClient(c).LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: int64(matrixLease), TTL: 600})
	require.NoError(t, err)
	for _, k := range []string{"/a/l", "/m/l"} {
		_, err = c.Put(ctx, k, "v", clientv3.WithLease(matrixLease))
		require.NoError(t, err)
	}
}

var matrixLeaseOps = []matrixOp{
	mCall("lease grant", func(ctx context.Context, c *clientv3.Client) error { _, err := c.Grant(ctx, 60); return err }),
	mCall("lease revoke own", func(ctx context.Context, c *clientv3.Client) error {
		l, err := c.Grant(ctx, 60)
		if err != nil {
			return err
		}
		_, err = c.Revoke(ctx, l.ID)
		return err
	}),
	mCall("lease keys", func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.TimeToLive(ctx, matrixLease, clientv3.WithAttachedKeys())
		return err
	}),
	mCall("lease no keys", func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.TimeToLive(ctx, matrixLease)
		return err
	}),
	mCall("lease leases", func(ctx context.Context, c *clientv3.Client) error { _, err := c.Leases(ctx); return err }),
	mCall("put with lease", func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.Put(ctx, "/m2", "v", clientv3.WithLease(matrixLease))
		return err
	}),
	mCall("txn put with lease", func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.Txn(ctx).Then(clientv3.OpPut("/a/3", "v", clientv3.WithLease(matrixLease))).Commit()
		return err
	}),
	mCall("lease keepalive", func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.KeepAliveOnce(ctx, matrixLease)
		return err
	}),
}

func TestAuthPermissionMatrixLeases(t *testing.T) {
	etcd, ms := authServers(t)
	want := runMatrix(t, etcd, matrixLeaseOps, setupMatrixLease)
	got := runMatrix(t, ms, matrixLeaseOps, setupMatrixLease)
	require.Equal(t, strings.Join(want, "\n"), strings.Join(got, "\n"))
	require.Contains(t, got, `rw lease keys: etcdserver: permission denied`)
	require.Contains(t, got, `root lease keys: ok`)
}
