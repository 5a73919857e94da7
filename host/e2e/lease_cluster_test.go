package e2e

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// TestLeaseTTLContinuesAcrossLeaderTransfer: the leader checkpoints
// remaining TTLs before it hands leadership over, so the new leader
// continues them; keys and expiry follow the lease.
func TestLeaseTTLContinuesAcrossLeaderTransfer(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags)
	lead := leaderOf(t, ms...)
	target := followersOf(lead, ms)[0]
	ctx := context.Background()
	cli := lead.Client(t)
	long, err := cli.Grant(ctx, 60)
	require.NoError(t, err)
	_, err = cli.Put(ctx, "long", "v", clientv3.WithLease(long.ID))
	require.NoError(t, err)
	time.Sleep(3 * time.Second)

	_, err = cli.MoveLeader(ctxFor(t, 10*time.Second), memberIDOf(t, target, ms...))
	require.NoError(t, err)
	require.Equal(t, target, leaderOf(t, ms...))

	got, err := target.Client(t).TimeToLive(ctx, long.ID, clientv3.WithAttachedKeys())
	require.NoError(t, err)
	require.Less(t, got.TTL, int64(60), "the new leader continues the TTL")
	require.Greater(t, got.TTL, int64(45))
	require.Equal(t, [][]byte{[]byte("long")}, got.Keys)

	// A follower does not count lease time: it asks the new leader.
	got, err = lead.Client(t).TimeToLive(ctx, long.ID)
	require.NoError(t, err)
	require.Greater(t, got.TTL, int64(40))

	// A short lease granted now expires on the new leader's clock, and its
	// key is gone on every member.
	short, err := target.Client(t).Grant(ctx, 3)
	require.NoError(t, err)
	_, err = target.Client(t).Put(ctx, "short", "v", clientv3.WithLease(short.ID))
	require.NoError(t, err)
	for _, m := range ms {
		mc := m.Client(t)
		require.Eventually(t, func() bool { return !keyExists(t, mc, "short") }, 15*time.Second, 100*time.Millisecond)
	}
}

// TestLeaseGrantedRightAfterLeaderChangeExpiresOnTime: the new leader
// counts lease time from the moment it leads, as etcd's does once it has
// applied its term's first entry, so a lease granted right after a leader
// change, here through a follower, expires after its TTL and not later;
// as in etcd's TestLeaseGrantTimeToLiveExpired, 3 s after a 2 s grant it
// is gone.
func TestLeaseGrantedRightAfterLeaderChangeExpiresOnTime(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags)
	ctx := context.Background()
	for round := range 3 {
		lead := leaderOf(t, ms...)
		target := followersOf(lead, ms)[0]
		_, err := lead.Client(t).MoveLeader(ctxFor(t, 10*time.Second), memberIDOf(t, target, ms...))
		require.NoError(t, err)
		l, err := lead.Client(t).Grant(ctx, 2)
		require.NoError(t, err)
		_, err = lead.Client(t).Put(ctx, "k", "v", clientv3.WithLease(l.ID))
		require.NoError(t, err)
		time.Sleep(3 * time.Second)
		require.Equal(t, target, leaderOf(t, ms...), "round %d: leadership stayed", round)
		got, err := lead.Client(t).TimeToLive(ctx, l.ID)
		require.NoError(t, err)
		require.Equal(t, int64(-1), got.TTL, "round %d: the lease expired 1 s ago", round)
		require.False(t, keyExists(t, target.Client(t), "k"), "round %d", round)
	}
}
