package e2e

import (
	"context"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// In a three-member cluster users, roles and tokens are the cluster's: a
// token from one member works on the others, and a permission revoked
// through one is enforced by all, including a member restarted since.
func TestAuthAcrossMembers(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"simple", nil},
		{"jwt", []string{"--auth-token", writeJWTKeys(t, "5m")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := hosttest.StartCluster(t, 3, hosttest.WithArgs(append(append([]string(nil), authArgs...), tc.args...)...))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			c0, c1, c2 := dialRaw(t, ms[0]), dialRaw(t, ms[1]), dialRaw(t, ms[2])
			setupAlice(ctx, t, c0)

			alice, err := c1.login(ctx, "alice", "alicepw")
			require.NoError(t, err)
			for i, c := range []rawConn{c0, c1, c2} {
				require.NoError(t, c.put(ctx, alice, "/a/1"), "member %d", i)
				require.ErrorContains(t, c.put(ctx, alice, "/b/1"), "permission denied", "member %d", i)
			}

			root, err := c2.login(ctx, "root", "rootpw")
			require.NoError(t, err)
			_, err = c2.auth.RoleRevokePermission(withToken(ctx, root), &pb.AuthRoleRevokePermissionRequest{
				Role: "tenant", Key: []byte("/a/"), RangeEnd: []byte("/a0")})
			require.NoError(t, err)
			alice, err = c0.login(ctx, "alice", "alicepw")
			require.NoError(t, err)
			for i, c := range []rawConn{c0, c1, c2} {
				// A serializable read on each member, after its apply of the
				// revocation: the linearizable one cannot be stale anyway.
				require.Eventually(t, func() bool {
					_, err := c.kv.Range(withToken(ctx, alice), &pb.RangeRequest{Key: []byte("/a/1"), Serializable: true})
					return err != nil
				}, 10*time.Second, 50*time.Millisecond, "member %d", i)
				require.ErrorContains(t, c.put(ctx, alice, "/a/1"), "permission denied", "member %d", i)
			}

			require.NoError(t, ms[1].Stop())
			ms[1].Restart(t)
			c1 = dialRaw(t, ms[1])
			alice, err = c1.login(ctx, "alice", "alicepw")
			require.NoError(t, err)
			require.ErrorContains(t, c1.get(ctx, alice, "/a/1"), "permission denied")
			st, err := c1.auth.AuthStatus(ctx, &pb.AuthStatusRequest{})
			require.NoError(t, err)
			require.True(t, st.Enabled)
		})
	}
}
