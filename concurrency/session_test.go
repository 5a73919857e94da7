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

func TestSession(t *testing.T) {
	eachServer(t, func(t *testing.T, m *hosttest.Process) {
		c := m.Client(t)
		t.Run("keepalive outlives the TTL", func(t *testing.T) { testSessionKeepAlive(t, c) })
		t.Run("close revokes the lease", func(t *testing.T) { testSessionClose(t, c) })
		t.Run("orphan leaves the lease to expire", func(t *testing.T) { testSessionOrphan(t, c) })
		t.Run("context cancellation ends it", func(t *testing.T) { testSessionContext(t, c) })
		t.Run("an existing lease is taken over", func(t *testing.T) { testSessionWithLease(t, c) })
	})
}

func ttlOf(t *testing.T, c *clientv3.Client, id clientv3.LeaseID) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.TimeToLive(ctx, id)
	require.NoError(t, err)
	return resp.TTL
}

func done(s *concurrency.Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

func testSessionKeepAlive(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	s := newSession(t, c, concurrency.WithTTL(2))
	assert.Equal(t, 2, s.TTL())
	assert.Same(t, c, s.Client())
	_, err := c.Put(ctx, "session-keepalive", "x", clientv3.WithLease(s.Lease()))
	require.NoError(t, err)
	time.Sleep(3 * time.Second) // longer than the TTL
	assert.GreaterOrEqual(t, ttlOf(t, c, s.Lease()), int64(0), "the lease expired (TTL -1)")
	resp, err := c.Get(ctx, "session-keepalive")
	require.NoError(t, err)
	assert.Len(t, resp.Kvs, 1, "the lease's key after one TTL")
	assert.False(t, done(s))
	require.NoError(t, s.Err())
}

func testSessionClose(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	s, err := concurrency.NewSession(c)
	require.NoError(t, err)
	_, err = c.Put(ctx, "session-close", "x", clientv3.WithLease(s.Lease()))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.True(t, done(s))
	assert.ErrorIs(t, s.Err(), concurrency.ErrSessionClosed)
	assert.Equal(t, int64(-1), ttlOf(t, c, s.Lease()), "a revoked lease")
	resp, err := c.Get(ctx, "session-close")
	require.NoError(t, err)
	assert.Empty(t, resp.Kvs)
	require.NoError(t, s.Close(), "closing twice")
}

func testSessionOrphan(t *testing.T, c *clientv3.Client) {
	s, err := concurrency.NewSession(c, concurrency.WithTTL(30))
	require.NoError(t, err)
	s.Orphan()
	assert.True(t, done(s))
	assert.ErrorIs(t, s.Err(), concurrency.ErrSessionClosed)
	assert.Greater(t, ttlOf(t, c, s.Lease()), int64(0), "the orphaned lease lives on")
	require.NoError(t, s.Close())
}

func testSessionContext(t *testing.T, c *clientv3.Client) {
	ctx, cancel := context.WithCancel(testCtx(t, testTimeout))
	s, err := concurrency.NewSession(c, concurrency.WithContext(ctx))
	require.NoError(t, err)
	assert.False(t, done(s))
	cancel()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Session.Done not closed after its context was cancelled")
	}
	assert.Error(t, s.Ctx().Err())
	_, err = c.Revoke(testCtx(t, 5*time.Second), s.Lease())
	require.NoError(t, err)
}

// A process that restarts keeps its leadership by taking over its lease.
func testSessionWithLease(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	first, err := concurrency.NewSession(c)
	require.NoError(t, err)
	e := concurrency.NewElection(first, "with-lease")
	require.NoError(t, e.Campaign(ctx, "v"))
	first.Orphan()

	second := newSession(t, c, concurrency.WithLease(first.Lease()))
	assert.Equal(t, first.Lease(), second.Lease())
	resumed := concurrency.ResumeElection(second, "with-lease", e.Key(), e.Rev())
	require.NoError(t, resumed.Check(ctx))
	require.NoError(t, resumed.Proclaim(ctx, "w"))
	require.NoError(t, second.Close())
	assert.Empty(t, keys(t, c, "with-lease/"))
}
