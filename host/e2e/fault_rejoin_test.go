package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// TestEmptyMemberAddedAfterSnapshotCatchesUp: a member added, empty,
// after the leader's latest snapshot needs a snapshot that includes it
// (raft refuses one whose membership leaves it out). With no writes after
// the add, nothing else would make the leader take one.
func TestEmptyMemberAddedAfterSnapshotCatchesUp(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags, snapshotFlags)
	lead := leaderOf(t, ms...)
	rev := putMany(t, lead.Client(t), "before", 350)

	f := followersOf(lead, ms)[0]
	f.Rejoin(t, lead, followersOf(f, ms)...)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := f.Client(t).Get(ctx, "before/", clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithSerializable())
		return err == nil && resp.Count == 350 && resp.Header.Revision >= rev
	}, 30*time.Second, 100*time.Millisecond, "the emptied %s catches up", f.Name())
	requireSameState(t, rev, ms...)
}
