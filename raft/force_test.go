package raft

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/raft/wal"
)

// confEntry returns a conf change entry at index in term.
func confEntry(t *testing.T, index, term uint64, typ raftpb.ConfChangeType, id uint64) *raftpb.Entry {
	ctx, err := json.Marshal(Peer{ID: id, URLs: []string{"http://127.0.0.1:2380"}})
	require.NoError(t, err)
	data, err := proto.Marshal(&raftpb.ConfChange{Type: typ.Enum(), NodeId: new(id), Context: ctx})
	require.NoError(t, err)
	return &raftpb.Entry{Type: raftpb.EntryConfChange.Enum(), Index: new(index), Term: new(term), Data: data}
}

func normalEntry(index, term uint64, data string) *raftpb.Entry {
	return &raftpb.Entry{Type: raftpb.EntryNormal.Enum(), Index: new(index), Term: new(term), Data: []byte(data)}
}

// writeWAL creates a WAL of member 1 in dir holding ents and hs.
func writeWAL(t *testing.T, dir string, hs *raftpb.HardState, ents ...*raftpb.Entry) {
	w, err := wal.Create(dir, wal.Metadata{MemberID: 1, ClusterID: 0xc1}, wal.Options{})
	require.NoError(t, err)
	require.NoError(t, w.Save(hs, ents, true))
	require.NoError(t, w.Close())
}

// threeMemberLog is the log of member 1 of a three-member cluster: the
// bootstrap, "x" committed at 4 and "y" at 5, not committed.
func threeMemberLog(t *testing.T, dir string) {
	writeWAL(t, dir, &raftpb.HardState{Term: new(uint64(2)), Vote: new(uint64(2)), Commit: new(uint64(4))},
		confEntry(t, 1, 1, raftpb.ConfChangeAddNode, 1),
		confEntry(t, 2, 1, raftpb.ConfChangeAddNode, 2),
		confEntry(t, 3, 1, raftpb.ConfChangeAddNode, 3),
		normalEntry(4, 2, "x"),
		normalEntry(5, 2, "y"))
}

// conf describes a conf change entry as "type id".
func conf(t *testing.T, e *raftpb.Entry) string {
	cc := &raftpb.ConfChange{}
	require.NoError(t, proto.Unmarshal(e.GetData(), cc))
	return cc.GetType().String() + " " + types.ID(cc.GetNodeId()).String()
}

func confs(t *testing.T, ents []*raftpb.Entry) []string {
	var out []string
	for _, e := range ents {
		if e.GetType() == raftpb.EntryConfChange {
			out = append(out, conf(t, e))
		}
	}
	return out
}

func forceConfig(t *testing.T, dir string) Config {
	cfg := testConfig(t, dir)
	cfg.Peers, cfg.MemberID, cfg.ClusterID = nil, 0, 0
	cfg.ForceNewCluster = true
	cfg.Self = Peer{Name: "m1", URLs: []string{"http://127.0.0.1:2380"}}
	return cfg
}

func TestForceNewClusterLeavesTheMemberAlone(t *testing.T) {
	dir := t.TempDir()
	threeMemberLog(t, dir)
	a := &testApplier{}
	n := startNode(t, forceConfig(t, dir), a, 4)

	require.Equal(t, uint64(1), waitLeader(t, n), "the only voter elects itself")
	require.Equal(t, uint64(0xc1), n.ClusterID())
	proposeAndWait(t, n, "z")
	require.Equal(t, []string{"z"}, a.normal(), "the uncommitted y is gone")
	require.Equal(t, []string{"ConfChangeRemoveNode 2", "ConfChangeRemoveNode 3"}, confs(t, a.entries))
	require.Equal(t, []uint64{5, 6}, a.indexes()[:2], "the removals follow the commit index")
	require.Equal(t, uint64(2), a.entries[0].GetTerm(), "in the current term")
	n.Stop()

	// Without the flag, the member restarts as the cluster of one its WAL
	// now holds.
	cfg := forceConfig(t, dir)
	cfg.ForceNewCluster = false
	b := &testApplier{}
	n = startNode(t, cfg, b, a.PersistedIndex())
	require.Equal(t, uint64(1), waitLeader(t, n))
	proposeAndWait(t, n, "after-restart")
	require.Equal(t, []string{"after-restart"}, b.normal())
	require.Empty(t, confs(t, b.entries))
}

func TestForceNewClusterTwiceAddsNothing(t *testing.T) {
	dir := t.TempDir()
	threeMemberLog(t, dir)
	a := &testApplier{}
	n := startNode(t, forceConfig(t, dir), a, 4)
	proposeAndWait(t, n, "z")
	n.Stop()

	b := &testApplier{}
	n = startNode(t, forceConfig(t, dir), b, a.PersistedIndex())
	proposeAndWait(t, n, "again")
	require.Equal(t, []string{"again"}, b.normal())
	require.Empty(t, confs(t, b.entries), "a cluster of one has no one to remove")
}

func TestForceNewClusterAddsAMemberItsLogLacks(t *testing.T) {
	dir := t.TempDir()
	writeWAL(t, dir, &raftpb.HardState{Term: new(uint64(1)), Commit: new(uint64(2))},
		confEntry(t, 1, 1, raftpb.ConfChangeAddNode, 2),
		confEntry(t, 2, 1, raftpb.ConfChangeAddNode, 3))
	a := &testApplier{}
	n := startNode(t, forceConfig(t, dir), a, 0)
	require.Equal(t, uint64(1), waitLeader(t, n))
	proposeAndWait(t, n, "z")
	// The bootstrap entries come again: the engine had applied nothing.
	require.Equal(t, []string{"ConfChangeAddNode 2", "ConfChangeAddNode 3",
		"ConfChangeAddNode 1", "ConfChangeRemoveNode 2", "ConfChangeRemoveNode 3"}, confs(t, a.entries))
	cc := &raftpb.ConfChange{}
	require.NoError(t, proto.Unmarshal(a.entries[2].GetData(), cc))
	p, err := PeerFromContext(cc.GetContext())
	require.NoError(t, err)
	require.Equal(t, Peer{ID: 1, Name: "m1", URLs: []string{"http://127.0.0.1:2380"}}, p)
}

func TestForceNewClusterRefusesALearner(t *testing.T) {
	dir := t.TempDir()
	writeWAL(t, dir, &raftpb.HardState{Term: new(uint64(1)), Commit: new(uint64(2))},
		confEntry(t, 1, 1, raftpb.ConfChangeAddNode, 2),
		confEntry(t, 2, 1, raftpb.ConfChangeAddLearnerNode, 1))
	_, err := Start(forceConfig(t, dir), &testApplier{}, 0)
	require.ErrorIs(t, err, ErrForceLearner)
}

func TestForceNewClusterWithAnEnginePastTheLog(t *testing.T) {
	dir := t.TempDir()
	// The engine installed a leader's snapshot at 10 taken when the
	// leader had applied more than the snapshot's index, 3.
	w, err := wal.Create(dir, wal.Metadata{MemberID: 1, ClusterID: 0xc1}, wal.Options{})
	require.NoError(t, err)
	require.NoError(t, w.SaveSnapshot(&raftpb.SnapshotMetadata{Index: new(uint64(3)), Term: new(uint64(3)), ConfState: cs(1, 2, 3)}))
	require.NoError(t, w.Save(&raftpb.HardState{Term: new(uint64(3)), Commit: new(uint64(3))}, nil, true))
	require.NoError(t, w.Close())
	a := &testApplier{}
	n := startNode(t, forceConfig(t, dir), a, 10)
	require.Equal(t, uint64(1), waitLeader(t, n))
	proposeAndWait(t, n, "z")
	require.Equal(t, []string{"ConfChangeRemoveNode 2", "ConfChangeRemoveNode 3"}, confs(t, a.entries))
	require.Equal(t, []uint64{11, 12}, a.indexes()[:2], "the removals follow the engine's state")
	n.Stop()

	cfg := forceConfig(t, dir)
	cfg.ForceNewCluster = false
	n = startNode(t, cfg, &testApplier{}, a.PersistedIndex())
	require.Equal(t, uint64(1), waitLeader(t, n))
}

func TestForceNewClusterWithoutAWALChangesNothing(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.ForceNewCluster = true
	cfg.Peers = append(cfg.Peers, Peer{ID: 2, URLs: []string{"http://127.0.0.1:2381"}})
	a := &testApplier{}
	n := startNode(t, cfg, a, 0)
	// A new member bootstraps the cluster its Peers describe.
	require.Eventually(t, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.entries) == 2
	}, 10*time.Second, time.Millisecond)
	a.mu.Lock()
	defer a.mu.Unlock()
	require.Equal(t, []string{"ConfChangeAddNode 1", "ConfChangeAddNode 2"}, confs(t, a.entries))
	require.False(t, n.Status().IsLeader, "one of two voters is no quorum")
}

func TestForceNewClusterRemovesLearnersToo(t *testing.T) {
	dir := t.TempDir()
	writeWAL(t, dir, &raftpb.HardState{Term: new(uint64(1)), Commit: new(uint64(3))},
		confEntry(t, 1, 1, raftpb.ConfChangeAddNode, 1),
		confEntry(t, 2, 1, raftpb.ConfChangeAddNode, 2),
		confEntry(t, 3, 1, raftpb.ConfChangeAddLearnerNode, 3))
	a := &testApplier{}
	n := startNode(t, forceConfig(t, dir), a, 3)
	require.Equal(t, uint64(1), waitLeader(t, n))
	proposeAndWait(t, n, "z")
	require.Equal(t, []string{"ConfChangeRemoveNode 2", "ConfChangeRemoveNode 3"}, confs(t, a.entries))
}
