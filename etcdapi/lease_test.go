package etcdapi

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/etcdapi/compactor"
	"github.com/metastore/metastore/etcdapi/lease"
	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/bbolt"
)

// fakeClock is a settable time source for the lessor.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// leaseServer starts a Server over a bbolt engine in dir (a restart when
// dir holds one) with leases loaded from it, the given clock, and the
// lease loop running, as the leader.
func leaseServer(t *testing.T, dir string, clock *fakeClock, cfg lease.Config) (*Server, storage.Engine) {
	t.Helper()
	lg := zaptest.NewLogger(t)
	ctx := context.Background()
	eng := bbolt.New()
	opened, err := eng.Open(ctx, storage.OpenRequest{Dir: dir})
	require.NoError(t, err)
	store, err := mvcc.New(lg, eng, opened.ConsistentIndex, mvcc.Config{FlushInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	s := testServer(t, store, Deps{Log: lg, Leases: cfg, Now: clock.Now})
	s.Start(&localRaft{s: s, index: opened.ConsistentIndex}, nil, compactor.Config{})
	require.True(t, s.syncLeaseRole())
	t.Cleanup(func() {
		_ = s.StopLeases(context.Background())
		s.Stop()
		_ = s.store.Close()
		_ = eng.Close(context.Background())
	})
	return s, eng
}

// stopServer stops s as a member does: leases (checkpointing), the
// server, the store, the engine.
func stopServer(t *testing.T, s *Server, eng storage.Engine) {
	t.Helper()
	require.NoError(t, s.StopLeases(context.Background()))
	s.Stop()
	require.NoError(t, s.store.Close())
	require.NoError(t, eng.Close(context.Background()))
}

// remainingOf reads the checkpointed remaining TTL of lease id.
func remainingOf(s *Server, id int64) int64 {
	remaining, _ := s.leases.Remaining(id)
	return remaining
}

func grant(t *testing.T, s *Server, id, ttl int64) *pb.LeaseGrantResponse {
	t.Helper()
	resp, err := s.Lease().LeaseGrant(context.Background(), &pb.LeaseGrantRequest{ID: id, TTL: ttl})
	require.NoError(t, err)
	return resp
}

func putLeased(t *testing.T, s *Server, key string, id int64) {
	t.Helper()
	_, err := s.KV().Put(context.Background(), &pb.PutRequest{Key: []byte(key), Value: []byte("v"), Lease: id})
	require.NoError(t, err)
}

func timeToLive(t *testing.T, s *Server, id int64) *pb.LeaseTimeToLiveResponse {
	t.Helper()
	resp, err := s.Lease().LeaseTimeToLive(context.Background(), &pb.LeaseTimeToLiveRequest{ID: id, Keys: true})
	require.NoError(t, err)
	return resp
}

func keyStrings(keys [][]byte) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = string(k)
	}
	return out
}

func TestLeaseGrantErrors(t *testing.T) {
	s, _ := leaseServer(t, t.TempDir(), newFakeClock(), lease.Config{MinTTL: 2})
	ls := s.Lease()
	ctx := context.Background()
	tests := []struct {
		name    string
		req     *pb.LeaseGrantRequest
		wantTTL int64
		wantErr error
	}{
		{"client-chosen id", &pb.LeaseGrantRequest{ID: 7, TTL: 10}, 10, nil},
		{"existing id", &pb.LeaseGrantRequest{ID: 7, TTL: 10}, 0, rpctypes.ErrGRPCLeaseExist},
		{"below the minimum", &pb.LeaseGrantRequest{ID: 8, TTL: 1}, 2, nil},
		{"negative", &pb.LeaseGrantRequest{ID: 9, TTL: -5}, 2, nil},
		{"largest", &pb.LeaseGrantRequest{ID: 10, TTL: lease.MaxTTL}, lease.MaxTTL, nil},
		{"too large", &pb.LeaseGrantRequest{ID: 11, TTL: lease.MaxTTL + 1}, 0, rpctypes.ErrGRPCLeaseTTLTooLarge},
		{"server-chosen id", &pb.LeaseGrantRequest{TTL: 5}, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := ls.LeaseGrant(ctx, tt.req)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantTTL, resp.TTL)
			require.Positive(t, resp.ID)
			require.Equal(t, int64(1), resp.Header.Revision)
		})
	}
	list, err := ls.LeaseLeases(ctx, &pb.LeaseLeasesRequest{})
	require.NoError(t, err)
	require.Len(t, list.Leases, 5)
	require.Equal(t, int64(7), list.Leases[0].ID, "sorted by ID")
	_, err = ls.LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: 99})
	require.ErrorIs(t, err, rpctypes.ErrGRPCLeaseNotFound)
	require.Equal(t, int64(-1), timeToLive(t, s, 99).TTL)
}

func TestLeaseKeysFollowPutsAndDeletes(t *testing.T) {
	s, _ := leaseServer(t, t.TempDir(), newFakeClock(), lease.Config{})
	ctx := context.Background()
	grant(t, s, 1, 100)
	grant(t, s, 2, 100)
	putLeased(t, s, "a", 1)
	putLeased(t, s, "b", 1)
	putLeased(t, s, "c", 1)
	putLeased(t, s, "b", 2) // moves b
	putLeased(t, s, "c", 0) // detaches c
	_, err := s.KV().Put(ctx, &pb.PutRequest{Key: []byte("a"), Value: []byte("x"), IgnoreLease: true})
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, keyStrings(timeToLive(t, s, 1).Keys))
	require.Equal(t, []string{"b"}, keyStrings(timeToLive(t, s, 2).Keys))

	_, err = s.KV().DeleteRange(ctx, &pb.DeleteRangeRequest{Key: []byte("b")})
	require.NoError(t, err)
	require.Empty(t, timeToLive(t, s, 2).Keys, "a deleted key is detached")
	putLeased(t, s, "b", 0)
	putLeased(t, s, "d", 1)

	rev := s.store.Rev()
	resp, err := s.Lease().LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: 1})
	require.NoError(t, err)
	require.Equal(t, rev+1, resp.Header.Revision, "all keys deleted at one revision")
	got, err := s.KV().Range(ctx, &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}})
	require.NoError(t, err)
	require.Len(t, got.Kvs, 2)
	require.Equal(t, "b", string(got.Kvs[0].Key))
	require.Equal(t, "c", string(got.Kvs[1].Key))

	_, err = s.KV().Put(ctx, &pb.PutRequest{Key: []byte("z"), Lease: 1})
	require.ErrorIs(t, err, rpctypes.ErrGRPCLeaseNotFound)
	resp2, err := s.Lease().LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: 2})
	require.NoError(t, err)
	require.Equal(t, rev+1, resp2.Header.Revision, "revoking a lease without keys writes no revision")
}

func TestLeaseExpiryAndRenewal(t *testing.T) {
	clock := newFakeClock()
	s, _ := leaseServer(t, t.TempDir(), clock, lease.Config{})
	grant(t, s, 1, 10)
	grant(t, s, 2, 10)
	putLeased(t, s, "k1", 1)
	putLeased(t, s, "k2", 2)

	clock.advance(6 * time.Second)
	ttl, err := s.renewLease(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, int64(10), ttl)
	require.Equal(t, int64(4), timeToLive(t, s, 2).TTL)
	require.Equal(t, int64(10), timeToLive(t, s, 2).GrantedTTL)

	clock.advance(5 * time.Second)
	require.Equal(t, []int64{2}, s.leases.Expired(10))
	require.Empty(t, s.leases.Expired(10), "an expired lease is offered once, then after RevokeRetry")
	s.revokeExpired(2)
	require.Equal(t, int64(-1), timeToLive(t, s, 2).TTL)
	ttl, err = s.renewLease(context.Background(), 2)
	require.ErrorIs(t, err, ErrLeaseNotFound)
	require.Zero(t, ttl)
	require.Equal(t, []string{"k1"}, keyStrings(timeToLive(t, s, 1).Keys))
}

func TestLeaseExpiryIsRateLimited(t *testing.T) {
	clock := newFakeClock()
	s, _ := leaseServer(t, t.TempDir(), clock, lease.Config{})
	for id := int64(1); id <= 30; id++ {
		grant(t, s, id, 5)
	}
	clock.advance(time.Minute)
	first := s.leases.Expired(20)
	require.Len(t, first, 20)
	require.Len(t, s.leases.Expired(20), 10)
}

func TestLeaseExpiredBeforeRenewalIsNotRenewed(t *testing.T) {
	clock := newFakeClock()
	s, _ := leaseServer(t, t.TempDir(), clock, lease.Config{})
	grant(t, s, 1, 5)
	clock.advance(6 * time.Second)
	done := make(chan error, 1)
	go func() {
		_, err := s.renewLease(context.Background(), 1)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("renewal of an expired lease returned %v before the revocation", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.revokeExpired(1)
	require.ErrorIs(t, <-done, ErrLeaseNotFound)
}

// TestLeaseTTLSurvivesRestart checks the checkpoint rule: a graceful stop
// checkpoints every lease, a crash keeps the last periodic checkpoint, and
// a renewal resets a checkpoint before it answers.
func TestLeaseTTLSurvivesRestart(t *testing.T) {
	const extension = 2 * time.Second
	cfg := lease.Config{CheckpointInterval: time.Minute, PromoteExtension: extension}
	t.Run("graceful stop", func(t *testing.T) {
		dir, clock := t.TempDir(), newFakeClock()
		s, eng := leaseServer(t, dir, clock, cfg)
		grant(t, s, 1, 30) // shorter than the interval
		putLeased(t, s, "k", 1)
		clock.advance(10*time.Second + 300*time.Millisecond)
		stopServer(t, s, eng)

		s2, _ := leaseServer(t, dir, clock, cfg)
		got := timeToLive(t, s2, 1)
		require.Equal(t, int64(20+2), got.TTL, "ceil(19.7s) checkpointed, plus the extension")
		require.Equal(t, int64(30), got.GrantedTTL)
		require.Equal(t, []string{"k"}, keyStrings(got.Keys))
	})
	t.Run("crash keeps the periodic checkpoint", func(t *testing.T) {
		dir, clock := t.TempDir(), newFakeClock()
		s, eng := leaseServer(t, dir, clock, cfg)
		grant(t, s, 1, 300) // longer than the interval: checkpointed
		grant(t, s, 2, 30)  // shorter: not
		clock.advance(100 * time.Second)
		require.Equal(t, 1, s.leases.CheckpointDue())
		require.Eventually(t, func() bool { return remainingOf(s, 1) == 200 }, 5*time.Second, time.Millisecond)
		clock.advance(50 * time.Second)
		// A crash: the store is flushed, but nothing is checkpointed.
		s.leaseRun.stopped.Store(true)
		s.leaseRun.stopOnce.Do(func() { close(s.leaseRun.stop) })
		s.leaseRun.wg.Wait()
		s.Stop()
		require.NoError(t, s.store.Close())
		require.NoError(t, eng.Close(context.Background()))

		s2, _ := leaseServer(t, dir, clock, cfg)
		require.Equal(t, int64(202), timeToLive(t, s2, 1).TTL, "at most the interval stale")
		require.Equal(t, int64(32), timeToLive(t, s2, 2).TTL, "never checkpointed: the granted TTL")
	})
	t.Run("renewal resets the checkpoint", func(t *testing.T) {
		dir, clock := t.TempDir(), newFakeClock()
		s, _ := leaseServer(t, dir, clock, cfg)
		grant(t, s, 1, 300)
		clock.advance(100 * time.Second)
		require.Equal(t, 1, s.leases.CheckpointDue())
		ttl, err := s.renewLease(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, int64(300), ttl)
		require.Zero(t, remainingOf(s, 1), "the reset is applied before the renewal answers")
		ttl, err = s.renewLease(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, int64(300), ttl)
	})
}

// A follower does not count lease time itself; it forwards to the leader,
// and answers ErrNoLeader when no leader it knows of answers within the
// request timeout.
func TestLeaseFollowerForwardsToALeaderItKnows(t *testing.T) {
	s, _ := leaseServer(t, t.TempDir(), newFakeClock(), lease.Config{})
	grant(t, s, 1, 10)
	s.raft = followerRaft{s.raft}
	_, err := s.renewLease(context.Background(), 1)
	require.ErrorIs(t, err, ErrNotPrimary)
	_, err = s.Lease().LeaseTimeToLive(context.Background(), &pb.LeaseTimeToLiveRequest{ID: 1})
	require.ErrorIs(t, err, rpctypes.ErrGRPCNoLeader)
	require.False(t, s.leases.IsPrimary())
}

// followerRaft reports another member as the leader.
type followerRaft struct{ Raft }

func (f followerRaft) Status() RaftStatus {
	st := f.Raft.Status()
	st.Leader = 2
	return st
}

// TestLeasesFollowAnInstalledSnapshot: a member that installs a raft
// snapshot holds the snapshot's leases and their keys, not the ones it had;
// otherwise a put on a lease granted before the snapshot would be refused
// here and applied everywhere else.
func TestLeasesFollowAnInstalledSnapshot(t *testing.T) {
	ctx := context.Background()
	cfg := lease.Config{CheckpointInterval: time.Minute}
	clock := newFakeClock()
	src, srcEng := leaseServer(t, t.TempDir(), clock, cfg)
	grant(t, src, 1, 100)
	grant(t, src, 2, 100)
	putLeased(t, src, "a", 1)
	require.NoError(t, src.store.Flush(ctx))

	dst, dstEng := leaseServer(t, t.TempDir(), clock, cfg)
	grant(t, dst, 3, 100)
	putLeased(t, dst, "b", 3)

	var snap bytes.Buffer
	_, err := srcEng.Snapshot(ctx, storage.SnapshotRequest{Writer: &snap})
	require.NoError(t, err)
	require.NoError(t, dst.InstallSnapshot(ctx, func(ctx context.Context) (uint64, error) {
		resp, err := dstEng.Restore(ctx, storage.RestoreRequest{Reader: &snap})
		return resp.ConsistentIndex, err
	}))
	dst.raft.(*localRaft).index = dst.store.ConsistentIndex()

	require.Equal(t, []int64{1, 2}, dst.leases.IDs())
	require.Equal(t, []string{"a"}, keyStrings(timeToLive(t, dst, 1).Keys))
	_, err = dst.Lease().LeaseTimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: 3})
	require.NoError(t, err, "etcd answers TTL -1 for a lease it does not hold")
	require.False(t, dst.leases.Exists(3), "the lease only this member had is gone")
	putLeased(t, dst, "c", 2)
	require.Equal(t, []string{"c"}, keyStrings(timeToLive(t, dst, 2).Keys))
}
