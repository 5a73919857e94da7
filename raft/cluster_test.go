package raft

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// memNetwork connects nodes in one process. Each destination has an
// ordered queue; a full queue or a missing node drops the message, as a
// lossy network would.
type memNetwork struct {
	mu     sync.Mutex
	nodes  map[uint64]*Node
	queues map[uint64]chan *raftpb.Message
	// sent, when set, sees every message sent, before it is queued.
	sent  func(*raftpb.Message)
	wg    sync.WaitGroup
	stopc chan struct{}
}

func newMemNetwork(t *testing.T, ids ...uint64) *memNetwork {
	net := &memNetwork{nodes: map[uint64]*Node{}, queues: map[uint64]chan *raftpb.Message{}, stopc: make(chan struct{})}
	for _, id := range ids {
		q := make(chan *raftpb.Message, 4096)
		net.queues[id] = q
		net.wg.Go(func() { net.deliverLoop(id, q) })
	}
	t.Cleanup(func() { close(net.stopc); net.wg.Wait() })
	return net
}

func (net *memNetwork) set(id uint64, n *Node) {
	net.mu.Lock()
	defer net.mu.Unlock()
	net.nodes[id] = n
}

func (net *memNetwork) node(id uint64) *Node {
	net.mu.Lock()
	defer net.mu.Unlock()
	return net.nodes[id]
}

func (net *memNetwork) deliverLoop(id uint64, q chan *raftpb.Message) {
	for {
		select {
		case m := <-q:
			if n := net.node(id); n != nil {
				_ = n.Step(context.Background(), m)
			}
			if m.GetType() == raftpb.MsgSnap {
				if from := net.node(m.GetFrom()); from != nil {
					from.ReportSnapshot(id, etcdraft.SnapshotFinish)
				}
			}
		case <-net.stopc:
			return
		}
	}
}

// transport returns the Transport of member id.
func (net *memNetwork) transport() Transport { return memTransport{net} }

type memTransport struct{ net *memNetwork }

func (tr memTransport) Send(msgs []*raftpb.Message) {
	tr.net.mu.Lock()
	sent := tr.net.sent
	tr.net.mu.Unlock()
	for _, m := range msgs {
		if sent != nil {
			sent(m)
		}
		select {
		case tr.net.queues[m.GetTo()] <- proto.Clone(m).(*raftpb.Message):
		default:
		}
	}
}

// testCluster is three members on a memNetwork.
type testCluster struct {
	t        *testing.T
	net      *memNetwork
	dirs     map[uint64]string
	appliers map[uint64]*testApplier
	cfg      func(id uint64) Config
}

func newTestCluster(t *testing.T, tweak func(*Config)) *testCluster {
	ids := []uint64{1, 2, 3}
	c := &testCluster{t: t, net: newMemNetwork(t, ids...), dirs: map[uint64]string{}, appliers: map[uint64]*testApplier{}}
	peers := make([]Peer, len(ids))
	for i, id := range ids {
		peers[i] = Peer{ID: id, URLs: []string{fmt.Sprintf("http://127.0.0.1:%d", 2380+i)}}
		c.dirs[id] = t.TempDir()
	}
	c.cfg = func(id uint64) Config {
		cfg := testConfig(t, c.dirs[id])
		cfg.MemberID, cfg.Peers, cfg.Transport = id, peers, c.net.transport()
		if tweak != nil {
			tweak(&cfg)
		}
		return cfg
	}
	for _, id := range ids {
		c.start(id, 0)
	}
	return c
}

// start starts member id with a fresh applier whose engine is at applied.
func (c *testCluster) start(id, applied uint64) *Node {
	a := &testApplier{}
	n, err := Start(c.cfg(id), a, applied)
	require.NoError(c.t, err)
	c.t.Cleanup(n.Stop)
	c.appliers[id] = a
	c.net.set(id, n)
	return n
}

func (c *testCluster) stop(id uint64) {
	c.net.node(id).Stop()
	c.net.set(id, nil)
}

func (c *testCluster) running() []*Node {
	var out []*Node
	for _, id := range []uint64{1, 2, 3} {
		if n := c.net.node(id); n != nil {
			out = append(out, n)
		}
	}
	return out
}

func (c *testCluster) follower() *Node {
	lead := waitLeader(c.t, c.running()...)
	for _, n := range c.running() {
		if n.MemberID() != lead {
			return n
		}
	}
	c.t.Fatal("no follower")
	return nil
}

func TestThreeMembersReplicate(t *testing.T) {
	c := newTestCluster(t, nil)
	f := c.follower()
	proposeAndWait(t, f, "a", "b", "c")
	for _, id := range []uint64{1, 2, 3} {
		n := c.net.node(id)
		require.NoError(t, n.WaitApplied(testContext(t), f.AppliedIndex()))
		require.Equal(t, []string{"a", "b", "c"}, c.appliers[id].normal(), "member %d", id)
		require.False(t, n.Status().IsLearner)
	}
}

// TestForwardedProposalBatchesAreBounded: proposals queued on a follower
// while its raft loop is busy are stepped into raft together and
// forwarded to the leader in messages of at most MaxSizePerMsg bytes of
// entries, in the order they were made.
func TestForwardedProposalBatchesAreBounded(t *testing.T) {
	c := newTestCluster(t, nil)
	f := c.follower()
	lead := waitLeader(t, c.running()...)
	var mu sync.Mutex
	var batches [][]string
	c.net.mu.Lock()
	c.net.sent = func(m *raftpb.Message) {
		if m.GetType() != raftpb.MsgProp || m.GetTo() != lead {
			return
		}
		var b []string
		for _, e := range m.GetEntries() {
			b = append(b, string(e.GetData()[:3]))
		}
		mu.Lock()
		batches = append(batches, b)
		mu.Unlock()
	}
	c.net.mu.Unlock()

	const n, size = 10, 300 << 10 // three fit in DefaultMaxSizePerMsg
	var want []string
	release := holdRaftLoop(t, f)
	for i := range n {
		data := make([]byte, size)
		copy(data, fmt.Sprintf("p%02d", i))
		want = append(want, string(data[:3]))
		require.NoError(t, f.ProposeQueued(testContext(t), data, nil, func(err error) { t.Errorf("proposal %d dropped: %v", i, err) }))
	}
	close(release)
	require.Eventually(t, func() bool { return len(c.appliers[lead].normal()) == n }, 10*time.Second, 5*time.Millisecond)

	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, b := range batches {
		require.LessOrEqual(t, len(b)*size, DefaultMaxSizePerMsg, "batch %v", b)
		got = append(got, b...)
	}
	require.Equal(t, want, got)
	require.Len(t, batches, 4, "ten proposals of 300 KiB go in batches of three")
}

func TestFollowerReadIndexSeesLeaderWrites(t *testing.T) {
	c := newTestCluster(t, nil)
	lead := c.net.node(waitLeader(t, c.running()...))
	proposeAndWait(t, lead, "x")
	f := c.follower()
	ctx := testContext(t)
	idx, err := f.ReadIndex(ctx)
	require.NoError(t, err)
	require.NoError(t, f.WaitApplied(ctx, idx))
	require.Contains(t, c.appliers[f.MemberID()].normal(), "x")
}

func TestLeaderFailover(t *testing.T) {
	c := newTestCluster(t, nil)
	old := waitLeader(t, c.running()...)
	proposeAndWait(t, c.net.node(old), "before")
	c.stop(old)
	survivors := c.running()
	require.Len(t, survivors, 2)
	var lead uint64
	require.Eventually(t, func() bool {
		lead = waitLeader(t, survivors...)
		return lead != old
	}, 10*time.Second, 10*time.Millisecond, "the survivors elect a new leader")
	proposeAndWait(t, survivors[0], "after")
	for _, n := range survivors {
		require.NoError(t, n.WaitApplied(testContext(t), survivors[0].AppliedIndex()))
		require.Equal(t, []string{"before", "after"}, c.appliers[n.MemberID()].normal())
	}
	// The old leader rejoins and catches up from its WAL and the leader.
	n := c.start(old, 0)
	require.Eventually(t, func() bool {
		return len(c.appliers[old].normal()) == 2
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"before", "after"}, c.appliers[old].normal())
	require.Equal(t, lead, waitLeader(t, n))
}

func TestLaggingFollowerGetsSnapshot(t *testing.T) {
	c := newTestCluster(t, func(cfg *Config) {
		cfg.SnapshotCount = 20
		cfg.SnapshotCatchUpEntries = 5
	})
	lead := waitLeader(t, c.running()...)
	var lagging uint64 = 1
	if lead == lagging {
		lagging = 2
	}
	c.stop(lagging)
	proposeN(t, c.net.node(lead), 0, 100)

	n := c.start(lagging, 0)
	require.Eventually(t, func() bool {
		c.appliers[lagging].mu.Lock()
		defer c.appliers[lagging].mu.Unlock()
		return len(c.appliers[lagging].snapshots) > 0
	}, 10*time.Second, 10*time.Millisecond, "the leader compacted past the follower and sends a snapshot")
	proposeAndWait(t, n, "after-snapshot")
	require.Contains(t, c.appliers[lagging].normal(), "after-snapshot")

	// The follower restarts from the snapshot it received.
	applied := n.AppliedIndex()
	c.stop(lagging)
	n = c.start(lagging, applied)
	proposeAndWait(t, n, "after-restart")
	require.Equal(t, []string{"after-restart"}, c.appliers[lagging].normal())
}
