package raft

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"
)

// testApplier records what it is given. Unless manualPersist is set, every
// applied entry counts as durable at once.
type testApplier struct {
	mu            sync.Mutex
	entries       []*raftpb.Entry
	snapshots     []*raftpb.Snapshot
	persisted     atomic.Uint64
	manualPersist bool
}

func (a *testApplier) Apply(ents []*raftpb.Entry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, ents...)
	if !a.manualPersist {
		a.persisted.Store(ents[len(ents)-1].GetIndex())
	}
}

func (a *testApplier) ApplySnapshot(snap *raftpb.Snapshot) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.snapshots = append(a.snapshots, snap)
}

func (a *testApplier) PersistedIndex() uint64 { return a.persisted.Load() }

// normal returns the data of the EntryNormal entries applied so far.
func (a *testApplier) normal() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.entries {
		if e.GetType() == raftpb.EntryNormal {
			out = append(out, string(e.GetData()))
		}
	}
	return out
}

// indexes returns the indexes of all entries applied so far.
func (a *testApplier) indexes() []uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]uint64, len(a.entries))
	for i, e := range a.entries {
		out[i] = e.GetIndex()
	}
	return out
}

// testConfig returns a single-member config with a fast clock.
func testConfig(t *testing.T, dir string) Config {
	return Config{
		Logger:        zaptest.NewLogger(t),
		WALDir:        dir,
		MemberID:      1,
		ClusterID:     0xc1,
		Peers:         []Peer{{ID: 1, URLs: []string{"http://127.0.0.1:2380"}}},
		TickInterval:  10 * time.Millisecond,
		ElectionTicks: 10,
	}
}

func startNode(t *testing.T, cfg Config, a Applier, applied uint64) *Node {
	t.Helper()
	n, err := Start(cfg, a, applied)
	require.NoError(t, err)
	t.Cleanup(n.Stop)
	return n
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitLeader waits until n knows a leader and returns it.
func waitLeader(t *testing.T, nodes ...*Node) uint64 {
	t.Helper()
	var lead uint64
	require.Eventually(t, func() bool {
		lead = nodes[0].Status().Leader
		for _, n := range nodes {
			if st := n.Status(); st.Leader == 0 || st.Leader != lead {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond)
	return lead
}

// proposeAndWait proposes data through n, once a leader is known, and
// waits until n's testApplier has applied the last of it. Propose only
// means raft took the proposal, and a ReadIndex right after it may come
// back below the proposal's index, so the test watches the applier.
func proposeAndWait(t *testing.T, n *Node, data ...string) {
	t.Helper()
	waitLeader(t, n)
	ctx := testContext(t)
	for _, d := range data {
		require.NoError(t, n.Propose(ctx, []byte(d)))
	}
	a := n.applier.(*testApplier)
	last := data[len(data)-1]
	require.Eventually(t, func() bool {
		return slices.Contains(a.normal(), last)
	}, 10*time.Second, time.Millisecond, "%q is applied", last)
}

func protoUnmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }

// pauseRaftLoop holds n's raft loop until the returned function is called.
func pauseRaftLoop(t *testing.T, n *Node) (resume func()) {
	t.Helper()
	held, release := make(chan struct{}), make(chan struct{})
	require.True(t, n.control(func(*etcdraft.RawNode) {
		close(held)
		<-release
	}))
	<-held
	var once sync.Once
	resume = func() { once.Do(func() { close(release) }) }
	t.Cleanup(resume)
	return resume
}

func cs(voters ...uint64) *raftpb.ConfState { return &raftpb.ConfState{Voters: voters} }
