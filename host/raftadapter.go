package host

import (
	"context"

	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/raft"
)

// raftAdapter presents the raft node as the API's Raft.
type raftAdapter struct{ *raft.Node }

var _ etcdapi.Raft = raftAdapter{}

func (a raftAdapter) Status() etcdapi.RaftStatus {
	st := a.Node.Status()
	return etcdapi.RaftStatus{
		Leader:       st.Leader,
		Term:         st.Term,
		CommitIndex:  st.CommitIndex,
		AppliedIndex: st.AppliedIndex,
		IsLearner:    st.IsLearner,
	}
}

var _ etcdapi.ClusterRaft = raftAdapter{}

func (a raftAdapter) LeaderProgress(ctx context.Context) (map[uint64]uint64, bool, error) {
	pr, _, ok, err := a.Node.LeaderProgress(ctx)
	if err != nil || !ok {
		return nil, ok, err
	}
	match := make(map[uint64]uint64, len(pr))
	for id, p := range pr {
		match[id] = p.Match
	}
	return match, true, nil
}

var _ etcdapi.LeaderTransferer = raftAdapter{}
