package raft

import (
	"slices"

	"go.etcd.io/etcd/client/pkg/v3/types"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// A member added after the latest snapshot is not in that snapshot's
// ConfState, and raft refuses to restore a snapshot that leaves it out: an
// empty member sent one would never catch up. etcd sends a snapshot of its
// current state instead. Here the leader holds such a MsgSnap back, tells
// raft it failed, and takes a new snapshot at once; raft sends that one
// when it next probes the member, once the engine has persisted past the
// conf change that added it.

// holdBackSnapshots returns msgs without the MsgSnaps whose snapshot
// leaves out their recipient, and the recipients of those it held back.
func (n *Node) holdBackSnapshots(msgs []*raftpb.Message) ([]*raftpb.Message, []uint64) {
	var held []uint64
	out := msgs[:0:0]
	for _, m := range msgs {
		if m.GetType() != raftpb.MsgSnap || inConfState(m.GetSnapshot().GetMetadata().GetConfState(), m.GetTo()) {
			out = append(out, m)
			continue
		}
		held = append(held, m.GetTo())
		n.snapAfter = 0 // snapshot on the next turn of the loop
		n.lg.Info("raft: holding back a snapshot that predates its recipient's membership",
			zap.Stringer("to", types.ID(m.GetTo())), zap.Uint64("snapshot-index", m.GetSnapshot().GetMetadata().GetIndex()))
	}
	if held == nil {
		return msgs, nil
	}
	return out, held
}

// reportHeldBack tells raft the held-back snapshots failed, so that it
// probes their recipients again.
func (n *Node) reportHeldBack(ids []uint64) {
	for _, id := range ids {
		n.rn.ReportSnapshot(id, etcdraft.SnapshotFailure)
	}
}

func inConfState(cs *raftpb.ConfState, id uint64) bool {
	return slices.Contains(cs.GetVoters(), id) || slices.Contains(cs.GetLearners(), id) ||
		slices.Contains(cs.GetVotersOutgoing(), id) || slices.Contains(cs.GetLearnersNext(), id)
}
