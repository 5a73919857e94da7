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

func TestElection(t *testing.T) {
	eachServer(t, func(t *testing.T, m *hosttest.Process) {
		c := m.Client(t)
		t.Run("campaign, proclaim, observe, resign", func(t *testing.T) { testElectionLifecycle(t, c) })
		t.Run("no leader and not leader", func(t *testing.T) { testElectionErrors(t, c) })
		t.Run("campaign again keeps the place", func(t *testing.T) { testElectionRecampaign(t, c) })
		t.Run("cancel while campaigning leaves no key", func(t *testing.T) { testElectionCancel(t, c) })
		t.Run("failover when the leader's session expires", func(t *testing.T) { testElectionFailover(t, c) })
	})
}

// observed reads the next value from an Observe channel.
func observed(t *testing.T, ch <-chan *clientv3.GetResponse) string {
	t.Helper()
	select {
	case resp, ok := <-ch:
		require.True(t, ok, "Observe channel closed")
		return string(resp.Kvs[0].Value)
	case <-time.After(10 * time.Second):
		t.Fatal("nothing observed within 10s")
		return ""
	}
}

func testElectionLifecycle(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	a := concurrency.NewElection(newSession(t, c), "lifecycle")
	b := concurrency.NewElection(newSession(t, c), "lifecycle")
	watcher := concurrency.NewElection(newSession(t, c), "lifecycle")
	octx, stop := context.WithCancel(ctx)
	defer stop()
	obs := watcher.Observe(octx)

	require.NoError(t, a.Campaign(ctx, "a1"))
	assert.Equal(t, "a1", observed(t, obs))
	leader, err := b.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, "a1", string(leader.Kvs[0].Value))
	assert.Equal(t, a.Key(), string(leader.Kvs[0].Key))
	assert.Equal(t, leader.Kvs[0].CreateRevision, a.Rev())

	bLeads := result(func() error { return b.Campaign(ctx, "b1") })
	blocked(t, bLeads, 200*time.Millisecond)
	require.NoError(t, a.Proclaim(ctx, "a2"))
	assert.Equal(t, "a2", observed(t, obs))
	require.NoError(t, a.Check(ctx))

	require.NoError(t, a.Resign(ctx))
	require.NoError(t, recvErr(t, bLeads, 10*time.Second))
	assert.Equal(t, "b1", observed(t, obs))
	assert.Greater(t, b.Rev(), a.Rev(), "the next leader's fencing token")
	require.ErrorIs(t, a.Check(ctx), concurrency.ErrElectionNotLeader)
	require.NoError(t, b.Proclaim(ctx, "b2"))
	assert.Equal(t, "b2", observed(t, obs))
	require.NoError(t, b.Resign(ctx))
	assert.Empty(t, keys(t, c, "lifecycle/"))

	stop()
	for range obs { // the channel closes when the context ends
	}
}

func testElectionErrors(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	e := concurrency.NewElection(newSession(t, c), "errors")
	_, err := e.Leader(ctx)
	require.ErrorIs(t, err, concurrency.ErrElectionNoLeader)
	require.ErrorIs(t, e.Proclaim(ctx, "x"), concurrency.ErrElectionNotLeader)
	require.NoError(t, e.Resign(ctx), "resigning when not a candidate")
	require.NoError(t, e.Campaign(ctx, "x"))
	require.NoError(t, e.Resign(ctx))
	require.ErrorIs(t, e.Proclaim(ctx, "y"), concurrency.ErrElectionNotLeader)
	_, err = e.Leader(ctx)
	require.ErrorIs(t, err, concurrency.ErrElectionNoLeader)
}

func testElectionRecampaign(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	s := newSession(t, c)
	a := concurrency.NewElection(s, "recampaign")
	require.NoError(t, a.Campaign(ctx, "first"))
	rev := a.Rev()
	again := concurrency.NewElection(s, "recampaign")
	require.NoError(t, again.Campaign(ctx, "second"))
	assert.Equal(t, rev, again.Rev(), "the same Session keeps its place")
	leader, err := a.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, "second", string(leader.Kvs[0].Value))
	assert.Len(t, keys(t, c, "recampaign/"), 1)

	resumed := concurrency.ResumeElection(s, "recampaign", a.Key(), a.Rev())
	require.NoError(t, resumed.Proclaim(ctx, "third"))
	require.NoError(t, resumed.Resign(ctx))
	assert.Empty(t, keys(t, c, "recampaign/"))
}

func testElectionCancel(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	leader := concurrency.NewElection(newSession(t, c), "cancel-election")
	require.NoError(t, leader.Campaign(ctx, "leader"))
	candidate := concurrency.NewElection(newSession(t, c), "cancel-election")
	cctx, cancel := context.WithCancel(ctx)
	campaigned := result(func() error { return candidate.Campaign(cctx, "candidate") })
	waitKeys(t, c, "cancel-election/", 2)
	cancel()
	require.ErrorIs(t, recvErr(t, campaigned, 10*time.Second), context.Canceled)
	assert.Equal(t, []string{leader.Key()}, keys(t, c, "cancel-election/"))
	assert.Empty(t, candidate.Key())
	require.NoError(t, leader.Resign(ctx))
	assert.Empty(t, keys(t, c, "cancel-election/"))
}

// The leader stops refreshing its lease; after its TTL the next candidate
// leads, observers see it, and the old leader learns it lost.
func testElectionFailover(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	ls := newSession(t, c, concurrency.WithTTL(2))
	old := concurrency.NewElection(ls, "failover")
	require.NoError(t, old.Campaign(ctx, "old"))
	next := concurrency.NewElection(newSession(t, c), "failover")
	obs := next.Observe(ctx)
	assert.Equal(t, "old", observed(t, obs))
	nextLeads := result(func() error { return next.Campaign(ctx, "next") })
	waitKeys(t, c, "failover/", 2)

	ls.Orphan()
	require.NoError(t, recvErr(t, nextLeads, 15*time.Second))
	assert.Equal(t, "next", observed(t, obs))
	require.ErrorIs(t, old.Check(ctx), concurrency.ErrElectionNotLeader)
	require.ErrorIs(t, old.Proclaim(ctx, "stale"), concurrency.ErrElectionNotLeader)
	require.NoError(t, next.Check(ctx))
	require.NoError(t, next.Resign(ctx))
}

// The server restarts while a candidate waits: it becomes leader when the
// leader resigns after the restart.
func TestElectionServerRestart(t *testing.T) {
	eachServerKind(t, func(t *testing.T, start func() *hosttest.Process) {
		m := start()
		c := m.Client(t)
		ctx := testCtx(t, testTimeout)
		leader := concurrency.NewElection(newSession(t, c), "restart-election")
		require.NoError(t, leader.Campaign(ctx, "leader"))
		candidate := concurrency.NewElection(newSession(t, c), "restart-election")
		campaigned := result(func() error { return candidate.Campaign(ctx, "candidate") })
		waitKeys(t, c, "restart-election/", 2)
		late := concurrency.NewElection(newSession(t, c), "restart-election")

		m.Kill()
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		gaveUp := result(func() error { return late.Campaign(short, "late") })
		time.Sleep(500 * time.Millisecond)
		m.Restart(t)

		require.Error(t, recvErr(t, gaveUp, 15*time.Second))
		blocked(t, campaigned, 200*time.Millisecond)
		require.NoError(t, leader.Resign(ctx))
		require.NoError(t, recvErr(t, campaigned, 15*time.Second))
		got, err := leader.Leader(ctx)
		require.NoError(t, err)
		assert.Equal(t, "candidate", string(got.Kvs[0].Value))
		assert.Equal(t, []string{candidate.Key()}, keys(t, c, "restart-election/"))
		require.NoError(t, candidate.Resign(ctx))
	})
}
