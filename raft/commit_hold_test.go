package raft

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3/raftpb"
)

func appMsg(to, term, index, commit uint64, entries int) *raftpb.Message {
	m := &raftpb.Message{Type: raftpb.MsgApp.Enum(), To: new(to), Term: new(term), Index: new(index), Commit: new(commit)}
	for i := range entries {
		m.Entries = append(m.Entries, &raftpb.Entry{Index: new(index + uint64(i) + 1)})
	}
	return m
}

func heartbeatMsg(to, term, commit uint64) *raftpb.Message {
	return &raftpb.Message{Type: raftpb.MsgHeartbeat.Enum(), To: new(to), Term: new(term), Commit: new(commit)}
}

func TestCommitHoldsReplaceHeldAppendsOnlyWithOnesThatTellMore(t *testing.T) {
	h := newCommitHolds(time.Hour)
	entries := appMsg(2, 1, 5, 5, 1)
	commit3 := appMsg(3, 1, 6, 6, 0)
	beat := heartbeatMsg(2, 1, 5)
	require.Equal(t, []*raftpb.Message{entries, beat}, h.filter([]*raftpb.Message{entries, commit3, beat}, true, 0),
		"an append with entries and a heartbeat go at once, an append of a commit index alone waits")
	require.NotNil(t, h.expired())

	next := appMsg(3, 1, 6, 7, 1)
	require.Equal(t, []*raftpb.Message{next}, h.filter([]*raftpb.Message{next}, true, 0), "the next append carries the commit index")
	require.Nil(t, h.expired(), "nothing held, nothing to wait for")

	for _, tc := range []struct {
		name string
		then *raftpb.Message
	}{
		{"a heartbeat that tells less", heartbeatMsg(3, 1, 7)},
		{"an append below the held one's index", appMsg(3, 1, 4, 8, 1)},
		{"an append with an older commit index", appMsg(3, 1, 8, 7, 1)},
	} {
		held := appMsg(3, 1, 8, 8, 0)
		require.Empty(t, h.filter([]*raftpb.Message{held}, true, 0))
		require.Equal(t, []*raftpb.Message{tc.then}, h.filter([]*raftpb.Message{tc.then}, true, 0), tc.name)
		require.NotNil(t, h.expired(), "%s: the held append stays held", tc.name)
		require.Equal(t, []*raftpb.Message{held}, h.release(), tc.name)
	}

	stale := appMsg(3, 1, 8, 8, 0)
	require.Empty(t, h.filter([]*raftpb.Message{stale}, true, 0))
	newTerm := appMsg(3, 2, 8, 8, 1)
	require.Equal(t, []*raftpb.Message{newTerm}, h.filter([]*raftpb.Message{newTerm}, true, 0), "a later term drops the held append")
	require.Nil(t, h.expired())

	first, lower := appMsg(3, 1, 8, 8, 0), appMsg(3, 1, 6, 8, 0)
	require.Empty(t, h.filter([]*raftpb.Message{first}, true, 0))
	require.Equal(t, []*raftpb.Message{first}, h.filter([]*raftpb.Message{lower}, true, 0), "one held append per follower")
	require.Equal(t, []*raftpb.Message{lower}, h.release())

	held := appMsg(3, 1, 8, 8, 0)
	require.Empty(t, h.filter([]*raftpb.Message{held}, true, 0))
	beat3 := heartbeatMsg(3, 1, 8)
	require.Equal(t, []*raftpb.Message{beat3}, h.filter([]*raftpb.Message{beat3}, true, 0), "a heartbeat that tells as much")

	commit := appMsg(3, 1, 9, 9, 0)
	require.Equal(t, []*raftpb.Message{commit}, h.filter([]*raftpb.Message{commit}, false, 0), "a member that does not lead holds nothing")
	require.Equal(t, []*raftpb.Message{commit}, newCommitHolds(-1).filter([]*raftpb.Message{commit}, true, 0), "holding turned off")
}

func TestCommitHoldsReleaseWhenDue(t *testing.T) {
	h := newCommitHolds(10 * time.Millisecond)
	a, b := appMsg(2, 1, 5, 5, 0), appMsg(3, 1, 5, 5, 0)
	require.Empty(t, h.filter([]*raftpb.Message{a, b}, true, 0))
	select {
	case <-h.expired():
	case <-time.After(10 * time.Second):
		t.Fatal("the held appends never fell due")
	}
	got := h.release()
	require.ElementsMatch(t, []*raftpb.Message{a, b}, got)
	require.Nil(t, h.expired())
	require.Empty(t, h.release())
}

// A follower whose own proposal is committed is told at once: its client
// waits for its apply.
func TestCommitHoldsDoNotHoldAForwardersCommit(t *testing.T) {
	h := newCommitHolds(time.Hour)
	h.noteForwarded(2)
	h.noteForwarded(2)
	require.Empty(t, h.filter(nil, true, 9), "the Ready that appends the forwarded entries, up to 9")
	h.noteForwarded(2)
	require.Empty(t, h.filter(nil, true, 12), "more of them, up to 12, before the first commit")

	before := appMsg(2, 1, 12, 8, 0)
	require.Empty(t, h.filter([]*raftpb.Message{before}, true, 0), "commit below the forwarded entries: held")
	covers := appMsg(2, 1, 12, 9, 0)
	other := appMsg(3, 1, 12, 9, 0)
	require.Equal(t, []*raftpb.Message{covers}, h.filter([]*raftpb.Message{covers, other}, true, 0),
		"the commit of its first entries goes at once (and replaces the held one); the other follower's waits")

	between := appMsg(2, 1, 12, 11, 0)
	require.Empty(t, h.filter([]*raftpb.Message{between}, true, 0), "below the next forwarded entries: held")
	rest := appMsg(2, 1, 12, 12, 0)
	require.Equal(t, []*raftpb.Message{rest}, h.filter([]*raftpb.Message{rest}, true, 0), "the commit of the next ones goes at once")

	later := appMsg(2, 1, 12, 13, 0)
	require.Empty(t, h.filter([]*raftpb.Message{later}, true, 0), "told all, the follower awaits nothing more")

	h.noteForwarded(2)
	require.Empty(t, h.filter(nil, true, 20))
	require.Empty(t, h.filter(nil, false, 0), "a member that stops leading forgets what followers await")
	require.Empty(t, h.awaits)
}

// In a cluster with a leader that holds commit indexes for an hour, the
// followers still learn them (from heartbeats and from the next append),
// and a follower that forwarded a proposal is sent its commit at once.
func TestLeaderHoldsCommitOnlyAppends(t *testing.T) {
	c := newTestCluster(t, func(cfg *Config) { cfg.CommitHold = time.Hour })
	leadID := waitLeader(t, c.running()...)
	lead := c.net.node(leadID)
	proposeAndWait(t, lead, "warm-up")

	var mu sync.Mutex
	var sent []*raftpb.Message
	c.net.mu.Lock()
	c.net.sent = func(m *raftpb.Message) {
		if m.GetFrom() == leadID && m.GetType() == raftpb.MsgApp {
			mu.Lock()
			sent = append(sent, m)
			mu.Unlock()
		}
	}
	c.net.mu.Unlock()
	// toldCommit reports whether the leader sent member to an append
	// without entries that carried a commit index of at least index.
	toldCommit := func(to, index uint64) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(sent, func(m *raftpb.Message) bool {
			return m.GetTo() == to && len(m.GetEntries()) == 0 && m.GetCommit() >= index
		})
	}
	indexOf := func(id uint64, data string) uint64 {
		a := c.appliers[id]
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, e := range a.entries {
			if string(e.GetData()) == data {
				return e.GetIndex()
			}
		}
		t.Fatalf("%q not applied on member %d", data, id)
		return 0
	}

	proposeAndWait(t, lead, "from the leader")
	idx := indexOf(leadID, "from the leader")
	for _, n := range c.running() {
		require.NoError(t, n.WaitApplied(testContext(t), idx), "member %d learns the commit", n.MemberID())
		if n.MemberID() != leadID {
			require.False(t, toldCommit(n.MemberID(), idx), "member %d: the commit-only append is held", n.MemberID())
		}
	}

	f := c.follower()
	proposeAndWait(t, f, "from a follower")
	idx = indexOf(f.MemberID(), "from a follower")
	require.Eventually(t, func() bool { return toldCommit(f.MemberID(), idx) }, 10*time.Second, time.Millisecond,
		"the follower that forwarded the proposal is sent its commit")
	for _, n := range c.running() {
		if id := n.MemberID(); id != leadID && id != f.MemberID() {
			require.NoError(t, n.WaitApplied(testContext(t), idx))
			require.False(t, toldCommit(id, idx), "member %d forwarded nothing: its commit is held", id)
		}
	}
}
