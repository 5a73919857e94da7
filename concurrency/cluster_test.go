package concurrency_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/concurrency"
	"github.com/metastore/metastore/host/hosttest"
)

// The raft leader is killed while a lock is held and a waiter waits, and
// while a candidate campaigns: clients move to the other members, sessions
// stay alive, and the lock and the leadership pass on as before.
func TestLeaderChange(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			ms := hosttest.StartCluster(t, 3, srv.opts(t)...)
			eps := make([]string, len(ms))
			for i, m := range ms {
				eps[i] = m.Endpoint()
			}
			c := hosttest.NewClient(t, eps...)
			ctx := testCtx(t, testTimeout)

			holder := concurrency.NewMutex(newSession(t, c, concurrency.WithTTL(10)), "leader-change")
			require.NoError(t, holder.Lock(ctx))
			waiter := concurrency.NewMutex(newSession(t, c, concurrency.WithTTL(10)), "leader-change")
			locked := result(func() error { return waiter.Lock(ctx) })
			leader := concurrency.NewElection(newSession(t, c, concurrency.WithTTL(10)), "leader-change-election")
			require.NoError(t, leader.Campaign(ctx, "first"))
			candidate := concurrency.NewElection(newSession(t, c, concurrency.WithTTL(10)), "leader-change-election")
			campaigned := result(func() error { return candidate.Campaign(ctx, "second") })
			waitKeys(t, c, "leader-change/", 2)
			waitKeys(t, c, "leader-change-election/", 2)

			raftLeader(t, c, ms).Kill()
			blocked(t, locked, 500*time.Millisecond)
			require.NoError(t, retry(ctx, func(ctx context.Context) error { return holder.Unlock(ctx) }))
			require.NoError(t, recvErr(t, locked, 15*time.Second))
			require.NoError(t, waiter.Check(ctx))
			blocked(t, campaigned, 100*time.Millisecond)
			require.NoError(t, retry(ctx, func(ctx context.Context) error { return leader.Resign(ctx) }))
			require.NoError(t, recvErr(t, campaigned, 15*time.Second))
			got, err := candidate.Leader(ctx)
			require.NoError(t, err)
			assert.Equal(t, "second", string(got.Kvs[0].Value))
			require.NoError(t, waiter.Unlock(ctx))
			require.NoError(t, candidate.Resign(ctx))
			assert.Empty(t, keys(t, c, "leader-change"))
		})
	}
}

// raftLeader returns the member that leads the raft group.
func raftLeader(t *testing.T, c *clientv3.Client, ms []*hosttest.Process) *hosttest.Process {
	t.Helper()
	ctx := testCtx(t, 10*time.Second)
	for _, m := range ms {
		st, err := c.Status(ctx, m.Endpoint())
		require.NoError(t, err)
		if st.Header.MemberId == st.Leader {
			return m
		}
	}
	t.Fatal("no member leads")
	return nil
}

// retry calls f until it succeeds or ctx is done, each attempt bounded by
// 2s: a request in flight to a member that died fails, and the next goes to
// another member.
func retry(ctx context.Context, f func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := f(actx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
