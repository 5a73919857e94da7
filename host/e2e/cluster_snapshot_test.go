package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/host/hosttest"
)

// snapshotFlags make the leader snapshot and compact its log every 100
// entries, keeping 20 for slow followers.
var snapshotFlags = hosttest.WithArgs("--snapshot-count", "100", "--snapshot-catchup-entries", "20")

// putMany writes n keys under prefix with 8 concurrent clients and
// returns the last revision written.
func putMany(t *testing.T, cli *clientv3.Client, prefix string, n int) int64 {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		last int64
	)
	ctx := ctxFor(t, 60*time.Second)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				resp, err := cli.Put(ctx, fmt.Sprintf("%s/%04d", prefix, i), fmt.Sprintf("value-%d", i))
				if !assertNoError(t, err) {
					return
				}
				mu.Lock()
				last = max(last, resp.Header.Revision)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return last
}

// writeUntilCompactedPast writes keys under prefix through cli, n at
// first, then 20 at a time, until lead has logged a raft snapshot more
// than --snapshot-catchup-entries (20, snapshotFlags) past index: a
// member whose log ends at index then needs a snapshot to catch up. A
// fixed number of writes is not enough, as the leader snapshots only what
// its engine has flushed (every 100 ms), which a burst of writes can
// outrun. It returns the last revision written.
func writeUntilCompactedPast(t *testing.T, cli *clientv3.Client, lead *hosttest.Process, prefix string, n int, index uint64) int64 {
	t.Helper()
	rev := putMany(t, cli, prefix, n)
	more := 0
	require.Eventually(t, func() bool {
		if lastSnapshotIndex(lead.Output()) > index+20 {
			return true
		}
		rev = putMany(t, cli, fmt.Sprintf("%s-%03d", prefix, more), 20)
		more++
		return false
	}, 30*time.Second, 200*time.Millisecond, "%s compacts its log past index %d", lead.Name(), index)
	return rev
}

// lastSnapshotIndex returns the index of the last raft snapshot a
// member's log output reports, 0 if none.
func lastSnapshotIndex(output string) uint64 {
	var last uint64
	for _, sn := range snapshotsTaken(output) {
		last = max(last, sn[0])
	}
	return last
}

// raftIndex returns m's last raft log index: a member stopped right after
// holds no entry past it.
func raftIndex(t *testing.T, m *hosttest.Process) uint64 {
	t.Helper()
	ctx := ctxFor(t, 10*time.Second)
	st, err := m.Client(t).Status(ctx, m.Endpoint())
	require.NoError(t, err)
	return st.RaftIndex
}

func assertNoError(t *testing.T, err error) bool {
	if err != nil {
		t.Errorf("put: %v", err)
		return false
	}
	return true
}

// requireSameState waits until every member is at rev, then checks that
// they hold the same keys and the same HashKV.
func requireSameState(t *testing.T, rev int64, ms ...*hosttest.Process) {
	t.Helper()
	for _, m := range ms {
		require.Eventually(t, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			resp, err := m.Client(t).Get(ctx, "x", clientv3.WithSerializable())
			return err == nil && resp.Header.Revision >= rev
		}, 30*time.Second, 50*time.Millisecond, "%s reaches revision %d", m.Name(), rev)
	}
	var wantHash uint32
	var wantKeys []string
	for i, m := range ms {
		ctx := ctxFor(t, 10*time.Second)
		var hash uint32
		h, err := m.Client(t).HashKV(ctx, m.Endpoint(), rev)
		if status.Code(err) == codes.Unimplemented {
			t.Log("HashKV is not served; comparing keys only")
		} else {
			require.NoError(t, err)
			hash = h.Hash
		}
		resp, err := m.Client(t).Get(ctx, "", clientv3.WithPrefix(), clientv3.WithSerializable(), clientv3.WithRev(rev))
		require.NoError(t, err)
		keys := make([]string, len(resp.Kvs))
		for j, kv := range resp.Kvs {
			keys[j] = fmt.Sprintf("%s=%s@%d/%d/%d", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version)
		}
		if i == 0 {
			wantHash, wantKeys = hash, keys
			continue
		}
		require.Equal(t, wantKeys, keys, "keys of %s at revision %d", m.Name(), rev)
		require.Equal(t, wantHash, hash, "HashKV of %s at revision %d", m.Name(), rev)
	}
}

func followersOf(lead *hosttest.Process, ms []*hosttest.Process) []*hosttest.Process {
	var out []*hosttest.Process
	for _, m := range ms {
		if m != lead {
			out = append(out, m)
		}
	}
	return out
}

func TestClusterFarBehindMemberCatchesUpViaSnapshot(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags, snapshotFlags)
	lead := leaderOf(t, ms...)
	fs := followersOf(lead, ms)
	cli := hosttest.NewClient(t, lead.Endpoint())
	putMany(t, cli, "before", 50)

	// A stopped follower misses far more than the leader keeps for slow
	// followers: at restart it needs a snapshot.
	stopped := fs[0]
	has := raftIndex(t, lead)
	require.NoError(t, stopped.Stop())
	rev := writeUntilCompactedPast(t, cli, lead, "during", 400, has)
	stopped.Start()
	stopped.WaitReady()
	requireSameState(t, rev, ms...)
	require.Contains(t, stopped.Output(), "installed a raft snapshot")

	// It restarts from the installed snapshot, whose engine state is past
	// the entries its WAL holds, and keeps up.
	stopped.Restart(t)
	rev = putMany(t, cli, "after", 30)
	requireSameState(t, rev, ms...)
}

func TestClusterWatcherFollowsMemberAcrossSnapshot(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags, snapshotFlags)
	lead := leaderOf(t, ms...)
	frozen := followersOf(lead, ms)[0]
	cli := hosttest.NewClient(t, lead.Endpoint())
	first := putMany(t, cli, "before", 20)

	// A watcher on a member that falls behind while it runs sees every
	// revision, across the snapshot that brings its member back.
	ctx := ctxFor(t, 120*time.Second)
	wch := frozen.Client(t).Watch(ctx, "", clientv3.WithPrefix(), clientv3.WithRev(first+1))
	has := raftIndex(t, lead)
	require.NoError(t, syscall.Kill(frozen.Pid(), syscall.SIGSTOP))
	thawed := false
	defer func() {
		if !thawed {
			_ = syscall.Kill(frozen.Pid(), syscall.SIGCONT)
		}
	}()
	// The leader streams to the frozen member until its peer connection
	// times out (the member's keepalives stop), and then compacts its log
	// past what the member has: the member needs a snapshot once it
	// answers again.
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; !strings.Contains(lead.Output(), `"msg":"peer unreachable"`); i++ {
		require.True(t, time.Now().Before(deadline), "the frozen member's connection never timed out")
		putMany(t, cli, fmt.Sprintf("during/%03d", i), 50)
	}
	rev := writeUntilCompactedPast(t, cli, lead, "last", 300, has)
	require.NoError(t, syscall.Kill(frozen.Pid(), syscall.SIGCONT))
	thawed = true
	requireSameState(t, rev, ms...)
	require.Contains(t, frozen.Output(), "installed a raft snapshot")

	next := first + 1
	for next <= rev {
		select {
		case resp, ok := <-wch:
			require.True(t, ok, "watch closed at revision %d", next)
			require.NoError(t, resp.Err())
			for _, ev := range resp.Events {
				require.Equal(t, next, ev.Kv.ModRevision, "events arrive in order, none missing")
				next++
			}
		case <-ctx.Done():
			t.Fatalf("watch stuck before revision %d of %d", next, rev)
		}
	}
}

// TestClusterMemberCaughtUpViaSnapshotKnowsItsLeases: a member that
// catches up through a snapshot holds the leases granted and revoked while
// it was away, so puts on those leases apply on it as on the others.
func TestClusterMemberCaughtUpViaSnapshotKnowsItsLeases(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags, snapshotFlags)
	lead := leaderOf(t, ms...)
	cli := hosttest.NewClient(t, lead.Endpoint())
	ctx := ctxFor(t, 60*time.Second)
	putMany(t, cli, "before", 50)
	gone, err := cli.Grant(ctx, 600)
	require.NoError(t, err)

	stopped := followersOf(lead, ms)[0]
	has := raftIndex(t, lead)
	require.NoError(t, stopped.Stop())
	granted, err := cli.Grant(ctx, 600)
	require.NoError(t, err)
	_, err = cli.Revoke(ctx, gone.ID)
	require.NoError(t, err)
	writeUntilCompactedPast(t, cli, lead, "during", 400, has)
	stopped.Start()
	stopped.WaitReady()
	rev := putMany(t, cli, "after", 10)
	requireSameState(t, rev, ms...)
	require.Contains(t, stopped.Output(), "installed a raft snapshot")

	resp, err := cli.Put(ctx, "leased", "v", clientv3.WithLease(granted.ID))
	require.NoError(t, err)
	requireSameState(t, resp.Header.Revision, ms...)
	for _, m := range ms {
		got, err := m.Client(t).Get(ctx, "leased", clientv3.WithSerializable())
		require.NoError(t, err)
		require.Len(t, got.Kvs, 1, "%s applied the put on the lease granted while it was away", m.Name())
		require.Equal(t, int64(granted.ID), got.Kvs[0].Lease)
	}
}
