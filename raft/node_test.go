package raft

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

func TestSingleNodeProposeApply(t *testing.T) {
	a := &testApplier{}
	n := startNode(t, testConfig(t, t.TempDir()), a, 0)
	waitLeader(t, n)

	var want []string
	for i := range 50 {
		want = append(want, fmt.Sprintf("v%d", i))
	}
	proposeAndWait(t, n, want...)
	require.Equal(t, want, a.normal())

	st := n.Status()
	require.True(t, st.IsLeader)
	require.False(t, st.IsLearner)
	require.EqualValues(t, 1, st.ID)
	require.EqualValues(t, 1, st.Leader)
	require.NotZero(t, st.Term)
	require.GreaterOrEqual(t, st.CommitIndex, uint64(51))
	require.Equal(t, st.AppliedIndex, n.AppliedIndex())
	require.EqualValues(t, 1, n.MemberID())
	require.EqualValues(t, 0xc1, n.ClusterID())

	// The bootstrap conf change reached the applier with the peer's URLs.
	a.mu.Lock()
	first := a.entries[0]
	a.mu.Unlock()
	require.Equal(t, raftpb.EntryConfChange, first.GetType())
	var cc raftpb.ConfChange
	require.NoError(t, protoUnmarshal(first.GetData(), &cc))
	p, err := PeerFromContext(cc.GetContext())
	require.NoError(t, err)
	require.Equal(t, Peer{ID: 1, URLs: []string{"http://127.0.0.1:2380"}}, p)
}

func TestAppliedIndicesAreIncreasingAndSkipEmpty(t *testing.T) {
	a := &testApplier{}
	n := startNode(t, testConfig(t, t.TempDir()), a, 0)
	proposeAndWait(t, n, "a", "b", "c")
	idx := a.indexes()
	for i := 1; i < len(idx); i++ {
		require.Greater(t, idx[i], idx[i-1])
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.entries {
		if e.GetType() == raftpb.EntryNormal {
			require.NotEmpty(t, e.GetData(), "empty entries are not applied")
		}
	}
	require.Greater(t, n.AppliedIndex(), idx[len(idx)-1]-1)
}

func TestRestartRedeliversEntriesAboveAppliedIndex(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	a := &testApplier{}
	n, err := Start(cfg, a, 0)
	require.NoError(t, err)
	proposeAndWait(t, n, "a", "b", "c", "d", "e")
	n.Stop()

	a.mu.Lock()
	all := a.entries
	a.mu.Unlock()
	// Pretend the engine persisted up to "b" only.
	var applied uint64
	for _, e := range all {
		if string(e.GetData()) == "b" {
			applied = e.GetIndex()
		}
	}
	require.NotZero(t, applied)

	cfg.Peers = nil // ignored for an existing WAL anyway
	a2 := &testApplier{}
	n2 := startNode(t, cfg, a2, applied)
	require.NoError(t, n2.WaitApplied(testContext(t), all[len(all)-1].GetIndex()))
	require.Equal(t, []string{"c", "d", "e"}, a2.normal())
	for _, i := range a2.indexes() {
		require.Greater(t, i, applied, "nothing at or below the applied index is passed")
	}
	// The restarted single member leads again and takes writes.
	waitLeader(t, n2)
	proposeAndWait(t, n2, "f")
	require.Equal(t, []string{"c", "d", "e", "f"}, a2.normal())
}

func TestStartChecks(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	a := &testApplier{}
	n, err := Start(cfg, a, 0)
	require.NoError(t, err)
	proposeAndWait(t, n, "a")
	last := n.AppliedIndex()
	n.Stop()

	tests := []struct {
		name    string
		mutate  func(*Config)
		dir     string
		applied uint64
		wantErr error
	}{
		{"applied index past the WAL", nil, dir, last + 100, ErrIndexMismatch},
		{"engine has data but no WAL", nil, t.TempDir(), 5, ErrIndexMismatch},
		{"member id mismatch", func(c *Config) { c.MemberID = 2 }, dir, 0, ErrIDMismatch},
		{"cluster id mismatch", func(c *Config) { c.ClusterID = 9 }, dir, 0, ErrIDMismatch},
		{"no member id for a new WAL", func(c *Config) { c.MemberID = 0 }, t.TempDir(), 0, ErrInvalidConfig},
		{"no WAL dir", func(c *Config) { c.WALDir = "" }, "", 0, ErrInvalidConfig},
		{"member not among peers", func(c *Config) { c.MemberID = 7 }, t.TempDir(), 0, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(t, tt.dir)
			if tt.mutate != nil {
				tt.mutate(&c)
			}
			_, err := Start(c, &testApplier{}, tt.applied)
			require.ErrorIs(t, err, tt.wantErr)
		})
	}

	// Zero ids take the WAL's values.
	c := testConfig(t, dir)
	c.MemberID, c.ClusterID = 0, 0
	n = startNode(t, c, &testApplier{}, last)
	require.EqualValues(t, 1, n.MemberID())
	require.EqualValues(t, 0xc1, n.ClusterID())
}

func TestGroupCommit(t *testing.T) {
	a := &testApplier{}
	n := startNode(t, testConfig(t, t.TempDir()), a, 0)
	waitLeader(t, n)
	proposeAndWait(t, n, "warm-up")

	const writers, perWriter = 64, 32
	before := n.WALSyncCount()
	ctx := testContext(t)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				require.NoError(t, n.Propose(ctx, fmt.Appendf(nil, "w%d-%d", w, i)))
			}
		})
	}
	wg.Wait()
	require.Eventually(t, func() bool { return len(a.normal()) == writers*perWriter+1 }, 10*time.Second, time.Millisecond)
	syncs := n.WALSyncCount() - before
	t.Logf("%d proposals, %d fsyncs", writers*perWriter, syncs)
	require.Less(t, syncs, uint64(writers*perWriter/4), "proposals share fsyncs")
}

func TestReadIndexBatching(t *testing.T) {
	n := startNode(t, testConfig(t, t.TempDir()), &testApplier{}, 0)
	waitLeader(t, n)
	proposeAndWait(t, n, "a")

	const readers = 200
	ctx := testContext(t)
	before := n.reads.requests.Load()
	commit := n.Status().CommitIndex
	// Hold the raft loop so the readers pile up behind the first request,
	// as they do behind a network round trip to the leader.
	resume := pauseRaftLoop(t, n)
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(readers)
	for range readers {
		wg.Go(func() {
			started.Done()
			idx, err := n.ReadIndex(ctx)
			require.NoError(t, err)
			require.GreaterOrEqual(t, idx, commit)
			require.NoError(t, n.WaitApplied(ctx, idx))
		})
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond)
	resume()
	wg.Wait()
	requests := n.reads.requests.Load() - before
	t.Logf("%d ReadIndex calls, %d raft requests", readers, requests)
	require.LessOrEqual(t, requests, uint64(3))
}

func TestReadIndexSeesEarlierWrites(t *testing.T) {
	a := &testApplier{}
	n := startNode(t, testConfig(t, t.TempDir()), a, 0)
	waitLeader(t, n)
	ctx := testContext(t)
	for i := range 20 {
		v := fmt.Sprintf("v%d", i)
		require.NoError(t, n.Propose(ctx, []byte(v)))
		// Wait for the write to apply, as a client waits for its response.
		require.Eventually(t, func() bool {
			got := a.normal()
			return len(got) > 0 && got[len(got)-1] == v
		}, 5*time.Second, time.Millisecond)
		idx, err := n.ReadIndex(ctx)
		require.NoError(t, err)
		require.NoError(t, n.WaitApplied(ctx, idx))
		require.GreaterOrEqual(t, n.AppliedIndex(), a.indexes()[len(a.indexes())-1])
	}
}

func TestStopped(t *testing.T) {
	n, err := Start(testConfig(t, t.TempDir()), &testApplier{}, 0)
	require.NoError(t, err)
	waitLeader(t, n)
	n.Stop()
	n.Stop()
	ctx := testContext(t)
	require.ErrorIs(t, n.Propose(ctx, []byte("x")), ErrStopped)
	_, err = n.ReadIndex(ctx)
	require.ErrorIs(t, err, ErrStopped)
	require.ErrorIs(t, n.WaitApplied(ctx, n.AppliedIndex()+1), ErrStopped)
	require.ErrorIs(t, n.Step(ctx, &raftpb.Message{}), ErrStopped)
	require.NoError(t, n.Err())
	select {
	case <-n.Done():
	default:
		t.Fatal("Done is not closed after Stop")
	}
}

// TestStopFailsWaitsInProgress: reads and waits already blocked when the
// node stops (here a member of three that never finds a quorum) return
// ErrStopped, not only calls made after.
func TestStopFailsWaitsInProgress(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Peers = append(cfg.Peers, Peer{ID: 2, URLs: []string{"http://127.0.0.1:1"}}, Peer{ID: 3, URLs: []string{"http://127.0.0.1:2"}})
	n, err := Start(cfg, &testApplier{}, 0)
	require.NoError(t, err)
	ctx := testContext(t)
	errs := make(chan error, 3)
	for range 2 {
		go func() {
			_, err := n.ReadIndex(ctx)
			errs <- err
		}()
	}
	go func() { errs <- n.WaitApplied(ctx, 1000) }()
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, errs, "nothing answers without a leader")
	n.Stop()
	for range 3 {
		require.ErrorIs(t, <-errs, ErrStopped)
	}
}

func TestContextErrorsAsIs(t *testing.T) {
	n := startNode(t, testConfig(t, t.TempDir()), &testApplier{}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, n.WaitApplied(ctx, 1<<40), context.Canceled)
	_, err := n.ReadIndex(ctx)
	require.ErrorIs(t, err, context.Canceled)
}

func TestLeaderChanged(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	n, err := Start(cfg, &testApplier{}, 0)
	require.NoError(t, err)
	t.Cleanup(n.Stop)
	ch := n.LeaderChanged()
	if n.Status().Leader == 0 {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("no leader change notified")
		}
	}
	require.EqualValues(t, 1, waitLeader(t, n))
}

// TestProposeQueuedToldOfDrop: queued proposals raft drops (no leader)
// are each reported to their dropped callback, which is how the API fails
// the request at once instead of at its timeout; proposals stepped into
// raft together are dropped together.
func TestProposeQueuedToldOfDrop(t *testing.T) {
	c := newTestCluster(t, nil)
	f := c.follower()
	for _, id := range []uint64{1, 2, 3} {
		if c.net.node(id) != f {
			c.stop(id)
		}
	}
	require.Eventually(t, func() bool { return f.Status().Leader == 0 }, 5*time.Second, 10*time.Millisecond)
	const n = 50
	got := make(chan error, n)
	release := holdRaftLoop(t, f)
	for range n {
		require.NoError(t, f.ProposeQueued(testContext(t), []byte("x"), nil, func(err error) { got <- err }))
	}
	close(release)
	for i := range n {
		select {
		case err := <-got:
			require.ErrorIs(t, err, ErrProposalDropped)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d drops were reported", i, n)
		}
	}
}

// TestBatchedProposalsKeepTheirOrder: proposals queued while the raft
// loop is busy are appended in the order they were made.
func TestBatchedProposalsKeepTheirOrder(t *testing.T) {
	a := &testApplier{}
	n := startNode(t, testConfig(t, t.TempDir()), a, 0)
	proposeAndWait(t, n, "warm-up")
	var want []string
	release := holdRaftLoop(t, n)
	for i := range 500 {
		want = append(want, strconv.Itoa(i))
		require.NoError(t, n.ProposeQueued(testContext(t), []byte(want[i]), nil, func(err error) { t.Errorf("proposal %d dropped: %v", i, err) }))
	}
	close(release)
	require.Eventually(t, func() bool { return len(a.normal()) == len(want)+1 }, 10*time.Second, time.Millisecond)
	require.Equal(t, want, a.normal()[1:])
}

// holdRaftLoop keeps n's raft loop busy until the returned channel is
// closed, so that what is queued meanwhile is taken at once.
func holdRaftLoop(t *testing.T, n *Node) chan struct{} {
	t.Helper()
	held, release := make(chan struct{}), make(chan struct{})
	require.True(t, n.control(func(*etcdraft.RawNode) { close(held); <-release }))
	<-held
	return release
}

// TestCommittedEntriesApplyWhileTheNextAreWritten holds the WAL's second
// fsync, that of an entry proposed while the first was being written:
// the first, committed and already durable, is applied meanwhile, and
// the second only once its fsync returns.
func TestCommittedEntriesApplyWhileTheNextAreWritten(t *testing.T) {
	a := &testApplier{}
	n := startNode(t, testConfig(t, t.TempDir()), a, 0)
	proposeAndWait(t, n, "ready")

	first, second := make(chan struct{}), make(chan struct{})
	var syncs atomic.Int32
	held := make(chan struct{}, 2)
	n.ObserveWALSync(func(time.Duration) {
		switch syncs.Add(1) {
		case 1:
			held <- struct{}{}
			<-first
		case 2:
			held <- struct{}{}
			<-second
		}
	})
	t.Cleanup(func() { n.ObserveWALSync(nil) })
	defer close(second)

	ctx := testContext(t)
	require.NoError(t, n.ProposeQueued(ctx, []byte("a"), nil, func(error) {}))
	<-held // a's fsync returned; the raft loop waits here
	require.NoError(t, n.ProposeQueued(ctx, []byte("b"), nil, func(error) {}))
	close(first)
	<-held // b's fsync returned; the raft loop waits here
	require.Eventually(t, func() bool { return slices.Contains(a.normal(), "a") },
		5*time.Second, time.Millisecond, "a committed entry waited for the next entry's write")
	require.NotContains(t, a.normal(), "b", "an entry applied before its write returned")
	second <- struct{}{}
	require.Eventually(t, func() bool { return slices.Contains(a.normal(), "b") }, 5*time.Second, time.Millisecond)
}

// TestCommittedEntriesAppliedFirstOnlyWhenDurable: a Ready's committed
// entries go to the apply loop before its write only when the log already
// holds them, not when its own entries replace those at their indexes (a
// follower dropping an earlier leader's uncommitted tail) or are them.
func TestCommittedEntriesAppliedFirstOnlyWhenDurable(t *testing.T) {
	entries := func(lo, hi, term uint64) []*raftpb.Entry {
		var out []*raftpb.Entry
		for i := lo; i <= hi; i++ {
			out = append(out, &raftpb.Entry{Index: proto.Uint64(i), Term: proto.Uint64(term), Type: raftpb.EntryNormal.Enum()})
		}
		return out
	}
	st := etcdraft.NewMemoryStorage()
	require.NoError(t, st.Append(entries(1, 10, 1)))
	n := &Node{storage: st}
	for _, c := range []struct {
		name      string
		committed []*raftpb.Entry
		written   []*raftpb.Entry
		want      bool
	}{
		{"already written, nothing new", entries(5, 7, 1), nil, true},
		{"already written, new entries after them", entries(5, 7, 1), entries(11, 12, 1), true},
		{"a new leader's entries replace the tail", entries(5, 7, 2), entries(5, 7, 2), false},
		{"the new entries are the committed ones", entries(11, 11, 1), entries(11, 11, 1), false},
		{"committed past the log", entries(10, 11, 1), nil, false},
		{"new entries replace some below the last committed", entries(5, 9, 1), entries(8, 12, 2), false},
	} {
		rd := etcdraft.Ready{CommittedEntries: c.committed, Entries: c.written}
		require.Equal(t, c.want, n.committedAreDurable(rd), c.name)
	}
	cc := entries(6, 6, 1)
	cc[0].Type = raftpb.EntryConfChangeV2.Enum()
	require.False(t, n.committedAreDurable(etcdraft.Ready{CommittedEntries: append(entries(5, 5, 1), cc...)}), "a conf change")
}
