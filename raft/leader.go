package raft

import (
	"context"

	etcdraft "go.etcd.io/raft/v3"
)

// Progress is the leader's view of how far a follower's log matches its own.
type Progress struct {
	Match     uint64
	IsLearner bool
}

// LeaderProgress returns, on the leader, each member's matched log index
// and the leader's commit index. ok is false when this member does not
// lead. It returns ctx.Err() if ctx ends first and ErrStopped after Stop.
func (n *Node) LeaderProgress(ctx context.Context) (progress map[uint64]Progress, commit uint64, ok bool, err error) {
	type answer struct {
		progress map[uint64]Progress
		commit   uint64
		ok       bool
	}
	ch := make(chan answer, 1)
	ask := func(rn *etcdraft.RawNode) {
		st := rn.Status()
		a := answer{commit: st.HardState.GetCommit(), ok: st.RaftState == etcdraft.StateLeader}
		if a.ok {
			a.progress = make(map[uint64]Progress, len(st.Progress))
			for id, pr := range st.Progress {
				a.progress[id] = Progress{Match: pr.Match, IsLearner: pr.IsLearner}
			}
		}
		ch <- a
	}
	if !n.control(ask) {
		return nil, 0, false, ErrStopped
	}
	select {
	case a := <-ch:
		return a.progress, a.commit, a.ok, nil
	case <-ctx.Done():
		return nil, 0, false, ctx.Err()
	case <-n.stopc:
		return nil, 0, false, ErrStopped
	}
}

// TransferLeadership asks raft to hand leadership to transferee. Only the
// leader acts on it; it returns once raft has the request, and the caller
// watches Status (or LeaderChanged) for the outcome.
func (n *Node) TransferLeadership(transferee uint64) error {
	if !n.control(func(rn *etcdraft.RawNode) { rn.TransferLeader(transferee) }) {
		return ErrStopped
	}
	return nil
}
